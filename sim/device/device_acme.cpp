#include "sim/device/device_acme.h"

#include <utility>

#include "core/ari_cert_id.h"
#include "core/bytes.h"
#include "sim/device/attestation.h"
#include "sim/device/attestation_source.h"
#include "sim/device/device_acme_wire.h"

namespace attestlab::sim {
namespace {

namespace step = enroll_step;

// --- what the device knows besides the protocol ------------------------------------------------

client::AcmeClientOptions client_options(const EnrollOptions& options, const Device& device) {
  client::AcmeClientOptions o = options.client;
  if (!options.trust_ca_pem_file.empty()) o.trust_ca_pem_file = options.trust_ca_pem_file;
  // Wire log entries name the device unless the caller chose a label.
  if (o.log_label.empty()) {
    o.log_label = std::string(to_string(device.kind())) + " " + device.identity().serial;
  }
  return o;
}

std::optional<Json> problem_document(const client::AcmeClient& client, const Error& error) {
  if (error.status == 0 || !client.last_problem()) return std::nullopt;
  return client.last_problem();
}

// The error a problem document in a challenge or an order stands for; its "status" member
// is the error's status (0 when absent).
Error embedded_problem_error(const Json& doc) {
  const int status =
      doc.contains("status") && doc["status"].is_number_integer() ? doc["status"].get<int>() : 0;
  return client::problem_to_error(doc, status);
}

// Why validate_as_device refused: the first error, and how many more there were.
std::string refusal_detail(const std::vector<PayloadProblem>& problems) {
  std::string detail;
  int errors = 0;
  for (const auto& p : problems) {
    if (p.severity != PayloadProblem::Severity::Error) continue;
    if (errors++ == 0) detail = describe(p);
  }
  if (errors > 1) detail += " (and " + std::to_string(errors - 1) + " more)";
  return detail;
}

Error cannot_attest_error(const Device& device) {
  const std::string os =
      device.identity().os_version.empty() ? "an unknown OS" : device.identity().os_version;
  const std::string why = kind_can_attest(device.kind())
                              ? "its OS is older than Managed Device Attestation"
                              : "its hardware has no attestation support";
  return Error::make(kErrorDeviceCannotAttest,
                     std::string("device cannot attest: ") + to_string(device.kind()) +
                         " running " + os + " (" + why +
                         "); it ignores Attest and cannot complete device-attest-01");
}

Error no_device_attest_challenge(const client::Authorization& authz) {
  std::string offered;
  for (const auto& c : authz.challenges) offered += (offered.empty() ? "" : ", ") + c.type;
  return Error::make(kErrorNoDeviceAttestChallenge,
                     "the authorization offers no device-attest-01 challenge (offers: " +
                         (offered.empty() ? std::string("none") : offered) + ")");
}

bool key_exists(const Device& device, DeviceKey key) {
  return key.hardware_bound ? device.secure_enclave().has_key(key.handle)
                            : device.software_keystore().has_key(key.handle);
}

Result<pki::PublicKey> public_key_of(const Device& device, DeviceKey key) {
  return key.hardware_bound ? device.secure_enclave().public_key(key.handle)
                            : device.software_keystore().public_key(key.handle);
}

Result<pki::Csr> sign_csr(const Device& device, DeviceKey key, const pki::CsrSpec& spec) {
  return key.hardware_bound ? device.secure_enclave().sign_csr(key.handle, spec)
                            : device.software_keystore().sign_csr(key.handle, spec);
}

// A new certificate key as the payload asks: HardwareBound in the Secure Enclave (P-256 or
// P-384), else a software RSA/EC key; KeySize defaults to 384 (enclave) / 256 (software).
Result<DeviceKey> new_certificate_key(Device& device, const AcmePayload& payload) {
  const bool hw = payload.is_hardware_bound();
  const auto size = static_cast<int>(payload.key_size.value_or(hw ? 384 : 256));
  const pki::KeySpec spec =
      payload.is_rsa() ? pki::KeySpec::rsa(size) : pki::KeySpec{pki::KeyKind::EC, size};
  if (hw && !device.has_secure_enclave()) {
    return Error::make(kErrorKeyUnavailable, std::string(to_string(device.kind())) +
                                                 " has no Secure Enclave for a HardwareBound key");
  }
  auto key = hw ? device.secure_enclave().generate_key(spec)
                : device.software_keystore().generate_key(spec);
  if (!key) return key.error();
  return DeviceKey{*key, hw};
}

// The keychain entry for an enrollment that downloaded its certificate: the certificate
// with the key of its CSR, under the payload's UUID.
KeychainIdentity keychain_identity(const AcmePayload& payload, const EnrollmentResult& result,
                                   DeviceKey key, std::int64_t now) {
  KeychainIdentity identity;
  identity.payload_uuid = payload.payload_uuid.value_or("");
  identity.payload_identifier = payload.payload_identifier.value_or("");
  identity.key = key.handle;
  identity.hardware_bound = key.hardware_bound;
  identity.extractable = !key.hardware_bound && payload.key_extractable();
  identity.all_apps_access = payload.all_apps_access();
  identity.certificate_chain_pem = result.certificate_chain_pem;
  identity.certificate = *result.certificate;
  identity.directory_url = result.directory_url;
  identity.account_url = result.account_url;
  identity.account_key = result.account_key;
  identity.installed_at = now;
  return identity;
}

// --- the enrollment: the honest Apple flow, step by step (device_acme.h) -----------------------

class Enrollment {
 public:
  Enrollment(Device& device, AttestationService& attestation, DeviceKeychain& keychain,
             const AcmePayload& payload, const EnrollOptions& options)
      : device_(device),
        attestation_(attestation),
        keychain_(keychain),
        payload_(payload),
        options_(options),
        clock_(options.clock ? options.clock : SystemClock::instance()),
        client_(payload.directory_url.value_or(""), client_options(options, device),
                options.wire_log) {}

  EnrollmentResult run() {
    result_.faults = enabled_client_faults(options_.faults);
    result_.directory_url = payload_.directory_url.value_or("");
    keychain_.forget_if_erased(device_);
    source_ = make_attestation_source(options_.faults, attestation_, forgery_inputs());
    if (validate_payload() && create_account() && create_order() && fetch_authz() &&
        check_can_attest() && make_key() && attest() && answer_challenge() && build_csr() &&
        finalize() && download() && install()) {
      result_.error.reset();
    }
    return std::move(result_);
  }

 private:
  bool fail(const char* failed_step, Error error, std::optional<Json> problem = std::nullopt) {
    result_.failed_step = failed_step;
    result_.error = std::move(error);
    result_.problem = std::move(problem);
    return false;
  }
  bool fail_from_server(const char* failed_step, const Error& error) {
    return fail(failed_step, error, problem_document(client_, error));
  }
  bool completed(const char* done_step) {
    if (options_.after_step) options_.after_step(done_step);
    return true;
  }
  void note(std::string text) { result_.notes.push_back(std::move(text)); }
  std::int64_t now() const { return clock_->now(); }
  std::string payload_uuid() const { return payload_.payload_uuid.value_or(""); }

  ForgeryInputs forgery_inputs() const {
    const SentAttestation* earlier = keychain_.last_attestation(payload_uuid());
    return ForgeryInputs{options_.apple_ca, clock_,
                         earlier ? std::optional<SentAttestation>(*earlier) : std::nullopt};
  }

  bool validate_payload() {
    result_.payload_problems = validate_as_device(payload_);
    if (!device_refuses(result_.payload_problems)) return true;
    return fail(step::kPayload,
                Error::make(kErrorPayloadRefused, refusal_detail(result_.payload_problems)));
  }

  // follow_ari with an installed predecessor from this directory: its account, its
  // RenewalInfo and its CertID for "replaces". false = enroll as a new device would.
  bool renew_through_ari() {
    if (!options_.follow_ari) return false;
    const KeychainIdentity* installed = keychain_.find(payload_uuid());
    if (!installed || !installed->account_key || installed->account_url.empty() ||
        installed->directory_url != result_.directory_url) {
      return false;
    }
    auto dir = client_.directory();
    if (!dir || dir->renewal_info.empty()) return false;
    auto id = ari::cert_id(installed->certificate);
    if (!id) return false;
    client_.use_account(installed->account_key, installed->account_url);
    result_.account_key = installed->account_key;
    result_.account_url = installed->account_url;
    auto info = client_.renewal_info(*id);
    if (info) {
      result_.renewal_info = std::move(*info);
    } else {
      note("renewalInfo: " + info.error().detail);
    }
    result_.replaces = *id;
    return true;
  }

  bool create_account() {
    if (renew_through_ari()) return completed(step::kAccount);
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    if (!key) return fail(step::kAccount, key.error());
    result_.account_key = client::make_signer(std::move(*key));
    client::NewAccountRequest request;
    request.eab = options_.eab;
    auto account = client_.new_account(result_.account_key, request);
    if (!account) return fail_from_server(step::kAccount, account.error());
    result_.account_url = account->url;
    return completed(step::kAccount);
  }

  bool create_order() {
    result_.identifier =
        ordered_identifier(payload_, options_.faults, options_.other_device_identifier);
    client::NewOrderRequest request;
    request.identifiers = {{"permanent-identifier", result_.identifier}};
    if (!result_.replaces.empty()) request.replaces = result_.replaces;
    auto order = client_.new_order(request);
    if (!order) return fail_from_server(step::kOrder, order.error());
    order_ = std::move(*order);
    result_.order_url = order_.url;
    result_.order_status = order_.status;
    return completed(step::kOrder);
  }

  bool fetch_authz() {
    if (order_.authorizations.empty()) {
      return fail(step::kAuthz,
                  Error::make(client::kErrorUnexpectedResponse, "the order has no authorizations"));
    }
    result_.authz_url = order_.authorizations.front();
    auto authz = client_.get_authz(result_.authz_url);
    if (!authz) return fail_from_server(step::kAuthz, authz.error());
    result_.authz_status = authz->status;
    const client::Challenge* challenge = authz->find("device-attest-01");
    if (challenge == nullptr) return fail(step::kAuthz, no_device_attest_challenge(*authz));
    result_.challenge_url = challenge->url;
    result_.token = challenge->token;
    result_.challenge_status = challenge->status;
    return completed(step::kAuthz);
  }

  // A device that cannot attest ignores Attest, so device-attest-01 cannot be completed.
  bool check_can_attest() {
    if (!payload_.attests() || device_.supports_attestation()) return true;
    return fail(step::kAttest, cannot_attest_error(device_));
  }

  // Renewal keeps the installed identity's key while it exists, and so does an attestation
  // source that needs an earlier key; otherwise a new key.
  bool make_key() {
    const bool hw = payload_.is_hardware_bound();
    KeyHandle installed;
    if (const KeychainIdentity* identity = keychain_.find(payload_uuid());
        identity != nullptr && identity->hardware_bound == hw) {
      installed = identity->key;
    }
    std::optional<KeyHandle> keep = source_->key_to_keep(installed);
    if (!keep && options_.reuse_key) keep = installed;
    if (keep) {
      if (keep->valid() && key_exists(device_, {*keep, hw})) return use_key({*keep, hw});
      note("no earlier key for this payload: a new key was made");
    }
    auto key = new_certificate_key(device_, payload_);
    if (!key) return fail(step::kKey, key.error());
    return use_key(*key);
  }

  bool use_key(DeviceKey key) {
    auto pub = public_key_of(device_, key);
    if (!pub) return fail(step::kKey, Error::make(kErrorKeyUnavailable, pub.error().detail));
    result_.key = key.handle;
    result_.hardware_bound = key.hardware_bound;
    result_.public_key = std::move(*pub);
    return completed(step::kKey);
  }

  // Attest: the attestation source's statement for the key and the token; without Attest,
  // a statement that carries no attestation.
  bool attest() {
    auto statement = payload_.attests() ? source_->statement(device_, result_.key, result_.token)
                                        : Result<AttestationStatement>(AttestationStatement{
                                              attestation_object_without_attestation_b64u()});
    for (const std::string& text : source_->notes()) note(text);
    if (!statement) return fail(step::kAttest, statement.error());
    result_.att_obj = statement->att_obj_b64u;
    result_.attestation_from_cache = statement->from_cache;
    result_.challenge_payload = challenge_payload(result_.att_obj, options_.faults);
    if (payload_.attests()) {
      keychain_.remember_attestation(
          payload_uuid(), SentAttestation{result_.token, result_.att_obj, result_.key, now()});
    }
    return completed(step::kAttest);
  }

  bool answer_challenge() {
    const ChallengeAnswer answer = post_challenge_answer(
        client_, result_.challenge_url, result_.authz_url, result_.challenge_payload,
        options_.faults, options_.client.bad_nonce_retries);
    if (answer.error) return fail(step::kChallenge, *answer.error, answer.problem);
    if (answer.status) result_.challenge_status = *answer.status;

    auto authz = client_.poll_authz(result_.authz_url);
    if (!authz) return fail_from_server(step::kChallenge, authz.error());
    result_.authz_status = authz->status;
    if (const client::Challenge* challenge = authz->find("device-attest-01")) {
      result_.challenge_status = challenge->status;
      result_.challenge_error = challenge->error;
    }
    if (authz->status == "valid") return completed(step::kChallenge);
    if (result_.challenge_error && result_.challenge_error->is_object()) {
      const Json& doc = *result_.challenge_error;
      return fail(step::kChallenge, embedded_problem_error(doc), doc);
    }
    return fail(step::kChallenge, Error::make(client::kErrorUnexpectedResponse,
                                              "the authorization is " + authz->status +
                                                  " and its challenge carries no error"));
  }

  // The CSR is signed inside the key's store: an enclave key never leaves the enclave.
  bool build_csr() {
    auto key = csr_signing_key(device_, {result_.key, result_.hardware_bound}, options_.faults);
    if (!key) return fail(step::kCsr, key.error());
    csr_key_ = *key;
    auto csr = sign_csr(device_, csr_key_, csr_spec(payload_, result_.identifier, options_.faults));
    if (!csr) return fail(step::kCsr, csr.error());
    result_.csr_der = csr->to_der();
    return completed(step::kCsr);
  }

  bool finalize() {
    auto ready = client_.poll_order(order_.url);
    if (!ready) return fail_from_server(step::kFinalize, ready.error());
    result_.order_status = ready->status;
    if (ready->status != "ready") return order_failed(*ready);
    auto finalized = client_.finalize(*ready, result_.csr_der);
    if (!finalized) return fail_from_server(step::kFinalize, finalized.error());
    auto done =
        finalized->status == "valid" ? std::move(finalized) : client_.poll_order(order_.url);
    if (!done) return fail_from_server(step::kFinalize, done.error());
    result_.order_status = done->status;
    if (done->status != "valid" || !done->certificate) return order_failed(*done);
    result_.certificate_url = *done->certificate;
    return completed(step::kFinalize);
  }

  bool order_failed(const client::Order& order) {
    if (order.error && order.error->is_object()) {
      return fail(step::kFinalize, embedded_problem_error(*order.error), *order.error);
    }
    return fail(step::kFinalize,
                Error::make(client::kErrorUnexpectedResponse,
                            "the order is " + order.status +
                                (order.certificate ? "" : " without a certificate URL")));
  }

  bool download() {
    auto chain = client_.download_certificate(result_.certificate_url);
    if (!chain) return fail_from_server(step::kDownload, chain.error());
    // The chain's text was read strictly by the client; only the leaf is needed here, read
    // without OpenSSL 3.0's provider decoders (its key is decoded once, our way).
    auto leaf = pki::Certificate::from_der_lean(chain->der.front());
    if (!leaf) {
      return fail(step::kDownload,
                  Error::make(client::kErrorUnexpectedResponse,
                              "the certificate does not parse: " + leaf.error().detail));
    }
    result_.certificate_chain_pem = std::move(chain->pem);
    result_.certificate = std::move(*leaf);
    return completed(step::kDownload);
  }

  bool install() {
    // The keychain pairs a certificate with the private key that matches it, or not at all.
    auto csr_pub = public_key_of(device_, csr_key_);
    if (!csr_pub || !result_.certificate->public_key().equals(*csr_pub)) {
      return fail(step::kInstall,
                  Error::make(client::kErrorUnexpectedResponse,
                              "the certificate's public key is not the key of the CSR"));
    }
    KeychainIdentity identity = keychain_identity(payload_, result_, csr_key_, now());
    result_.replaced = keychain_.install(identity);
    result_.identity = std::move(identity);
    return completed(step::kInstall);
  }

  Device& device_;
  AttestationService& attestation_;
  DeviceKeychain& keychain_;
  const AcmePayload& payload_;
  const EnrollOptions& options_;
  std::shared_ptr<const Clock> clock_;
  client::AcmeClient client_;
  std::unique_ptr<AttestationSource> source_;

  EnrollmentResult result_;
  client::Order order_;
  DeviceKey csr_key_;  // the key the CSR names (the certificate key unless a fault swapped it)
};

}  // namespace

std::string EnrollmentResult::summary() const {
  if (ok()) return "ok";
  return failed_step + ": " + error->type + " (" + std::to_string(error->status) +
         "): " + error->detail;
}

pki::CsrSpec device_csr_spec(const AcmePayload& payload, const std::string& identifier) {
  pki::CsrSpec spec;
  if (payload.subject) {
    for (const auto& rdn : *payload.subject)
      for (const auto& attribute : rdn) spec.subject.push_back(attribute);
  }
  if (payload.subject_alt_name) {
    const AcmeSubjectAltName& san = *payload.subject_alt_name;
    spec.sans.email = san.rfc822_name;
    spec.sans.dns = san.dns_name;
    spec.sans.uri = san.uniform_resource_identifier;
    spec.sans.upn = san.nt_principal_name;
  }
  spec.sans.permanent_ids.push_back({identifier, std::nullopt});
  spec.key_usage_digital_signature = (payload.usage() & kAcmeUsageSign) != 0;
  spec.key_usage_key_encipherment = (payload.usage() & kAcmeUsageEncrypt) != 0;
  if (payload.extended_key_usage) spec.extended_key_usages = *payload.extended_key_usage;
  return spec;
}

std::string attestation_object_without_attestation_b64u() {
  nlohmann::ordered_json object;
  object["fmt"] = kAppleFormat;
  object["attStmt"] = nlohmann::ordered_json::object();
  std::vector<std::uint8_t> cbor;
  nlohmann::ordered_json::to_cbor(object, cbor);
  return base64url_encode(Bytes(cbor.begin(), cbor.end()));
}

EnrollmentResult enroll(Device& device, AttestationService& attestation, DeviceKeychain& keychain,
                        const AcmePayload& payload, const EnrollOptions& options) {
  return Enrollment(device, attestation, keychain, payload, options).run();
}

}  // namespace attestlab::sim
