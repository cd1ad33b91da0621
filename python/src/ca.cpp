// attestlab.Certificate, attestlab.Attestation and attestlab.MockAppleCA.
#include <pybind11/stl.h>

#include <optional>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/pki.h"
#include "python/src/bindings.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation_service.h"

namespace attestlab::python {
namespace {

py::bytes to_bytes(const Bytes& b) {
  return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
}

Bytes nonce_bytes(const py::object& nonce) {
  if (py::isinstance<py::str>(nonce)) {
    const std::string s = nonce.cast<std::string>();
    return Bytes(s.begin(), s.end());
  }
  const std::string s = nonce.cast<py::bytes>();
  return Bytes(s.begin(), s.end());
}

py::dict facts_dict(const sim::DeviceFacts& f) {
  py::dict d;
  auto put = [&](const char* k, const std::optional<std::string>& v) {
    d[k] = v ? py::object(py::str(*v)) : py::none();
  };
  put("serial", f.serial);
  put("udid", f.udid);
  put("os_version", f.os_version);
  put("sepos_version", f.sepos_version);
  put("llb_version", f.llb_version);
  d["sip_enabled"] = f.sip_enabled ? py::object(py::bool_(*f.sip_enabled)) : py::none();
  d["secure_boot"] =
      f.secure_boot ? py::object(py::str(sim::to_string(*f.secure_boot))) : py::none();
  d["third_party_kexts_allowed"] = f.third_party_kexts_allowed
                                       ? py::object(py::bool_(*f.third_party_kexts_allowed))
                                       : py::none();
  return d;
}

std::vector<std::string> permanent_ids(const pki::Certificate& c) {
  std::vector<std::string> out;
  for (const auto& p : c.subject_alt_names().permanent_ids) out.push_back(p.value);
  return out;
}

}  // namespace

void bind_ca(py::module_& m) {
  py::class_<pki::Certificate>(m, "Certificate", "An X.509 certificate (read-only).")
      .def_static(
          "from_pem",
          [](const std::string& pem) { return unwrap(pki::Certificate::from_pem(pem)); },
          py::arg("pem"), "Parses the first certificate of a PEM text.")
      .def_property_readonly("pem", &pki::Certificate::to_pem, "PEM text.")
      .def_property_readonly(
          "der", [](const pki::Certificate& c) { return to_bytes(c.to_der()); }, "DER bytes.")
      .def_property_readonly("subject", &pki::Certificate::subject, "Subject, RFC 2253 form.")
      .def_property_readonly("issuer", &pki::Certificate::issuer, "Issuer, RFC 2253 form.")
      .def_property_readonly("serial", &pki::Certificate::serial_hex, "Serial number, hex.")
      .def_property_readonly("not_before", &pki::Certificate::not_before, "Unix time.")
      .def_property_readonly("not_after", &pki::Certificate::not_after, "Unix time.")
      .def_property_readonly("is_ca", &pki::Certificate::is_ca, "basicConstraints CA.")
      .def_property_readonly(
          "permanent_identifiers", &permanent_ids,
          "Values of the permanentIdentifier SANs (RFC 4043): a device's serial.")
      .def_property_readonly(
          "dns_names", [](const pki::Certificate& c) { return c.subject_alt_names().dns; },
          "dNSName SANs.")
      .def_property_readonly("extended_key_usages", &pki::Certificate::extended_key_usages,
                             "Extended key usages, dotted OIDs.")
      .def_property_readonly(
          "public_key_pem", [](const pki::Certificate& c) { return c.public_key().to_pem(); },
          "The certified public key, PEM.")
      .def_property_readonly(
          "fingerprint_sha256",
          [](const pki::Certificate& c) { return hex_encode(c.fingerprint_sha256()); },
          "SHA-256 over the DER, hex.")
      .def(
          "extension",
          [](const pki::Certificate& c, const std::string& oid) -> py::object {
            auto v = c.extension_value(oid);
            return v ? py::object(to_bytes(*v)) : py::none();
          },
          py::arg("oid"), "The extnValue content of an extension, or None.")
      .def(
          "signed_by",
          [](const pki::Certificate& c, const pki::Certificate& issuer) {
            return c.signed_by(issuer.public_key());
          },
          py::arg("issuer"), "Whether issuer's key signed this certificate (no chain building).")
      .def(
          "apple_facts",
          [](const pki::Certificate& c) -> py::object {
            auto decoded = sim::decode_apple_extensions(c);
            if (!decoded) return py::none();
            return facts_dict(decoded->facts);
          },
          "The Apple attestation facts of an attestation leaf as a dict, or None.")
      .def("__repr__", [](const pki::Certificate& c) {
        return "<Certificate subject='" + c.subject() + "' serial=" + c.serial_hex() + ">";
      });

  py::class_<sim::Attestation>(m, "Attestation",
                               "An attestation as Apple's servers return it: leaf and "
                               "intermediate, the freshness code, when it was issued.")
      .def_property_readonly(
          "leaf",
          [](const sim::Attestation& a) {
            return unwrap(pki::Certificate::from_der(a.chain.leaf_der));
          },
          "The attestation leaf.")
      .def_property_readonly(
          "intermediate",
          [](const sim::Attestation& a) {
            return unwrap(pki::Certificate::from_der(a.chain.intermediate_der));
          },
          "The mock Apple intermediate.")
      .def_property_readonly(
          "x5c",
          [](const sim::Attestation& a) {
            py::list l;
            for (const auto& der : a.chain.x5c()) l.append(to_bytes(der));
            return l;
          },
          "[leaf DER, intermediate DER]: the attStmt x5c.")
      .def_property_readonly(
          "freshness",
          [](const sim::Attestation& a) -> py::object {
            return a.freshness ? py::object(to_bytes(*a.freshness)) : py::none();
          },
          "The freshness code in the leaf (SHA-256 of the nonce), or None.")
      .def_readonly("issued_at", &sim::Attestation::issued_at, "Unix time of issue.")
      .def_readonly("from_cache", &sim::Attestation::from_cache,
                    "True when Apple's throttle answered with an earlier leaf.");

  py::class_<PyAppleCa>(m, "MockAppleCA",
                        "A mock Apple Enterprise Attestation CA (P-384 root and intermediate, "
                        "marked as mock). Chains from it verify against its own root only.")
      .def(py::init([](std::optional<std::int64_t> now) {
             py::gil_scoped_release release;
             auto ca = sim::AppleCa::create(now.value_or(SystemClock().now()));
             py::gil_scoped_acquire acquire;
             return PyAppleCa{std::make_shared<const sim::AppleCa>(unwrap(std::move(ca)))};
           }),
           py::kw_only(), py::arg("now") = py::none(),
           "Makes a new CA (fresh keys), valid from 30 days before `now` (Unix time; default "
           "the system clock).")
      .def_static(
          "load",
          [](const std::string& dir) {
            return PyAppleCa{std::make_shared<const sim::AppleCa>(unwrap(sim::AppleCa::load(dir)))};
          },
          py::arg("dir"),
          "Loads a CA saved by save() or `attestlab ca init` (root.pem, root.key, "
          "intermediate.pem, intermediate.key).")
      .def_static("exists_in", &sim::AppleCa::exists_in, py::arg("dir"),
                  "Whether dir holds a saved CA (any of its four files).")
      .def(
          "save",
          [](const PyAppleCa& c, const std::string& dir, bool overwrite) {
            unwrap(c.ca->save(dir, overwrite));
          },
          py::arg("dir"), py::kw_only(), py::arg("overwrite") = false,
          "Exports the CA into dir (keys mode 0600); refuses to overwrite unless overwrite.")
      .def_property_readonly(
          "root", [](const PyAppleCa& c) { return c.ca->root(); }, "The mock root certificate.")
      .def_property_readonly(
          "intermediate", [](const PyAppleCa& c) { return c.ca->intermediate(); },
          "The mock intermediate certificate.")
      .def_property_readonly(
          "root_pem", [](const PyAppleCa& c) { return c.ca->root().to_pem(); },
          "The root, PEM: what a target trusts as attestation root.")
      .def(
          "issue_attestation",
          [](const PyAppleCa& c, const std::string& public_key_pem,
             std::optional<std::string> serial, std::optional<std::string> udid,
             std::optional<std::string> os_version, std::optional<std::string> sepos_version,
             std::optional<std::string> llb_version, std::optional<bool> sip_enabled,
             std::optional<std::string> secure_boot, std::optional<bool> third_party_kexts_allowed,
             const py::object& nonce, std::optional<std::int64_t> now) {
            sim::DeviceFacts facts{
                serial,      udid,        os_version,   sepos_version,
                llb_version, sip_enabled, std::nullopt, third_party_kexts_allowed};
            if (secure_boot) {
              facts.secure_boot = sim::parse_secure_boot_level(*secure_boot);
              if (!facts.secure_boot)
                throw py::value_error("secure_boot must be full, reduced or permissive");
            }
            auto key = unwrap(pki::PublicKey::from_pem(public_key_pem));
            std::optional<Bytes> freshness;
            if (!nonce.is_none()) freshness = sim::freshness_code(nonce_bytes(nonce));
            const std::int64_t at = now.value_or(SystemClock().now());
            Result<sim::AttestationChain> chain = Error{};
            {
              py::gil_scoped_release release;
              chain = c.ca->issue_attestation(key, facts, freshness, at);
            }
            return sim::Attestation{unwrap(std::move(chain)), at, freshness, false};
          },
          py::arg("public_key_pem"), py::kw_only(), py::arg("serial") = py::none(),
          py::arg("udid") = py::none(), py::arg("os_version") = py::none(),
          py::arg("sepos_version") = py::none(), py::arg("llb_version") = py::none(),
          py::arg("sip_enabled") = py::none(), py::arg("secure_boot") = py::none(),
          py::arg("third_party_kexts_allowed") = py::none(), py::arg("nonce") = py::none(),
          py::arg("now") = py::none(),
          "Issues an attestation for the key (PEM) carrying the given device properties; "
          "with a nonce (bytes or str) the leaf carries its freshness code SHA-256(nonce). "
          "Valid from `now` for 7 days.")
      .def("__repr__", [](const PyAppleCa& c) {
        return "<MockAppleCA root='" + c.ca->root().subject() + "'>";
      });
}

}  // namespace attestlab::python
