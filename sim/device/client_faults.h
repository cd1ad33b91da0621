// Everything a simulated device (or its ACME client) can do wrong, as data: one knob a
// misbehaviour, each documented in one sentence (BoringSSL's ProtocolBugs idea).
// Scenarios and conformance cases switch knobs on by name (see client_fault_names()).
// All default to off: a default ClientFaults is a correct Apple device.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace attestlab::sim {

struct ClientFaults {
  // stale_token, if true, makes the device attest with the freshness of a token from an
  // earlier challenge instead of the current one (replayed/stale attestation).
  bool stale_token = false;
  // reused_attestation, if true, makes the device send the attestation object it sent
  // for its previous enrollment (same key, old freshness) instead of a new one.
  bool reused_attestation = false;
  // csr_key_swapped, if true, signs the CSR with a different (software) key than the
  // attested Secure Enclave key: an attacker hijacking the request for its own key.
  bool csr_key_swapped = false;
  // rogue_root_chain, if true, sends an attestation chained to a rogue root that copies
  // the mock Apple root's names but not its key.
  bool rogue_root_chain = false;
  // omit_freshness, if true, sends an attestation whose leaf has no freshness extension
  // (1.2.840.113635.100.8.11.1): step-ca accepts this; a correct server must not.
  bool omit_freshness = false;
  // other_device_identifier, if true, orders a certificate for another device's serial
  // while attesting as itself.
  bool other_device_identifier = false;
  // rsa_csr, if true, finalizes with an RSA-2048 CSR even though an EC key was attested.
  bool rsa_csr = false;
  // malformed_cbor, if true, sends an attObj whose CBOR is truncated.
  bool malformed_cbor = false;
  // wrong_fmt, if true, sends "fmt": "android-key" instead of "apple".
  bool wrong_fmt = false;
  // empty_x5c, if true, sends "attStmt": {"x5c": []}.
  bool empty_x5c = false;
  // payload_error_field, if true, adds {"error": "..."} to the challenge payload, as a
  // device does when it could not get an attestation.
  bool payload_error_field = false;
  // unknown_payload_fields, if true, adds unknown members to the challenge payload, which
  // the server MUST ignore (the enrollment must still succeed).
  bool unknown_payload_fields = false;
  // expired_attestation, if true, sends an attestation whose leaf validity has ended.
  bool expired_attestation = false;
  // wrong_key_attested, if true, sends an attestation for a different key than the one
  // the device uses for its CSR (attested key ≠ certificate key).
  bool wrong_key_attested = false;
  // permanent_id_san_mismatch, if true, puts a different value in the CSR's
  // permanentIdentifier SAN than the order's identifier.
  bool permanent_id_san_mismatch = false;
  // privacy_preserving_csr, if true, leaves the permanentIdentifier SAN out of the CSR
  // (allowed by the draft §3.2: MUST still succeed).
  bool privacy_preserving_csr = false;
  // replay_nonce, if true, reuses the JWS nonce of the previous request once.
  bool replay_nonce = false;
  // wrong_jws_url, if true, signs the challenge response with a `url` of another resource.
  bool wrong_jws_url = false;
};

// Names of every knob, in declaration order ("stale_token", ...).
const std::vector<std::string>& client_fault_names();
// Switches a knob on by name; unknown name → Error("malformed", "unknown client fault X").
Result<void> set_client_fault(ClientFaults& faults, const std::string& name, bool on = true);
// Names of the knobs that are on.
std::vector<std::string> enabled_client_faults(const ClientFaults& faults);

}  // namespace attestlab::sim
