#include "sim/device/device_acme.h"

#include <utility>

#include "core/bytes.h"
#include "sim/device/apple_format.h"
#include "sim/device/attestation.h"
#include "sim/device/forgery.h"

namespace attestlab::sim {
namespace {

namespace step = enroll_step;

// The identifier ClientFaults::other_device_identifier orders when none is given: the
// ClientIdentifier with its last character rotated through [0-9A-Z], so it stays a
// well-formed serial of "another device".
std::string other_identifier_for(const std::string& id) {
  static const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (id.empty()) return "OTHERDEVICE1";
  std::string other = id;
  const std::size_t last =
      other.find('/') == std::string::npos ? other.size() - 1 : other.find('/') - 1;
  const std::size_t at = alphabet.find(other[last]);
  other[last] = alphabet[at == std::string::npos ? 0 : (at + 1) % alphabet.size()];
  return other;
}

// A value that differs from the order's identifier but is as plausible (for
// permanent_id_san_mismatch).
std::string mismatching_identifier(const std::string& id) {
  return other_identifier_for(id) + "X";
}

std::optional<Json> problem_document(const client::AcmeClient& client, const Error& error) {
  if (error.status == 0 || !client.last_problem()) return std::nullopt;
  return client.last_problem();
}

class Enrollment {
 public:
  Enrollment(Device& device, AttestationService& attestation, DeviceKeychain& keychain,
             const AcmePayload& payload, const EnrollOptions& options)
      : device_(device),
        attestation_(attestation),
        keychain_(keychain),
        payload_(payload),
        options_(options),
        faults_(options.faults),
        clock_(options.clock ? options.clock : SystemClock::instance()),
        client_(payload.directory_url.value_or(""), labelled(client_options(options), device),
                options.wire_log) {}

  EnrollmentResult run() {
    result_.faults = enabled_client_faults(faults_);
    result_.directory_url = payload_.directory_url.value_or("");
    keychain_.forget_if_erased(device_);
    if (validate_payload() && create_account() && create_order() && fetch_authz() &&
        check_can_attest() && make_key() && build_challenge_payload() && answer_challenge() &&
        build_csr() && finalize() && download() && install()) {
      result_.error.reset();
    }
    return std::move(result_);
  }

 private:
  static client::AcmeClientOptions client_options(const EnrollOptions& options) {
    client::AcmeClientOptions o = options.client;
    if (!options.trust_ca_pem_file.empty()) o.trust_ca_pem_file = options.trust_ca_pem_file;
    return o;
  }
  // Wire log entries name the device unless the caller chose a label.
  static client::AcmeClientOptions labelled(client::AcmeClientOptions o, const Device& device) {
    if (o.log_label.empty()) {
      o.log_label = std::string(to_string(device.kind())) + " " + device.identity().serial;
    }
    return o;
  }

  bool fail(const char* failed_step, Error error, std::optional<Json> problem = std::nullopt) {
    result_.failed_step = failed_step;
    result_.error = std::move(error);
    result_.problem = std::move(problem);
    return false;
  }
  bool fail_from_server(const char* failed_step, const Error& error) {
    return fail(failed_step, error, problem_document(client_, error));
  }
  void completed(const char* done_step) {
    if (options_.after_step) options_.after_step(done_step);
  }
  void note(std::string text) { result_.notes.push_back(std::move(text)); }
  std::int64_t now() const { return clock_->now(); }
  std::string payload_uuid() const { return payload_.payload_uuid.value_or(""); }

  // --- payload, account, order, authorization ------------------------------------------------

  bool validate_payload() {
    result_.payload_problems = validate_as_device(payload_);
    if (!device_refuses(result_.payload_problems)) return true;
    std::string detail;
    int errors = 0;
    for (const auto& p : result_.payload_problems) {
      if (p.severity != PayloadProblem::Severity::Error) continue;
      if (errors++ == 0) detail = describe(p);
    }
    if (errors > 1) detail += " (and " + std::to_string(errors - 1) + " more)";
    return fail(step::kPayload, Error::make(kErrorPayloadRefused, detail));
  }

  bool create_account() {
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    if (!key) return fail(step::kAccount, key.error());
    result_.account_key = client::make_signer(std::move(*key));
    client::NewAccountRequest request;
    request.eab = options_.eab;
    auto account = client_.new_account(result_.account_key, request);
    if (!account) return fail_from_server(step::kAccount, account.error());
    result_.account_url = account->url;
    completed(step::kAccount);
    return true;
  }

  bool create_order() {
    // other_device_identifier: order a certificate for another device's serial.
    result_.identifier = *payload_.client_identifier;
    if (faults_.other_device_identifier) {
      result_.identifier = options_.other_device_identifier.empty()
                               ? other_identifier_for(result_.identifier)
                               : options_.other_device_identifier;
    }
    auto order = client_.new_order(
        std::vector<client::Identifier>{{"permanent-identifier", result_.identifier}});
    if (!order) return fail_from_server(step::kOrder, order.error());
    order_ = std::move(*order);
    result_.order_url = order_.url;
    result_.order_status = order_.status;
    completed(step::kOrder);
    return true;
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
    if (challenge == nullptr) {
      std::string offered;
      for (const auto& c : authz->challenges) offered += (offered.empty() ? "" : ", ") + c.type;
      return fail(step::kAuthz,
                  Error::make(kErrorNoDeviceAttestChallenge,
                              "the authorization offers no device-attest-01 challenge (offers: " +
                                  (offered.empty() ? std::string("none") : offered) + ")"));
    }
    challenge_ = *challenge;
    result_.challenge_url = challenge_.url;
    result_.token = challenge_.token;
    result_.challenge_status = challenge_.status;
    completed(step::kAuthz);
    return true;
  }

  // A device that cannot attest ignores Attest, so device-attest-01 cannot be completed.
  bool check_can_attest() {
    if (!payload_.attests() || device_.supports_attestation()) return true;
    const std::string os =
        device_.identity().os_version.empty() ? "an unknown OS" : device_.identity().os_version;
    std::string why = kind_can_attest(device_.kind())
                          ? std::string("its OS is older than Managed Device Attestation")
                          : std::string("its hardware has no attestation support");
    return fail(step::kAttest,
                Error::make(kErrorDeviceCannotAttest,
                            std::string("device cannot attest: ") + to_string(device_.kind()) +
                                " running " + os + " (" + why +
                                "); it ignores Attest and cannot complete device-attest-01"));
  }

  // --- the certificate key -------------------------------------------------------------------

  bool key_exists(KeyHandle key, bool hardware_bound) const {
    return hardware_bound ? device_.secure_enclave().has_key(key)
                          : device_.software_keystore().has_key(key);
  }

  bool make_key() {
    const bool hw = payload_.is_hardware_bound();
    // Renewal (and reused_attestation, which replays an attestation of the earlier key):
    // keep the earlier key while it exists.
    if (options_.reuse_key || faults_.reused_attestation) {
      KeyHandle earlier;
      if (const KeychainIdentity* installed = keychain_.find(payload_uuid());
          installed != nullptr && installed->hardware_bound == hw) {
        earlier = installed->key;
      }
      if (faults_.reused_attestation) {
        if (const SentAttestation* sent = keychain_.last_attestation(payload_uuid()))
          earlier = sent->key;
      }
      if (earlier.valid() && key_exists(earlier, hw)) return use_key(earlier, hw);
      note("no earlier key for this payload: a new key was made");
    }

    const std::int64_t size = payload_.key_size.value_or(hw ? 384 : 256);
    pki::KeySpec spec = payload_.is_rsa() ? pki::KeySpec::rsa(static_cast<int>(size))
                                          : pki::KeySpec{pki::KeyKind::EC, static_cast<int>(size)};
    if (hw) {
      if (!device_.has_secure_enclave()) {
        return fail(step::kKey, Error::make(kErrorKeyUnavailable,
                                            std::string(to_string(device_.kind())) +
                                                " has no Secure Enclave for a HardwareBound key"));
      }
      auto key = device_.secure_enclave().generate_key(spec);
      if (!key) return fail(step::kKey, key.error());
      return use_key(*key, true);
    }
    auto key = device_.software_keystore().generate_key(spec);
    if (!key) return fail(step::kKey, key.error());
    return use_key(*key, false);
  }

  bool use_key(KeyHandle key, bool hardware_bound) {
    auto pub = hardware_bound ? device_.secure_enclave().public_key(key)
                              : device_.software_keystore().public_key(key);
    if (!pub) return fail(step::kKey, Error::make(kErrorKeyUnavailable, pub.error().detail));
    result_.key = key;
    result_.hardware_bound = hardware_bound;
    result_.public_key = std::move(*pub);
    completed(step::kKey);
    return true;
  }

  // --- the attestation and the challenge payload ------------------------------------------------

  // The chain to send for `attested_key`, answering `token` (genuine unless a leaf forgery
  // knob is on).
  Result<AttestationChain> attestation_chain(KeyHandle attested_key, const std::string& token) {
    const bool forged =
        faults_.rogue_root_chain || faults_.omit_freshness || faults_.expired_attestation;
    if (!forged) {
      auto attestation = attestation_.key_attestation(device_, attested_key, token);
      if (!attestation) return attestation.error();
      result_.attestation_from_cache = attestation->from_cache;
      return attestation->chain;
    }
    if (!options_.apple_ca) {
      return Error::make(client::kErrorClientUsage,
                         "faults rogue_root_chain, omit_freshness and expired_attestation need "
                         "EnrollOptions::apple_ca");
    }
    auto pub = device_.secure_enclave().public_key(attested_key);
    if (!pub) return pub.error();
    const std::int64_t t = now();
    // omit_freshness: the leaf has no freshness extension at all.
    // expired_attestation: the leaf's validity ended a day ago.
    // rogue_root_chain: the same leaf, issued by a CA that only copies Apple's names.
    LeafSpec spec = AppleCa::honest_leaf(*pub, device_.attested_facts(), freshness_code(token), t);
    if (faults_.omit_freshness) spec = forge::without_extension(std::move(spec), kOidFreshnessCode);
    if (faults_.expired_attestation) spec = forge::expired(std::move(spec), t);
    if (faults_.rogue_root_chain) {
      auto rogue = forge::rogue_ca(*options_.apple_ca, t);
      if (!rogue) return rogue.error();
      return rogue->issue_leaf(spec);
    }
    return options_.apple_ca->issue_leaf(spec);
  }

  // The attObj value for this challenge, with the attestation faults applied.
  Result<std::string> att_obj() {
    if (!payload_.attests()) return attestation_object_without_attestation_b64u();

    const SentAttestation* earlier = keychain_.last_attestation(payload_uuid());
    // reused_attestation: the attObj sent for the previous enrollment, byte for byte.
    if (faults_.reused_attestation) {
      if (earlier != nullptr && earlier->key == result_.key && earlier->token != result_.token) {
        return earlier->att_obj_b64u;
      }
      note(
          "reused_attestation: no earlier attestation of this key; sent one made for an "
          "earlier (made-up) challenge token instead");
    }

    // stale_token / reused_attestation fallback: answer an earlier challenge's token.
    std::string token = result_.token;
    if (faults_.stale_token || faults_.reused_attestation) {
      token = (earlier != nullptr && earlier->token != result_.token) ? earlier->token
                                                                      : random_token(32);
    }

    // wrong_key_attested: attest another Secure Enclave key; the CSR still carries ours.
    KeyHandle attested = result_.key;
    if (faults_.wrong_key_attested) {
      auto other = device_.secure_enclave().generate_key(result_.public_key->spec());
      if (!other) return other.error();
      attested = *other;
    }

    auto chain = attestation_chain(attested, token);
    if (!chain) return chain.error();

    AttestationObject object = apple_attestation_object(*chain);
    if (faults_.wrong_fmt) object.fmt = "android-key";  // "fmt" other than "apple"
    if (faults_.empty_x5c) object.x5c.clear();          // "attStmt": {"x5c": []}
    Bytes cbor = encode_attestation_object(object);
    if (faults_.malformed_cbor) cbor.resize(cbor.size() / 2);  // truncated CBOR
    return base64url_encode(cbor);
  }

  bool build_challenge_payload() {
    auto obj = att_obj();
    if (!obj) return fail(step::kAttest, obj.error());
    result_.att_obj = *obj;
    Json payload = {{"attObj", result_.att_obj}};
    // payload_error_field: the device also reports an error, as when Apple's attestation
    // failed.
    if (faults_.payload_error_field) {
      payload["error"] = "attestation failed: the attestation service returned an error";
    }
    // unknown_payload_fields: members the server must ignore.
    if (faults_.unknown_payload_fields) {
      payload["attestlabUnknownMember"] = "ignore me";
      payload["x-vendor-extension"] = Json{{"nested", Json::array({1, 2, 3})}, {"flag", true}};
    }
    result_.challenge_payload = payload;
    if (payload_.attests()) {
      keychain_.remember_attestation(
          payload_uuid(), SentAttestation{result_.token, result_.att_obj, result_.key, now()});
    }
    completed(step::kAttest);
    return true;
  }

  bool answer_challenge() {
    const Json& payload = result_.challenge_payload;
    if (faults_.replay_nonce || faults_.wrong_jws_url) {
      // replay_nonce: this request carries the nonce of the previous one (the authz fetch).
      // wrong_jws_url: its protected "url" names the authorization, not the challenge.
      client::RawPostOptions raw;
      raw.reuse_nonce = faults_.replay_nonce;
      if (faults_.wrong_jws_url) raw.header_url = result_.authz_url;
      auto response = client_.post_raw(result_.challenge_url, Json::object(), payload.dump(), raw);
      // A server that rejects valid nonces at random (Pebble) must not hide what
      // wrong_jws_url is about: retry badNonce like any client, except for the replay.
      for (int retry = 0; !faults_.replay_nonce && retry < options_.client.bad_nonce_retries &&
                          response && response->status == 400 && client_.last_problem() &&
                          client_.last_problem()->value("type", "") ==
                              std::string(client::kAcmeErrorPrefix) + "badNonce";
           ++retry) {
        response = client_.post_raw(result_.challenge_url, Json::object(), payload.dump(), raw);
      }
      if (!response) return fail(step::kChallenge, response.error());
      if (response->status >= 400) {
        if (client_.last_problem()) {
          return fail(step::kChallenge,
                      client::problem_to_error(*client_.last_problem(), response->status),
                      client_.last_problem());
        }
        return fail(step::kChallenge, Error::make(client::kErrorUnexpectedResponse,
                                                  "HTTP " + std::to_string(response->status) +
                                                      " without a problem document",
                                                  response->status));
      }
    } else {
      auto answered = client_.respond_challenge(result_.challenge_url, payload);
      if (!answered) return fail_from_server(step::kChallenge, answered.error());
      result_.challenge_status = answered->status;
    }

    auto authz = client_.poll_authz(result_.authz_url);
    if (!authz) return fail_from_server(step::kChallenge, authz.error());
    result_.authz_status = authz->status;
    const client::Challenge* challenge = authz->find("device-attest-01");
    if (challenge != nullptr) {
      result_.challenge_status = challenge->status;
      result_.challenge_error = challenge->error;
    }
    if (authz->status == "valid") {
      completed(step::kChallenge);
      return true;
    }
    if (result_.challenge_error && result_.challenge_error->is_object()) {
      const Json& doc = *result_.challenge_error;
      const int status = doc.contains("status") && doc["status"].is_number_integer()
                             ? doc["status"].get<int>()
                             : 0;
      return fail(step::kChallenge, client::problem_to_error(doc, status), doc);
    }
    return fail(step::kChallenge, Error::make(client::kErrorUnexpectedResponse,
                                              "the authorization is " + authz->status +
                                                  " and its challenge carries no error"));
  }

  // --- CSR, finalize, download, install -------------------------------------------------------

  bool build_csr() {
    pki::CsrSpec spec = device_csr_spec(payload_, result_.identifier);
    // other_device_identifier: the request names the other device throughout, so the
    // subject's ClientIdentifier (the usual CN) becomes the ordered identifier too.
    if (faults_.other_device_identifier) {
      for (auto& [name, value] : spec.subject)
        if (value == *payload_.client_identifier) value = result_.identifier;
    }
    // privacy_preserving_csr: no permanentIdentifier SAN at all (draft §3.2).
    // permanent_id_san_mismatch: a permanentIdentifier other than the order's.
    spec.sans.permanent_ids.clear();
    if (!faults_.privacy_preserving_csr) {
      spec.sans.permanent_ids.push_back({faults_.permanent_id_san_mismatch
                                             ? mismatching_identifier(result_.identifier)
                                             : result_.identifier,
                                         std::nullopt});
    }

    // csr_key_swapped: a software P-256 key signs (and is named in) the CSR.
    // rsa_csr: a software RSA-2048 key does.
    csr_key_ = result_.key;
    csr_key_hardware_bound_ = result_.hardware_bound;
    if (faults_.csr_key_swapped || faults_.rsa_csr) {
      auto swapped = device_.software_keystore().generate_key(
          faults_.rsa_csr ? pki::KeySpec::rsa(2048) : pki::KeySpec::p256());
      if (!swapped) return fail(step::kCsr, swapped.error());
      csr_key_ = *swapped;
      csr_key_hardware_bound_ = false;
    }
    auto csr = csr_key_hardware_bound_ ? device_.secure_enclave().sign_csr(csr_key_, spec)
                                       : device_.software_keystore().sign_csr(csr_key_, spec);
    if (!csr) return fail(step::kCsr, csr.error());
    result_.csr_der = csr->to_der();
    completed(step::kCsr);
    return true;
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
    completed(step::kFinalize);
    return true;
  }

  bool order_failed(const client::Order& order) {
    if (order.error && order.error->is_object()) {
      const Json& doc = *order.error;
      const int status = doc.contains("status") && doc["status"].is_number_integer()
                             ? doc["status"].get<int>()
                             : 0;
      return fail(step::kFinalize, client::problem_to_error(doc, status), doc);
    }
    return fail(step::kFinalize,
                Error::make(client::kErrorUnexpectedResponse,
                            "the order is " + order.status +
                                (order.certificate ? "" : " without a certificate URL")));
  }

  bool download() {
    auto chain = client_.download_certificate(result_.certificate_url);
    if (!chain) return fail_from_server(step::kDownload, chain.error());
    auto certs = pki::Certificate::bundle_from_pem(chain->pem);
    if (!certs) {
      return fail(step::kDownload,
                  Error::make(client::kErrorUnexpectedResponse,
                              "the certificate chain does not parse: " + certs.error().detail));
    }
    result_.certificate_chain_pem = chain->pem;
    result_.certificate = certs->front();
    completed(step::kDownload);
    return true;
  }

  bool install() {
    // The keychain pairs a certificate with the private key that matches it, or not at all.
    auto csr_pub = csr_key_hardware_bound_ ? device_.secure_enclave().public_key(csr_key_)
                                           : device_.software_keystore().public_key(csr_key_);
    if (!csr_pub || !result_.certificate->public_key().equals(*csr_pub)) {
      return fail(step::kInstall,
                  Error::make(client::kErrorUnexpectedResponse,
                              "the certificate's public key is not the key of the CSR"));
    }
    KeychainIdentity identity;
    identity.payload_uuid = payload_uuid();
    identity.payload_identifier = payload_.payload_identifier.value_or("");
    identity.key = csr_key_;
    identity.hardware_bound = csr_key_hardware_bound_;
    identity.extractable = !csr_key_hardware_bound_ && payload_.key_extractable();
    identity.all_apps_access = payload_.all_apps_access();
    identity.certificate_chain_pem = result_.certificate_chain_pem;
    identity.certificate = *result_.certificate;
    identity.directory_url = result_.directory_url;
    identity.account_url = result_.account_url;
    identity.account_key = result_.account_key;
    identity.installed_at = now();
    result_.replaced = keychain_.install(identity);
    result_.identity = std::move(identity);
    completed(step::kInstall);
    return true;
  }

  Device& device_;
  AttestationService& attestation_;
  DeviceKeychain& keychain_;
  const AcmePayload& payload_;
  const EnrollOptions& options_;
  const ClientFaults& faults_;
  std::shared_ptr<const Clock> clock_;
  client::AcmeClient client_;

  EnrollmentResult result_;
  client::Order order_;
  client::Challenge challenge_;
  KeyHandle csr_key_;
  bool csr_key_hardware_bound_ = false;
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
