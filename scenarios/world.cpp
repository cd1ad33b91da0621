#include "scenarios/world.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/bytes.h"
#include "core/jose.h"

namespace attestlab::scenarios {

namespace {

sim::Device make_sim_device(const PlannedDevice& planned, const DeviceSpec* spec) {
  sim::Posture posture;
  if (spec != nullptr) spec->posture.apply_to(posture);
  sim::Device device(planned.kind, planned.identity, posture);
  if (spec != nullptr) {
    device.claim_overrides() = spec->claims;
    device.set_user_enrollment(spec->enrollment == EnrollmentType::User);
  }
  return device;
}

class KeystoreSigner final : public client::JwsSigner {
 public:
  KeystoreSigner(const sim::Device& device, sim::KeyHandle key, bool hardware_bound,
                 pki::PublicKey pub)
      : device_(device),
        key_(key),
        hardware_bound_(hardware_bound),
        jwk_(jose::Jwk(pub).to_json()) {
    const pki::KeySpec spec = pub.spec();
    if (spec.kind == pki::KeyKind::RSA) {
      alg_ = "RS256";
    } else {
      alg_ = spec.bits == 384 ? "ES384" : spec.bits == 521 ? "ES512" : "ES256";
    }
  }
  Json jwk() const override { return jwk_; }
  std::string alg() const override { return alg_; }
  Result<Bytes> sign(const Bytes& input) const override {
    const pki::Digest digest = alg_ == "ES384"   ? pki::Digest::SHA384
                               : alg_ == "ES512" ? pki::Digest::SHA512
                                                 : pki::Digest::SHA256;
    return hardware_bound_ ? device_.secure_enclave().sign(key_, input, digest)
                           : device_.software_keystore().sign(key_, input, digest);
  }

 private:
  const sim::Device& device_;
  sim::KeyHandle key_;
  bool hardware_bound_;
  Json jwk_;
  std::string alg_;
};

bool key_present(const sim::Device& device, sim::KeyHandle key, bool hardware_bound) {
  return hardware_bound ? device.secure_enclave().has_key(key)
                        : device.software_keystore().has_key(key);
}

// Transport failures and harness misuse are not the target's answer: the step errors.
bool target_unreachable(const Error& e, const std::string& failed_step) {
  if (failed_step == sim::enroll_step::kAttest || failed_step == sim::enroll_step::kPayload ||
      failed_step == sim::enroll_step::kKey) {
    return false;  // device-side: Apple unreachable, payload refused, no Secure Enclave
  }
  return e.type == "connection" || e.type == client::kErrorClientUsage;
}

}  // namespace

void DeviceRuntime::with_device(
    const std::function<void(sim::Device&, sim::AttestationService&, sim::DeviceKeychain&)>& fn) {
  agent->with_device(fn);
}

const IssuedCertificate* DeviceRuntime::certificate(bool previous) const {
  const std::size_t need = previous ? 2 : 1;
  if (certificates.size() < need) return nullptr;
  return &certificates[certificates.size() - need];
}

std::string DeviceRuntime::mdm_id() const {
  std::string id = agent->device_id();
  if (!id.empty()) return id;
  return user_enrollment ? plan.identity.enrollment_id : plan.identity.udid;
}

namespace {

std::string make_temp_dir() {
  std::error_code ec;
  auto base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto dir = base / ("attestlab-scenario-" + hex_encode(random_bytes(6)));
    if (std::filesystem::create_directory(dir, ec)) return dir.string();
  }
  return "";
}

}  // namespace

bool uses_mdm(const Scenario& sc) {
  return std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step& s) {
    return s.type == StepType::MdmEnroll || s.type == StepType::InstallProfile ||
           s.type == StepType::DeviceInformation || s.type == StepType::Fleet;
  });
}

World::World(const ScenarioPlan& plan, const Target& target, ClockedTarget* clocked)
    : plan_(plan),
      target_(clocked != nullptr ? clocked->target() : target),
      clocked_(clocked),
      clock_(std::make_shared<VirtualClock>()),
      apple_(std::make_shared<sim::AppleAttestationServers>(target_.attestation_ca, clock_)) {
  if (uses_mdm(plan.scenario)) {
    Result<std::unique_ptr<MdmPort>> port =
        target_.mdm ? connect_running_mdm(*target_.mdm, target_.http_timeout_ms)
                    : start_local_mdm(target_, clock_, temp_dir_ = make_temp_dir());
    if (port) {
      mdm_ = std::move(*port);
    } else {
      mdm_error_ = port.error().detail;
    }
  }
  for (const auto& planned : plan.devices) {
    devices_[planned.id] = make_device(planned, plan.scenario.find_device(planned.id));
  }
}

World::~World() {
  devices_.clear();  // agents first: they may talk to the MDM
  if (mdm_) mdm_->stop();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

std::unique_ptr<DeviceRuntime> World::make_device(const PlannedDevice& planned,
                                                  const DeviceSpec* spec) {
  auto d = std::make_unique<DeviceRuntime>();
  d->plan = planned;
  d->user_enrollment = spec != nullptr && spec->enrollment == EnrollmentType::User;
  d->payload_uuid = sim::new_payload_uuid();
  sim::MdmAgentOptions options;
  if (mdm_) {
    options.enroll_url = mdm_->enroll_url();
    options.trust_ca_pem_file = mdm_->trust_file();
  }
  options.http_timeout = std::chrono::milliseconds(target_.http_timeout_ms);
  options.acme.client = client_options(planned.id);
  options.acme.trust_ca_pem_file = target_.trust_ca_pem_file;
  options.acme.wire_log = &d->log;
  options.acme.clock = clock_;
  options.acme.apple_ca = target_.attestation_ca;
  options.acme.eab = target_.eab;
  d->agent =
      std::make_unique<sim::MdmAgent>(make_sim_device(planned, spec), apple_, std::move(options));
  return d;
}

DeviceRuntime* World::device(const std::string& id) {
  auto it = devices_.find(id);
  return it == devices_.end() ? nullptr : it->second.get();
}

client::AcmeClientOptions World::client_options(const std::string& label) const {
  client::AcmeClientOptions o;
  o.trust_ca_pem_file = target_.trust_ca_pem_file;
  o.timeout = std::chrono::milliseconds(target_.http_timeout_ms);
  o.poll_interval =
      std::chrono::milliseconds(std::min<std::int64_t>(50, target_.max_poll_sleep_ms));
  o.poll_timeout = std::chrono::milliseconds(30000);
  const auto cap = std::chrono::milliseconds(target_.max_poll_sleep_ms);
  o.sleep = [cap](std::chrono::milliseconds d) {
    const auto wait = std::min(d, cap);
    std::this_thread::sleep_for(wait);
    return wait;
  };
  o.log_label = label;
  return o;
}

std::string World::client_identifier(const DeviceRuntime& d,
                                     const std::optional<std::string>& option) {
  const std::string c = option.value_or("serial");
  auto of = [&](const std::string& id) -> const DeviceRuntime* {
    DeviceRuntime* other = device(id);
    return other != nullptr ? other : &d;
  };
  if (c == "serial") {
    return d.user_enrollment ? d.plan.identity.enrollment_id : d.plan.identity.serial;
  }
  if (c == "udid") return d.plan.identity.udid;
  if (c.rfind("serial:", 0) == 0) return of(c.substr(7))->plan.identity.serial;
  if (c.rfind("udid:", 0) == 0) return of(c.substr(5))->plan.identity.udid;
  if (c.rfind("literal:", 0) == 0) return c.substr(8);
  return d.plan.identity.serial;
}

sim::AcmePayload World::payload_for(const DeviceRuntime& d, const PayloadOptions& options) {
  sim::AcmePayload p = sim::AcmePayload::for_attestation(
      target_.directory_url, client_identifier(d, options.client_identifier));
  p.payload_uuid = d.payload_uuid;
  p.payload_identifier = "com.attestlab.scenario.acme." + d.payload_uuid;
  if (options.key_type) p.key_type = *options.key_type;
  if (options.key_size) p.key_size = *options.key_size;
  if (options.hardware_bound) p.hardware_bound = *options.hardware_bound;
  if (options.attest) p.attest = *options.attest;
  if (options.key_is_extractable) p.key_is_extractable = *options.key_is_extractable;
  return p;
}

std::shared_ptr<const client::JwsSigner> keystore_signer(const sim::Device& device,
                                                         sim::KeyHandle key, bool hardware_bound) {
  auto pub = hardware_bound ? device.secure_enclave().public_key(key)
                            : device.software_keystore().public_key(key);
  if (!pub) return nullptr;
  return std::make_shared<KeystoreSigner>(device, key, hardware_bound, std::move(*pub));
}

Json sliced_wire_log(const client::WireLog& log, std::size_t from, std::size_t max) {
  const std::size_t n = log.size();
  if (from >= n) return Json::array();
  const std::size_t to = std::min(n, from + max);
  Json out = log.to_json(from, to);
  if (to < n) out.push_back(Json{{"note", std::to_string(n - to) + " more exchanges not kept"}});
  return out;
}

void observe_enrollment(Observation& o, const sim::EnrollmentResult& r) {
  o.issued = r.ok();
  o.error = r.error;
  o.failed_step = r.failed_step;
  o.challenge_status = r.challenge_status;
  if (!r.identifier.empty()) o.notes.push_back("ordered permanent-identifier " + r.identifier);
  for (const auto& n : r.notes) o.notes.push_back(n);
}

void remember_certificate(DeviceRuntime& d, const sim::EnrollmentResult& r) {
  if (!r.ok() || !r.certificate || !r.identity) return;
  d.certificates.push_back(IssuedCertificate{*r.certificate, r.certificate_chain_pem,
                                             r.identity->key, r.identity->hardware_bound,
                                             r.account_key, r.account_url});
}

Observation acme_enroll(World& world, DeviceRuntime& d, const Step& step) {
  sim::EnrollOptions options;
  options.client = world.client_options(d.plan.id);
  options.trust_ca_pem_file = world.target().trust_ca_pem_file;
  for (const auto& name : step.client_faults) (void)sim::set_client_fault(options.faults, name);
  options.wire_log = &d.log;
  options.clock = world.clock();
  options.apple_ca = world.target().attestation_ca;
  options.reuse_key = step.reuse_key;
  options.follow_ari = step.type == StepType::AcmeRenew;
  options.eab = world.target().eab;
  if (!step.other_device.empty()) {
    if (DeviceRuntime* other = world.device(step.other_device)) {
      options.other_device_identifier = world.client_identifier(*other, std::nullopt);
    }
  }
  const sim::AcmePayload payload = world.payload_for(d, step.payload);
  const std::size_t mark = d.log.size();
  sim::EnrollmentResult r;
  d.with_device([&](sim::Device& device, sim::AttestationService& attestation,
                    sim::DeviceKeychain& keychain) {
    r = sim::enroll(device, attestation, keychain, payload, options);
  });
  Observation o;
  observe_enrollment(o, r);
  if (step.type == StepType::AcmeRenew) {
    o.ari_renewal = r.ok() && !r.replaces.empty() && r.renewal_info.has_value();
    if (r.renewal_info) o.renewal_window = {r.renewal_info->start, r.renewal_info->end};
    if (!r.replaces.empty()) o.notes.push_back("ordered with replaces " + r.replaces);
  }
  o.network_requests = static_cast<std::int64_t>(d.log.size() - mark);
  remember_certificate(d, r);
  return o;
}

namespace {

StepRun harness_error(std::string why) {
  StepRun run;
  run.harness_error = std::move(why);
  return run;
}

StepRun revoke(World& world, DeviceRuntime& d, const Step& step, bool probe) {
  client::WireLog& log = d.log;
  const std::size_t mark = log.size();
  const IssuedCertificate* cert = d.certificate(step.certificate == CertificateRef::Previous);
  if (cert == nullptr) {
    return harness_error(std::string("device \"") + d.plan.id + "\" has no " +
                         (step.certificate == CertificateRef::Previous ? "previous" : "current") +
                         " certificate");
  }
  StepRun run;
  client::AcmeClient client(world.target().directory_url, world.client_options(d.plan.id), &log);
  const Bytes der = cert->certificate.to_der();
  std::optional<int> reason;
  if (step.reason) reason = static_cast<int>(*step.reason);
  Result<void> done = ok();
  if (!probe && step.revoke_by == "certificate-key") {
    // The device signs with the certificate's own key, which must still exist.
    bool present = false;
    d.with_device([&](sim::Device& device, sim::AttestationService&, sim::DeviceKeychain&) {
      present = key_present(device, cert->key, cert->hardware_bound);
      if (!present) return;
      auto signer = keystore_signer(device, cert->key, cert->hardware_bound);
      done = signer ? client.revoke_with_cert_key(der, reason, *signer)
                    : Result<void>(Error::make(sim::kErrorKeyUnavailable,
                                               "cannot read the key's public half"));
    });
    if (!present) {
      run.observation.error = Error::make(sim::kErrorKeyUnavailable,
                                          "the certificate's key no longer exists on the device");
      return run;
    }
  } else {
    client.use_account(cert->account_key, cert->account_url);
    done = client.revoke(der, reason);
  }
  run.observation.network_requests = static_cast<std::int64_t>(log.size() - mark);
  if (!done.ok() && done.error().type == "connection") {
    return harness_error("target unreachable: " + done.error().detail);
  }
  if (probe) {
    // revokeCert as a probe: alreadyRevoked means it was revoked; success means it was
    // not (and now is).
    if (done.ok()) {
      run.observation.revoked = false;
      run.observation.notes.push_back(
          "the probe's revokeCert succeeded, so the certificate was valid (it is now revoked)");
    } else if (done.error().type == "alreadyRevoked") {
      run.observation.revoked = true;
    } else {
      run.observation.error = done.error();
    }
    return run;
  }
  if (done.ok()) {
    run.observation.revoked = true;
  } else {
    run.observation.error = done.error();
  }
  return run;
}

StepRun check_key(DeviceRuntime& d, const Step& step) {
  const IssuedCertificate* cert = d.certificate(step.certificate == CertificateRef::Previous);
  if (cert == nullptr) return harness_error("device \"" + d.plan.id + "\" has no such certificate");
  StepRun run;
  bool usable = false;
  d.with_device([&](sim::Device& device, sim::AttestationService&, sim::DeviceKeychain&) {
    if (!key_present(device, cert->key, cert->hardware_bound)) return;
    const Bytes probe = random_bytes(32);
    auto sig = cert->hardware_bound ? device.secure_enclave().sign(cert->key, probe)
                                    : device.software_keystore().sign(cert->key, probe);
    const pki::PublicKey pub = cert->certificate.public_key();
    usable =
        sig.ok() &&
        pub.verify(probe, *sig, pub.spec().bits == 384 ? pki::Digest::SHA384 : pki::Digest::SHA256);
  });
  run.observation.key_usable = usable;
  return run;
}

void update_device(sim::Device& dev, const Step& step) {
  if (step.identity.os_version || step.identity.build_version || step.identity.sepos_version ||
      step.identity.llb_version) {
    const sim::DeviceIdentity& id = dev.identity();
    dev.update_software(step.identity.os_version.value_or(id.os_version),
                        step.identity.build_version.value_or(id.build_version),
                        step.identity.sepos_version.value_or(id.sepos_version),
                        step.identity.llb_version.value_or(id.llb_version));
  }
  if (step.posture) {
    sim::Posture p = dev.posture();
    step.posture->apply_to(p);
    dev.set_posture(p);
  }
  if (step.claims) merge_claims(dev.claim_overrides(), *step.claims);
}

}  // namespace

StepRun run_step(World& world, const Step& step, std::size_t max_wire_exchanges) {
  DeviceRuntime* d = step.device.empty() ? nullptr : world.device(step.device);
  if (!step.device.empty() && d == nullptr)
    return harness_error("no device \"" + step.device + "\"");
  const std::size_t mark = d != nullptr ? d->log.size() : 0;
  const bool mdm_step = step.type == StepType::MdmEnroll || step.type == StepType::InstallProfile ||
                        step.type == StepType::DeviceInformation;
  if (mdm_step && world.mdm() == nullptr) return harness_error(world.mdm_error());
  StepRun run;
  switch (step.type) {
    case StepType::AcmeEnroll:
    case StepType::AcmeRenew:
      run.observation = acme_enroll(world, *d, step);
      break;
    case StepType::MdmEnroll:
      run.observation = mdm_enroll(world, *d);
      break;
    case StepType::InstallProfile:
      run.observation = install_profile(world, *d, step.payload);
      break;
    case StepType::DeviceInformation:
      run.observation = device_information(world, *d, step.nonce);
      break;
    case StepType::Hijack: {
      DeviceRuntime* attacker = world.device(step.attacker);
      if (attacker == nullptr) return harness_error("no device \"" + step.attacker + "\"");
      run.observation = hijack(world, *d, *attacker, step);
      break;
    }
    case StepType::Restore:
      d->with_device([](sim::Device& device, sim::AttestationService&, sim::DeviceKeychain&) {
        device.erase();
      });
      break;
    case StepType::AdvanceClock:
      world.clock()->advance(step.seconds);
      if (step.server_clock) {
        if (world.clocked() == nullptr) return harness_error("the target's clock cannot be moved");
        world.clocked()->advance_clock(step.seconds);
      }
      break;
    case StepType::Revoke:
      run = revoke(world, *d, step, false);
      break;
    case StepType::CheckCertificate:
      run = revoke(world, *d, step, true);
      break;
    case StepType::CheckKey:
      run = check_key(*d, step);
      break;
    case StepType::AttestationOutage:
      world.apple()->set_outage(
          step.outage == "server-error" ? sim::AppleAttestationServers::Outage::ServerError
          : step.outage == "connection" ? sim::AppleAttestationServers::Outage::Connection
                                        : sim::AppleAttestationServers::Outage::None);
      break;
    case StepType::UpdateDevice:
      d->with_device([&](sim::Device& device, sim::AttestationService&, sim::DeviceKeychain&) {
        update_device(device, step);
      });
      break;
    case StepType::Fleet:
      return harness_error("fleet steps are run by the engine");
  }
  if (const Observation& o = run.observation; o.error) {
    const bool enrollment =
        step.type == StepType::AcmeEnroll || step.type == StepType::InstallProfile;
    if (enrollment && target_unreachable(*o.error, o.failed_step)) {
      run.harness_error = "target unreachable or misused: " + o.describe();
    } else if (o.error->type == kErrorMdmSessionFailed) {
      run.harness_error = "the MDM emulator failed: " + o.error->detail;
    } else if (o.error->type == kErrorHijackSetup) {
      run.harness_error = o.error->detail;
    } else if (step.type == StepType::Hijack && o.error->type == "connection") {
      run.harness_error = "target unreachable: " + o.error->detail;
    }
  }
  if (d != nullptr) {
    run.observation.network_requests = static_cast<std::int64_t>(d->log.size() - mark);
    run.wire_log = sliced_wire_log(d->log, mark, max_wire_exchanges);
  }
  return run;
}

}  // namespace attestlab::scenarios
