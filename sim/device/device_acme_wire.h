// The few points where the bytes of a device's ACME enrollment (device_acme.h) depend on
// the wire knobs of ClientFaults, the way BoringSSL's test runner consults ProtocolBugs
// only where a message differs: the identifier ordered, the challenge payload, the
// challenge POST, the CSR's content and the key that signs it. The enrollment steps call
// these and otherwise follow the honest Apple flow; with default ClientFaults each returns
// what an Apple device sends. The attestation knobs belong to the attestation source
// (attestation_source.h).
//
// Internal to sim/device's enrollment. Threads: the caller's; nothing is kept.
#pragma once

#include <optional>
#include <string>

#include "client/acme_client.h"
#include "core/json.h"
#include "core/pki.h"
#include "core/result.h"
#include "sim/device/acme_payload.h"
#include "sim/device/client_faults.h"
#include "sim/device/device.h"
#include "sim/device/secure_enclave.h"

namespace attestlab::sim {

// The permanent-identifier value the device orders: the payload's ClientIdentifier, or
// with other_device_identifier `other` (empty: the ClientIdentifier with its last
// character changed, a well-formed serial of another device).
std::string ordered_identifier(const AcmePayload& payload, const ClientFaults& faults,
                               const std::string& other);

// {"attObj": att_obj}, plus with payload_error_field an "error" member (as a device whose
// attestation failed sends) and with unknown_payload_fields members a server must ignore.
Json challenge_payload(const std::string& att_obj, const ClientFaults& faults);

// How the challenge POST went: the challenge status the server answered (when the answer
// was parsed), or the error and the server's problem document.
struct ChallengeAnswer {
  std::optional<std::string> status;
  std::optional<Error> error;
  std::optional<Json> problem;
};

// POSTs `payload` to the challenge: AcmeClient::respond_challenge, or with replay_nonce
// (the nonce of the previous request, not retried on badNonce) / wrong_jws_url (the
// protected "url" names the authorization; badNonce retried bad_nonce_retries times) a
// raw POST whose answer is not parsed.
ChallengeAnswer post_challenge_answer(client::AcmeClient& client, const std::string& challenge_url,
                                      const std::string& authz_url, const Json& payload,
                                      const ClientFaults& faults, int bad_nonce_retries);

// A key in one of the device's key stores.
struct DeviceKey {
  KeyHandle handle;
  bool hardware_bound = false;  // in the Secure Enclave; else in the software keystore
};

// The CSR for the order's `identifier`: device_csr_spec(payload, identifier), with
// other_device_identifier naming `identifier` in the subject too (where it had the
// ClientIdentifier), privacy_preserving_csr leaving the permanentIdentifier SAN out and
// permanent_id_san_mismatch putting another value in it.
pki::CsrSpec csr_spec(const AcmePayload& payload, const std::string& identifier,
                      const ClientFaults& faults);

// The key that signs the CSR (and that the certificate will certify): the certificate key,
// or with csr_key_swapped a new software P-256 key, with rsa_csr a new software RSA-2048
// key. Errors: the key store's.
Result<DeviceKey> csr_signing_key(Device& device, DeviceKey certificate_key,
                                  const ClientFaults& faults);

}  // namespace attestlab::sim
