// attestlab.Device (a simulated Apple device: identity, posture, its Secure Enclave and
// attestation service, its keychain) and attestlab.Enrollment (what one ACME
// device-attest-01 enrollment did), with the client fault names.
#include "sim/device/device.h"

#include <pybind11/stl.h>

#include <random>

#include "client/wire_log.h"
#include "core/clock.h"
#include "python/src/bindings.h"
#include "sim/device/acme_payload.h"
#include "sim/device/attestation_service.h"
#include "sim/device/client_faults.h"
#include "sim/device/device_acme.h"
#include "sim/device/device_keychain.h"

namespace attestlab::python {
namespace {

// One Python Device: the simulated device and what it owns. Calls are serialized by mu
// (the GIL is released while a device enrolls).
struct PyDevice {
  explicit PyDevice(sim::Device d) : device(std::move(d)) {}
  std::mutex mu;
  sim::Device device;
  std::shared_ptr<const sim::AppleCa> ca;  // Apple's CA for this device (null until known)
  std::shared_ptr<sim::AppleAttestationServers> servers;
  std::unique_ptr<sim::AttestationService> service;
  sim::DeviceKeychain keychain;
  std::string payload_uuid;  // the ACMECertificate payload every enrollment reuses

  // The attestation service for the device's CA, or `with` when it has none yet (made
  // when first needed). False when there is no CA at all.
  bool use_ca(std::shared_ptr<const sim::AppleCa> with) {
    if (ca && servers) return true;
    if (!ca) ca = std::move(with);
    if (!ca) return false;
    servers = std::make_shared<sim::AppleAttestationServers>(ca, SystemClock::instance());
    service = std::make_unique<sim::AttestationService>(servers);
    return true;
  }
};

constexpr const char* kNoCa =
    "the device has no mock Apple CA: pass ca= to Device() or enroll against a target that "
    "knows its attestation CA";

// Runs f with the device locked and the GIL released (a thread holding the GIL never
// waits for a device lock).
template <class F>
auto locked(PyDevice& d, F&& f) {
  py::gil_scoped_release release;
  std::lock_guard lock(d.mu);
  return f();
}

struct PyEnrollment {
  sim::EnrollmentResult r;
  Json wire_log;  // null unless asked for
};

std::shared_ptr<PyDevice> make_device(
    const std::string& kind_name, const py::object& ca, std::optional<std::string> serial,
    std::optional<std::string> udid, std::optional<std::string> model,
    std::optional<std::string> product_name, std::optional<std::string> os_version,
    std::optional<std::string> build_version, std::optional<std::string> sepos_version,
    std::optional<std::string> llb_version, bool user_enrollment,
    std::optional<std::uint64_t> seed) {
  auto kind = sim::parse_device_kind(kind_name);
  if (!kind) throw py::value_error("unknown device kind " + kind_name);
  sim::FleetGenerator generator(
      seed.value_or(std::random_device{}() * 0x100000001ULL ^ std::random_device{}()));
  sim::DeviceIdentity id = generator.identity(*kind);
  if (serial) id.serial = *serial;
  if (udid) id.udid = *udid;
  if (model) id.model = *model;
  if (product_name) id.product_name = *product_name;
  if (os_version) id.os_version = *os_version;
  if (build_version) id.build_version = *build_version;
  if (sepos_version) id.sepos_version = *sepos_version;
  if (llb_version) id.llb_version = *llb_version;
  auto d = std::make_shared<PyDevice>(sim::Device(*kind, std::move(id)));
  d->device.set_user_enrollment(user_enrollment);
  if (!ca.is_none()) d->ca = ca.cast<const PyAppleCa&>().ca;
  return d;
}

py::object enroll(PyDevice& d, const PyTarget& t, const std::vector<std::string>& faults,
                  bool reuse_key, std::int64_t key_size,
                  std::optional<std::string> client_identifier, bool wire_log, bool check) {
  sim::EnrollOptions o;
  for (const auto& f : faults) {
    if (auto set = sim::set_client_fault(o.faults, f); !set)
      throw py::value_error(set.error().detail);
  }
  const auto& target = t.scenario;  // immutable after construction
  PyEnrollment out;
  bool closed = false, have_ca = true;
  {
    py::gil_scoped_release release;
    std::shared_lock<std::shared_mutex> target_lock;
    closed = !t.acquire(target_lock);
    std::lock_guard device_lock(d.mu);
    have_ca = !closed && d.use_ca(target.attestation_ca);
    if (have_ca) {
      sim::AcmePayload payload = sim::AcmePayload::for_attestation(
          target.directory_url, client_identifier.value_or(d.device.identity().serial), key_size);
      if (d.payload_uuid.empty()) d.payload_uuid = *payload.payload_uuid;
      payload.payload_uuid = d.payload_uuid;
      payload.payload_identifier = "com.attestlab.python.acme." + d.payload_uuid;
      o.trust_ca_pem_file = target.trust_ca_pem_file;
      o.client.timeout = std::chrono::milliseconds(target.http_timeout_ms);
      o.client.poll_interval =
          std::chrono::milliseconds(std::min<std::int64_t>(50, target.max_poll_sleep_ms));
      o.client.poll_timeout = std::chrono::milliseconds(30000);
      o.client.user_agent = "attestlab-python/0.1";
      client::WireLog log(wire_log);
      o.wire_log = &log;
      o.clock = SystemClock::instance();
      o.apple_ca = d.ca;
      o.reuse_key = reuse_key;
      o.eab = target.eab;
      out.r = sim::enroll(d.device, *d.service, d.keychain, payload, o);
      if (wire_log) out.wire_log = log.to_json();
    }
  }
  if (closed) raise_error(closed_error());
  if (!have_ca) throw py::value_error(kNoCa);
  py::object result = py::cast(std::move(out));
  const auto& r = result.cast<const PyEnrollment&>().r;
  if (!r.ok() && check)
    raise_problem(*r.error, r.failed_step, r.problem ? to_python(*r.problem) : py::none(), result);
  return result;
}

}  // namespace

void bind_device(py::module_& m) {
  m.def("client_fault_names", &sim::client_fault_names,
        "Names of every ClientFaults knob (a device or its client misbehaving), for "
        "Device.enroll(faults=...).");
  m.def(
      "device_kinds",
      [] {
        std::vector<std::string> out;
        for (auto k : sim::all_device_kinds()) out.push_back(sim::to_string(k));
        return out;
      },
      "Device kinds: iPhone, iPad, Mac, AppleTV, VisionPro, Watch, LegacyiPhone, IntelMac.");

  using E = PyEnrollment;
  py::class_<E>(m, "Enrollment",
                "What one ACME device-attest-01 enrollment did (Device.enroll). On failure "
                "`error_type`, `status`, `detail` and `failed_step` say why.")
      .def_property_readonly(
          "ok", [](const E& e) { return e.r.ok(); }, "Whether a certificate was installed.")
      .def_property_readonly(
          "failed_step", [](const E& e) { return e.r.failed_step; },
          "The step that failed (payload, account, order, authz, key, "
          "attest, challenge, csr, finalize, download, install) or ''.")
      .def_property_readonly(
          "error_type", [](const E& e) { return e.r.error ? e.r.error->type : ""; },
          "ACME error short name of a refusal (e.g. badAttestationStatement), "
          "or the device's own (deviceCannotAttest, ...); '' on success.")
      .def_property_readonly(
          "status", [](const E& e) { return e.r.error ? e.r.error->status : 0; },
          "HTTP status of the refusal (0 when none).")
      .def_property_readonly(
          "detail", [](const E& e) { return e.r.error ? e.r.error->detail : ""; },
          "The refusal's detail.")
      .def_property_readonly(
          "problem",
          [](const E& e) -> py::object {
            return e.r.problem ? to_python(*e.r.problem) : py::none();
          },
          "The server's whole problem document (dict), when it sent one.")
      .def_property_readonly(
          "summary", [](const E& e) { return e.r.summary(); },
          "'ok' or '<step>: <type> (<status>): <detail>'.")
      .def_property_readonly(
          "identifier", [](const E& e) { return e.r.identifier; },
          "The permanent-identifier value ordered.")
      .def_property_readonly(
          "token", [](const E& e) { return e.r.token; }, "The challenge token.")
      .def_property_readonly(
          "challenge_status", [](const E& e) { return e.r.challenge_status; },
          "Last challenge status seen.")
      .def_property_readonly(
          "order_url", [](const E& e) { return e.r.order_url; }, "Order URL.")
      .def_property_readonly(
          "account_url", [](const E& e) { return e.r.account_url; }, "Account URL.")
      .def_property_readonly(
          "hardware_bound", [](const E& e) { return e.r.hardware_bound; },
          "Whether the certificate key lives in the Secure Enclave.")
      .def_property_readonly(
          "certificate",
          [](const E& e) -> py::object {
            return e.r.certificate ? py::cast(*e.r.certificate) : py::none();
          },
          "The issued leaf (Certificate), or None.")
      .def_property_readonly(
          "certificate_chain_pem", [](const E& e) { return e.r.certificate_chain_pem; },
          "The downloaded chain, PEM, leaf first ('' on failure).")
      .def_property_readonly(
          "chain",
          [](const E& e) {
            std::vector<pki::Certificate> out;
            if (auto b = pki::Certificate::bundle_from_pem(e.r.certificate_chain_pem))
              out = std::move(*b);
            return out;
          },
          "The downloaded chain as Certificates, leaf first.")
      .def_property_readonly(
          "faults", [](const E& e) { return e.r.faults; }, "Fault knobs that were on.")
      .def_property_readonly(
          "notes", [](const E& e) { return e.r.notes; }, "How knobs were applied.")
      .def_property_readonly(
          "wire_log",
          [](const E& e) -> py::object {
            return e.wire_log.is_null() ? py::none() : to_python(e.wire_log);
          },
          "The HTTP exchanges (list of dicts) when enroll(wire_log=True), else None.")
      .def("__bool__", [](const E& e) { return e.r.ok(); })
      .def("__repr__", [](const E& e) { return "<Enrollment " + e.r.summary() + ">"; });

  py::class_<PyDevice, std::shared_ptr<PyDevice>>(
      m, "Device",
      "A simulated Apple device: kind, identity (serial, UDID, model, OS versions), "
      "posture, a Secure Enclave, its attestation service and keychain. Calls on one device "
      "are serialized; use one device per thread for parallel enrollments.")
      .def(py::init(&make_device), py::arg("kind") = "iPhone", py::kw_only(),
           py::arg("ca") = py::none(), py::arg("serial") = py::none(), py::arg("udid") = py::none(),
           py::arg("model") = py::none(), py::arg("product_name") = py::none(),
           py::arg("os_version") = py::none(), py::arg("build_version") = py::none(),
           py::arg("sepos_version") = py::none(), py::arg("llb_version") = py::none(),
           py::arg("user_enrollment") = false, py::arg("seed") = py::none(),
           "A device of `kind` (see device_kinds()) with a generated identity (from `seed`, "
           "random by default) and the given properties laid over it. ca: the mock Apple CA "
           "its attestations come from (default: the CA of the first target it enrolls with).")
      .def_property_readonly(
          "kind", [](const PyDevice& d) { return std::string(sim::to_string(d.device.kind())); },
          "Kind name.")
      .def_property_readonly(
          "serial", [](const PyDevice& d) { return d.device.identity().serial; }, "Serial number.")
      .def_property_readonly(
          "udid", [](const PyDevice& d) { return d.device.identity().udid; }, "UDID.")
      .def_property_readonly(
          "model", [](const PyDevice& d) { return d.device.identity().model; }, "Model identifier.")
      .def_property_readonly(
          "os_version", [](const PyDevice& d) { return d.device.identity().os_version; },
          "OS version.")
      .def_property_readonly(
          "build_version", [](const PyDevice& d) { return d.device.identity().build_version; },
          "OS build.")
      .def_property_readonly(
          "platform",
          [](const PyDevice& d) { return std::string(sim::platform_name(d.device.kind())); },
          "iOS, iPadOS, macOS, tvOS, visionOS or watchOS.")
      .def_property_readonly(
          "supports_attestation", [](const PyDevice& d) { return d.device.supports_attestation(); },
          "Whether the device can attest (kind and OS version).")
      .def_property(
          "user_enrollment", [](const PyDevice& d) { return d.device.user_enrollment(); },
          [](PyDevice& d, bool on) { locked(d, [&] { d.device.set_user_enrollment(on); }); },
          "User Enrollment (BYOD): attestations carry neither serial nor UDID.")
      .def_property_readonly(
          "erase_count", [](const PyDevice& d) { return d.device.erase_count(); },
          "How many times restore() ran.")
      .def_property_readonly(
          "ca",
          [](const PyDevice& d) -> py::object {
            return d.ca ? py::cast(PyAppleCa{d.ca}) : py::none();
          },
          "The mock Apple CA its attestations come from, or None.")
      .def_property_readonly(
          "certificate",
          [](const PyDevice& d) -> py::object {
            const auto* id = d.payload_uuid.empty() ? nullptr : d.keychain.find(d.payload_uuid);
            return id ? py::cast(id->certificate) : py::none();
          },
          "The certificate installed by the last successful enrollment, or None.")
      .def(
          "update_software",
          [](PyDevice& d, const std::string& os_version, std::optional<std::string> build_version,
             std::optional<std::string> sepos_version, std::optional<std::string> llb_version) {
            locked(d, [&] {
              const auto& id = d.device.identity();
              d.device.update_software(os_version, build_version.value_or(id.build_version),
                                       sepos_version.value_or(id.sepos_version),
                                       llb_version.value_or(id.llb_version));
            });
          },
          py::arg("os_version"), py::kw_only(), py::arg("build_version") = py::none(),
          py::arg("sepos_version") = py::none(), py::arg("llb_version") = py::none(),
          "A software update: the new versions are the truth Apple attests from now on.")
      .def(
          "set_posture",
          [](PyDevice& d, std::optional<bool> sip_enabled, std::optional<std::string> secure_boot,
             std::optional<bool> third_party_kexts_allowed, std::optional<bool> jailbroken) {
            std::optional<sim::SecureBootLevel> level;
            if (secure_boot) {
              level = sim::parse_secure_boot_level(*secure_boot);
              if (!level) throw py::value_error("secure_boot must be full, reduced or permissive");
            }
            locked(d, [&] {
              sim::Posture p = d.device.posture();
              if (sip_enabled) p.sip_enabled = *sip_enabled;
              if (level) p.secure_boot = *level;
              if (third_party_kexts_allowed)
                p.third_party_kexts_allowed = *third_party_kexts_allowed;
              if (jailbroken) p.jailbroken = *jailbroken;
              d.device.set_posture(p);
            });
          },
          py::kw_only(), py::arg("sip_enabled") = py::none(), py::arg("secure_boot") = py::none(),
          py::arg("third_party_kexts_allowed") = py::none(), py::arg("jailbroken") = py::none(),
          "Changes the real security state (Macs attest SIP, secure boot, kexts).")
      .def(
          "restore", [](PyDevice& d) { locked(d, [&] { d.device.erase(); }); },
          "Erase all content and settings: every key is destroyed; identity and posture stay.")
      .def(
          "attest",
          [](PyDevice& d, const py::object& nonce) {
            std::optional<Bytes> n;
            if (!nonce.is_none()) {
              const std::string s = py::isinstance<py::str>(nonce)
                                        ? nonce.cast<std::string>()
                                        : std::string(nonce.cast<py::bytes>());
              n = Bytes(s.begin(), s.end());
            }
            Result<sim::Attestation> a = locked(d, [&]() -> Result<sim::Attestation> {
              if (!d.use_ca(nullptr)) return Error::make("malformed", kNoCa);
              return d.service->device_attestation(d.device, n);
            });
            return unwrap(std::move(a));
          },
          py::arg("nonce") = py::none(),
          "The device's attestation as an MDM asks for it (DevicePropertiesAttestation): a "
          "leaf for its per-device key carrying its true properties and, with a nonce (bytes "
          "or str, at most 32 bytes), the freshness code SHA-256(nonce). Apple's 7-day "
          "throttle applies (Attestation.from_cache).")
      .def("enroll", &enroll, py::arg("target"), py::kw_only(),
           py::arg("faults") = std::vector<std::string>{}, py::arg("reuse_key") = false,
           py::arg("key_size") = 384, py::arg("client_identifier") = py::none(),
           py::arg("wire_log") = false, py::arg("check") = true,
           "Enrolls over ACME device-attest-01 against target as an ACMECertificate payload "
           "would (EC key in the Secure Enclave, attested by Apple, CSR with the "
           "permanentIdentifier SAN). faults: ClientFaults knobs by name "
           "(client_fault_names()). Returns an Enrollment; when the enrollment fails and "
           "check is true, raises AcmeProblem (type, status, detail, step) instead. The GIL "
           "is released meanwhile.")
      .def("__repr__", [](const PyDevice& d) {
        return "<Device " + std::string(sim::to_string(d.device.kind())) +
               " serial=" + d.device.identity().serial + " os=" + d.device.identity().os_version +
               ">";
      });
}

}  // namespace attestlab::python
