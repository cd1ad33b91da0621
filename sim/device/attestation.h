// The WebAuthn-style attestation object of draft-ietf-acme-device-attest §5 in Apple's
// format: CBOR {"fmt": "apple", "attStmt": {"x5c": [leaf DER, intermediate DER]}} with
// the x5c entries as CBOR byte strings and no authData (docs/APPLE_FORMAT.md). The ACME
// challenge payload carries it as {"attObj": base64url(CBOR)}.
// Pure functions; thread-safe. Parsing never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/json.h"
#include "core/result.h"
#include "sim/device/apple_ca.h"

namespace attestlab::sim {

inline constexpr const char* kAppleFormat = "apple";

struct AttestationObject {
  std::string fmt = kAppleFormat;
  std::vector<Bytes> x5c;  // DER certificates, leaf first

  bool operator==(const AttestationObject&) const = default;
};

// The object as a Json value (x5c entries are Json binary values), for callers that
// want to tamper with it before encoding (client faults).
Json attestation_object_json(const AttestationObject& object);

// CBOR encoding, and base64url (no padding) of it: the "attObj" value.
Bytes encode_attestation_object(const AttestationObject& object);
std::string encode_attestation_object_b64u(const AttestationObject& object);

// Convenience: the Apple object for a chain.
AttestationObject apple_attestation_object(const AttestationChain& chain);
std::string apple_attobj_b64u(const AttestationChain& chain);

// Parses CBOR back. Requires a map with a text "fmt" and a map "attStmt" whose "x5c" is
// a non-empty array of byte strings; other members are ignored. Anything else,
// including undecodable CBOR, gives Error("badAttestationStatement", reason).
Result<AttestationObject> parse_attestation_object(const Bytes& cbor);
// base64url first; bad base64url gives Error("malformed").
Result<AttestationObject> parse_attestation_object_b64u(std::string_view text);

}  // namespace attestlab::sim
