// The device-attest-01 flow (draft-ietf-acme-device-attest §5, Apple format) driven
// directly with AcmeClient, the mock Apple CA and the forgery helpers, so each case can
// bend exactly one thing: the order identifier, the attestation object, the leaf, the
// challenge payload or the CSR. The device's Secure Enclave key is an in-memory key here
// (on the wire it is indistinguishable). Helpers end the case (CaseAbort) when a step the
// case does not test fails.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "conformance/context.h"
#include "core/json.h"
#include "core/pki.h"
#include "sim/device/apple_ca.h"
#include "sim/device/apple_format.h"

namespace attestlab::conformance {

inline constexpr const char* kDeviceAttest01 = "device-attest-01";
inline constexpr const char* kPermanentIdentifier = "permanent-identifier";

// An account, a newOrder for one device identifier and its device-attest-01 challenge.
struct DeviceOrder {
  std::unique_ptr<client::AcmeClient> client;
  client::Order order;
  client::Authorization authz;
  client::Challenge challenge;
};
DeviceOrder device_order(CaseContext& ctx, const std::string& identifier_value,
                         const std::string& label = "device");
// Same on an existing client (account already made).
DeviceOrder device_order_on(CaseContext& ctx, std::unique_ptr<client::AcmeClient> client,
                            const std::string& identifier_value);

// The facts the mock Apple CA attests for the case's device slot (its truth).
sim::DeviceFacts slot_facts(CaseContext& ctx, std::size_t slot);
// An attested key as a device makes it (P-384 unless spec says otherwise).
pki::PrivateKey device_key(pki::KeySpec spec = pki::KeySpec::p384());

// The honest leaf for key, facts and freshness SHA-256(token) (forgery helpers edit it).
sim::LeafSpec honest_leaf(CaseContext& ctx, const pki::PublicKey& key,
                          const sim::DeviceFacts& facts, const std::string& token);
sim::AttestationChain issue(CaseContext& ctx, const sim::LeafSpec& spec);
// {"attObj": base64url(CBOR {"fmt":"apple","attStmt":{"x5c":[...]}})}.
Json attobj_payload(const std::vector<Bytes>& x5c, const std::string& fmt = "apple");
Json attobj_payload(const sim::AttestationChain& chain);

// What happened to one challenge answer.
struct AttestOutcome {
  Result<http::Response> answer = Error::make("clientUsage", "not sent");  // the POST
  client::Challenge challenge;                                             // after settling
  client::Authorization authz;                                             // after settling
};
// POSTs payload to the challenge; when the target accepted the POST, polls until the
// challenge leaves pending/processing (in real time, bounded by the case deadline).
AttestOutcome submit(CaseContext& ctx, DeviceOrder& d, const Json& payload);

// Challenge and authorization valid.
Verdict expect_accepted(const AttestOutcome& o);
// The attestation did not validate anything: the POST was refused (4xx) or the challenge
// ended "invalid"; either way the authorization is not "valid".
Verdict expect_rejected(const AttestOutcome& o);
// The problem the target gave for a rejected attestation: the POST's problem document, or
// the challenge's "error"; nullopt when there is none.
std::optional<Json> rejection_problem(const AttestOutcome& o);

// The CSR a device asks for: subject CN = value, SAN permanentIdentifier = value (when
// set), extra dNSNames, digitalSignature + clientAuth.
pki::CsrSpec device_csr_spec(const std::optional<std::string>& permanent_id,
                             const std::vector<std::string>& dns_names = {});
pki::Csr device_csr(const pki::PrivateKey& key, const std::optional<std::string>& permanent_id,
                    const std::vector<std::string>& dns_names = {});

struct FinalizeOutcome {
  Result<http::Response> answer = Error::make("clientUsage", "not sent");
  client::Order order;  // settled
};
FinalizeOutcome finalize_device(CaseContext& ctx, DeviceOrder& d, const pki::Csr& csr);
// Refused at finalize (4xx) and nothing issued.
Verdict expect_not_issued(const FinalizeOutcome& f);

// The leaf of the certificate a valid order names, downloaded through the device's client.
// Aborts (error) when the download or the parse fails.
pki::Certificate issued_leaf(DeviceOrder& d, const client::Order& order);

// The whole honest enrollment of slot `slot` (identifier = serial unless given), with the
// key given; returns the issued leaf. Aborts (error) when any step fails.
struct Enrolled {
  DeviceOrder device;
  pki::Certificate leaf;
};
Enrolled enroll(CaseContext& ctx, std::size_t slot, const pki::PrivateKey& key,
                std::optional<std::string> identifier = std::nullopt);
// Same for a key that only signs (a Secure Enclave key): its public half and a CSR signer.
Enrolled enroll(CaseContext& ctx, std::size_t slot, const pki::PublicKey& attested,
                const std::function<pki::Csr(const pki::CsrSpec&)>& sign_csr,
                std::optional<std::string> identifier = std::nullopt);

}  // namespace attestlab::conformance
