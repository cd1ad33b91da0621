// attestlab.Target: a foreign ACME server (URL, TLS trust, EAB, the mock Apple CA it
// trusts, or a target profile file) or the embedded server (Target.embedded()).
#include <pybind11/stl.h>

#include <cstdlib>
#include <filesystem>

#include "core/bytes.h"
#include "core/http.h"
#include "core/pki.h"
#include "python/src/bindings.h"

namespace attestlab::python {

std::shared_lock<std::shared_mutex> PyTarget::use() const {
  std::shared_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || closed_) raise_error(closed_error());
  return lock;
}

bool PyTarget::acquire(std::shared_lock<std::shared_mutex>& lock) const {
  lock = std::shared_lock(mu_);
  return !closed_;
}

void PyTarget::close() {
  std::unique_lock lock(mu_);
  if (closed_) return;
  closed_ = true;
  embedded.reset();
  if (!temp_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir, ec);
  }
}

bool PyTarget::closed() const {
  std::shared_lock lock(mu_);
  return closed_;
}

namespace {

// Saves a CA given as an object where a profile needs a directory.
std::string save_ca_to_temp(PyTarget& t, const sim::AppleCa& ca) {
  std::string templ = (std::filesystem::temp_directory_path() / "attestlab-py-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    raise_error(Error::make("serverInternal", "cannot create a temporary directory"));
  t.temp_dir = templ;
  unwrap(ca.save(templ + "/attestation-ca"));
  return templ + "/attestation-ca";
}

std::shared_ptr<PyTarget> make_foreign(
    std::optional<std::string> url, std::optional<std::string> trust_ca,
    const py::object& attestation_ca, std::optional<std::string> eab_kid,
    std::optional<std::string> eab_hmac_key, std::optional<std::string> profile,
    std::optional<std::string> name, std::vector<std::string> capabilities) {
  auto t = std::make_shared<PyTarget>();
  client::TargetProfile& p = t->profile;
  if (profile) {
    p = unwrap(client::load_target_profile(*profile));
    if (url) p.directory_url = *url;
    if (trust_ca) p.trust_ca = *trust_ca;
  } else {
    if (!url) throw py::value_error("Target needs a directory URL or a profile file");
    p = client::basic_target(*url, trust_ca.value_or(""));
  }
  auto parsed = http::Url::parse(p.directory_url);
  if (!parsed) throw py::value_error(p.directory_url + " is not a URL");
  if (name) p.name = *name;
  if (p.name.empty() || (!profile && !name)) p.name = name.value_or(parsed->host);
  if (eab_kid.has_value() != eab_hmac_key.has_value())
    throw py::value_error("eab_kid and eab_hmac_key go together");
  if (eab_kid) {
    if (!base64url_decode(*eab_hmac_key)) throw py::value_error("eab_hmac_key must be base64url");
    p.eab = client::EabCredentials{*eab_kid, *eab_hmac_key, true, {}};
  }
  std::shared_ptr<const sim::AppleCa> ca;
  if (py::isinstance<PyAppleCa>(attestation_ca)) {
    ca = attestation_ca.cast<const PyAppleCa&>().ca;
    p.device.attestation_ca_dir = save_ca_to_temp(*t, *ca);
  } else if (py::isinstance<py::str>(attestation_ca)) {
    p.device.attestation_ca_dir = attestation_ca.cast<std::string>();
  } else if (!attestation_ca.is_none()) {
    throw py::type_error("attestation_ca must be a MockAppleCA or a directory");
  }
  if (!p.device.attestation_ca_dir.empty()) {
    if (!ca)
      ca = std::make_shared<const sim::AppleCa>(
          unwrap(sim::AppleCa::load(p.device.attestation_ca_dir)));
    auto add = [](std::vector<std::string>& v, const std::string& s) {
      if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
    };
    add(p.challenges, "device-attest-01");
    add(p.identifiers, "permanent-identifier");
  }
  scenarios::Target& s = t->scenario;
  s.name = p.name;
  s.directory_url = p.directory_url;
  s.trust_ca_pem_file = p.trust_ca;
  s.attestation_ca = ca;
  if (p.eab)
    s.eab = client::ExternalAccountBinding{p.eab->kid, *base64url_decode(p.eab->hmac_key_b64u)};
  for (const auto& c : capabilities) s.capabilities.insert(c);
  return t;
}

std::shared_ptr<PyTarget> make_embedded(const py::object& inventory, const py::object& policy,
                                        bool eab, bool eab_required, bool challenge_peers,
                                        const std::string& name, bool keep_work_dir) {
  cli::EmbeddedTargetOptions o;
  o.name = name;
  o.work_dir_prefix = "attestlab-py";
  if (!inventory.is_none())
    o.inventory_json = py::isinstance<py::str>(inventory) ? inventory.cast<std::string>()
                                                          : from_python(inventory).dump(1);
  if (!policy.is_none()) {
    const Json assumed = py::isinstance<py::str>(policy)
                             ? Json::parse(policy.cast<std::string>(), nullptr, false)
                             : from_python(policy);
    if (!assumed.is_object()) throw py::value_error("policy must be a JSON object");
    // Members laid over the documented default policy, as scenarios assume them.
    o.policy_json = unwrap(cli::policy_with_assumptions(assumed)).dump(1);
  }
  o.eab_keys = eab || eab_required;
  o.eab_required = eab_required;
  o.challenge_peers = challenge_peers;
  o.keep_work_dir = keep_work_dir;
  Result<std::unique_ptr<cli::EmbeddedTarget>> started = Error{};
  {
    py::gil_scoped_release release;
    started = cli::EmbeddedTarget::start(std::move(o));
  }
  auto t = std::make_shared<PyTarget>();
  t->embedded = unwrap(std::move(started));
  t->profile = t->embedded->conformance_profile();
  t->scenario = t->embedded->scenario_target();
  if (t->profile.eab && eab_required)
    t->scenario.eab = client::ExternalAccountBinding{
        t->profile.eab->kid, *base64url_decode(t->profile.eab->hmac_key_b64u)};
  return t;
}

}  // namespace

void bind_target(py::module_& m) {
  py::class_<PyTarget, std::shared_ptr<PyTarget>>(
      m, "Target",
      "An ACME server under test. Target(url, ...) describes a running server; "
      "Target.embedded() starts attestlab's own server in this process (stopped by close() "
      "or at the end of a `with` block).")
      .def(py::init(&make_foreign), py::arg("directory_url") = py::none(), py::kw_only(),
           py::arg("trust_ca") = py::none(), py::arg("attestation_ca") = py::none(),
           py::arg("eab_kid") = py::none(), py::arg("eab_hmac_key") = py::none(),
           py::arg("profile") = py::none(), py::arg("name") = py::none(),
           py::arg("capabilities") = std::vector<std::string>{},
           "A foreign target: its directory URL, the PEM file trusted for its TLS, the mock "
           "Apple CA it trusts as attestation root (MockAppleCA or a directory), EAB "
           "credentials (key id, base64url MAC key), or a target profile file "
           "(conformance/TARGETS.md) instead of the URL. capabilities: scenario requirements "
           "the target provides (\"inventory\", \"policy\").")
      .def_static("embedded", &make_embedded, py::kw_only(), py::arg("inventory") = py::none(),
                  py::arg("policy") = py::none(), py::arg("eab") = false,
                  py::arg("eab_required") = false, py::arg("challenge_peers") = false,
                  py::arg("name") = "embedded", py::arg("keep_work_dir") = false,
                  "Starts attestlab's ACME server in-process on 127.0.0.1 with a fresh mock "
                  "Apple CA as its only attestation root (Target.apple_ca). inventory: a list "
                  "of {serial, udid, status, platform} (none = no inventory check); policy: "
                  "members laid over the default posture policy, e.g. "
                  "{\"min_os_version\": {\"iOS\": \"17.0\"}}; eab / eab_required: EAB keys "
                  "(required: accounts need them); challenge_peers: pebble-challtestsrv as DNS "
                  "for http-01/dns-01.")
      .def_property_readonly(
          "directory_url", [](const PyTarget& t) { return t.profile.directory_url; },
          "The ACME directory URL.")
      .def_property_readonly(
          "name", [](const PyTarget& t) { return t.profile.name; }, "The name in reports.")
      .def_property_readonly(
          "trust_ca", [](const PyTarget& t) { return t.profile.trust_ca; },
          "PEM file trusted for the target's TLS (empty: the system store).")
      .def_property_readonly(
          "apple_ca",
          [](const PyTarget& t) -> py::object {
            if (!t.scenario.attestation_ca) return py::none();
            return py::cast(PyAppleCa{t.scenario.attestation_ca});
          },
          "The mock Apple CA the target trusts, or None when unknown.")
      .def_property_readonly(
          "is_embedded", [](const PyTarget& t) { return t.embedded != nullptr; },
          "Whether this is the in-process server.")
      .def_property_readonly(
          "work_dir",
          [](const PyTarget& t) -> py::object {
            auto lock = t.use();
            if (!t.embedded) return py::none();
            return py::str(t.embedded->work_dir());
          },
          "The embedded server's temporary directory (None for foreign targets).")
      .def_property_readonly(
          "issuing_ca_pem",
          [](const PyTarget& t) -> py::object {
            auto lock = t.use();
            if (!t.embedded) return py::none();
            return py::str(unwrap(pki::read_file(t.embedded->work_dir() + "/server/ca/chain.pem")));
          },
          "The embedded server's issuing CA chain, PEM (None for foreign targets).")
      .def_property_readonly(
          "certificates_issued",
          [](const PyTarget& t) -> py::object {
            auto lock = t.use();
            if (!t.embedded) return py::none();
            return py::int_(t.embedded->certificates_issued());
          },
          "Certificates the embedded server issued since it started (None for foreign).")
      .def_property_readonly("closed", &PyTarget::closed, "Whether close() ran.")
      .def(
          "close",
          [](PyTarget& t) {
            py::gil_scoped_release release;
            t.close();
          },
          "Stops the embedded server and removes its files; idempotent.")
      .def("__enter__", [](std::shared_ptr<PyTarget> t) { return t; })
      .def("__exit__",
           [](PyTarget& t, const py::object&, const py::object&, const py::object&) {
             py::gil_scoped_release release;
             t.close();
             return false;
           })
      .def("__repr__", [](const PyTarget& t) {
        return "<Target " + t.profile.name + " " + t.profile.directory_url +
               (t.closed() ? " (closed)>" : ">");
      });
}

}  // namespace attestlab::python
