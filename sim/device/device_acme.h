// The ACME client of a simulated Apple device: what iOS/macOS do when an ACMECertificate
// payload (sim/device/acme_payload.h) is installed, against any ACME server with
// device-attest-01 (draft-ietf-acme-device-attest, PROTOCOL.md §2–§4).
//
// The enrollment, step by step (each step's name is what EnrollmentResult::failed_step
// and EnrollOptions::after_step report):
//   payload   validate_as_device(payload); a refused payload makes no network request.
//   account   a new ACME account with its own software P-256 key (never the certificate key).
//   order     newOrder {"type": "permanent-identifier", "value": ClientIdentifier}.
//   authz     POST-as-GET the order's authorization; pick its device-attest-01 challenge
//             (none offered: kErrorNoDeviceAttestChallenge).
//   attest    a device that cannot attest (LegacyiPhone, IntelMac, an OS older than
//             min_attestation_os) ignores Attest and so cannot answer device-attest-01:
//             it stops here with kErrorDeviceCannotAttest ("device cannot attest: ...").
//   key       the certificate key: HardwareBound → a P-256/P-384 key (KeySize) in the
//             device's Secure Enclave (no enclave: kErrorKeyUnavailable), else a software
//             RSA/EC key. Made here, when it is first needed.
//   attest    Attest → the enrollment's attestation source (attestation_source.h) for
//             (key, token): normally Apple's answer, AttestationService::key_attestation,
//             freshness SHA-256(token), throttle and outage semantics as that header
//             documents (an outage fails this step with the service's error).
//             Without Attest the device still answers, with an attestation statement
//             that carries no attestation ({"fmt": "apple", "attStmt": {}}), as Apple
//             documents.
//   challenge POST {"attObj": base64url(CBOR)} to the challenge, poll the authorization
//             until it is no longer pending; not valid → the challenge's error.
//   csr       CSR from Subject, SubjectAltName, UsageFlags, ExtendedKeyUsage plus the
//             permanentIdentifier SAN (= the order's identifier), signed inside the key
//             store (SecureEnclave::sign_csr: the key never leaves it).
//   finalize  finalize, poll the order until valid.
//   download  the certificate chain (PEM, leaf first).
//   install   into the DeviceKeychain under PayloadUUID, replacing an earlier identity.
//
// Faults (sim/device/client_faults.h) are data, kept apart from the honest flow above:
//  - the attestation knobs (stale_token, reused_attestation, wrong_key_attested,
//    rogue_root_chain, omit_freshness, expired_attestation, wrong_fmt, empty_x5c,
//    malformed_cbor) choose the attestation source: a forger instead of Apple's answer
//    (sim/device/attestation_source.h). Leaf forgeries re-sign the leaf Apple would issue
//    with EnrollOptions::apple_ca, the CA behind the device's AttestationService, so
//    everything but the forged detail is genuine. reused_attestation also keeps the key
//    its replayed attestation certified, as a renewal keeps its key.
//  - the wire knobs (other_device_identifier, payload_error_field, unknown_payload_fields,
//    replay_nonce, wrong_jws_url, permanent_id_san_mismatch, privacy_preserving_csr,
//    csr_key_swapped, rsa_csr) are consulted only where the device's bytes differ: the
//    identifier ordered, the challenge payload, the challenge POST, the CSR's content and
//    its signing key (sim/device/device_acme_wire.h).
//
// Threads: enroll() blocks on network I/O and runs on the caller's thread; Device,
// AttestationService and DeviceKeychain must not be used elsewhere meanwhile.
// Errors are values: enroll() never throws and always returns a result.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "client/wire_log.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"
#include "sim/device/acme_payload.h"
#include "sim/device/apple_ca.h"
#include "sim/device/attestation_service.h"
#include "sim/device/client_faults.h"
#include "sim/device/device.h"
#include "sim/device/device_keychain.h"

namespace attestlab::sim {

// Step names (EnrollmentResult::failed_step, EnrollOptions::after_step).
namespace enroll_step {
inline constexpr const char* kPayload = "payload";
inline constexpr const char* kAccount = "account";
inline constexpr const char* kOrder = "order";
inline constexpr const char* kAuthz = "authz";
inline constexpr const char* kKey = "key";
inline constexpr const char* kAttest = "attest";
inline constexpr const char* kChallenge = "challenge";
inline constexpr const char* kCsr = "csr";
inline constexpr const char* kFinalize = "finalize";
inline constexpr const char* kDownload = "download";
inline constexpr const char* kInstall = "install";
}  // namespace enroll_step

// Error types the device produces itself (the server's refusals keep their ACME short
// names; see AcmeClient for transport and protocol errors).
inline constexpr const char* kErrorPayloadRefused = "payloadRefused";  // validate_as_device
inline constexpr const char* kErrorDeviceCannotAttest = "deviceCannotAttest";
inline constexpr const char* kErrorKeyUnavailable = "keyUnavailable";  // no enclave, key gone
inline constexpr const char* kErrorNoDeviceAttestChallenge = "noDeviceAttestChallenge";

struct EnrollOptions {
  // TLS trust for the ACME server (PEM file); overrides client.trust_ca_pem_file when set.
  std::string trust_ca_pem_file;
  // Everything else about the HTTP/ACME client (timeouts, poll pacing, test transport).
  client::AcmeClientOptions client;
  ClientFaults faults;
  client::WireLog* wire_log = nullptr;  // not owned; may be shared
  // Time for keychain records and leaf forgeries; nullptr = SystemClock. Use the clock of
  // the AppleAttestationServers so forged and genuine leaves agree.
  std::shared_ptr<const Clock> clock;
  // The mock Apple CA behind the device's AttestationService. Needed only by the knobs
  // that re-sign a leaf (rogue_root_chain, omit_freshness, expired_attestation); without
  // it they fail the attest step with kErrorClientUsage.
  std::shared_ptr<const AppleCa> apple_ca;
  // Renewal: keep the key of the payload's installed identity (when it still exists)
  // instead of making a new one. Needed to meet Apple's per-key attestation throttle.
  bool reuse_key = false;
  // Renewal per ACME Renewal Information (RFC 9773): when the keychain holds an identity
  // for this payload from the same directory and the directory advertises renewalInfo,
  // the device keeps that identity's ACME account, fetches the certificate's RenewalInfo
  // (EnrollmentResult::renewal_info) and orders with "replaces" = its CertID. Otherwise
  // the enrollment is the ordinary one.
  bool follow_ari = false;
  // The identifier other_device_identifier orders; empty = the ClientIdentifier with its
  // last character changed (syntactically valid, another device).
  std::string other_device_identifier;
  // External account binding for the device's new ACME account (RFC 8555 §7.3.4). Real
  // Apple devices have none; harnesses set it against targets that require EAB.
  std::optional<client::ExternalAccountBinding> eab;
  // Called after each step that completed (step names above), on the enrolling thread.
  // Tests use it to act between steps (restart the server after "challenge").
  std::function<void(const std::string& step)> after_step;
};

struct EnrollmentResult {
  bool ok() const { return !error.has_value(); }

  // Failure: the step that failed and why. error->type is the ACME short name when the
  // server refused (status = HTTP status of the refusal, or the problem's "status" for a
  // challenge that became invalid), else one of the kError* types above or AcmeClient's.
  std::string failed_step;
  std::optional<Error> error;
  std::optional<Json> problem;  // the server's whole problem document, when it sent one
  std::vector<PayloadProblem> payload_problems;  // validate_as_device (warnings too)

  // What happened on the wire.
  std::string directory_url, account_url, order_url, authz_url, challenge_url;
  std::string identifier;        // the permanent-identifier value ordered
  std::string token;             // the device-attest-01 token
  std::string challenge_status;  // last seen ("" = never seen); "pending" = unanswered
  std::optional<Json> challenge_error;
  std::string authz_status, order_status;
  std::string att_obj;                  // the attObj value sent ("" when none)
  Json challenge_payload;               // the whole challenge payload sent (null when none)
  bool attestation_from_cache = false;  // Apple answered from its throttle cache
  // follow_ari: the predecessor's RenewalInfo as the server answered it, and the CertID
  // the order named in "replaces" ("" when the enrollment was not an ARI renewal).
  std::optional<client::RenewalInfo> renewal_info;
  std::string replaces;
  Bytes csr_der;

  // The key.
  KeyHandle key;  // the certificate key (invalid before the key step)
  bool hardware_bound = false;
  std::optional<pki::PublicKey> public_key;
  std::shared_ptr<const client::JwsSigner> account_key;

  // Success.
  std::string certificate_url;
  std::string certificate_chain_pem;
  std::optional<pki::Certificate> certificate;
  std::optional<KeychainIdentity> identity;  // as installed
  std::optional<KeychainIdentity> replaced;  // the identity this one replaced, if any

  std::vector<std::string> faults;  // knobs that were on
  std::vector<std::string> notes;   // how a knob was applied when it needed a fallback

  // "ok" or "<step>: <type> (<status>): <detail>".
  std::string summary() const;
};

// Runs one enrollment of `device` for `payload` (see the file comment). attestation is
// the device's own service (one per device); keychain its keychain.
EnrollmentResult enroll(Device& device, AttestationService& attestation, DeviceKeychain& keychain,
                        const AcmePayload& payload, const EnrollOptions& options = {});

// The CSR content a device derives from a payload for `identifier` (no faults): Subject
// (multi-valued RDNs are flattened into consecutive RDNs), SubjectAltName,
// permanentIdentifier = identifier, KeyUsage from UsageFlags, ExtendedKeyUsage.
pki::CsrSpec device_csr_spec(const AcmePayload& payload, const std::string& identifier);

// The CBOR attestation object a device sends without an attestation (Attest false):
// {"fmt": "apple", "attStmt": {}}, base64url.
std::string attestation_object_without_attestation_b64u();

}  // namespace attestlab::sim
