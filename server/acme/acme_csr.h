// The finalize-time CSR policy (RFC 8555 §7.4, draft-ietf-acme-device-attest §3.2/§4.2).
// Pure function, thread-safe.
#pragma once

#include <vector>

#include "core/bytes.h"
#include "core/pki.h"
#include "core/result.h"
#include "server/store/model.h"

namespace attestlab::server {

struct CsrRequirements {
  std::vector<Identifier> identifiers;  // the order's
  pki::PublicKey account_key;           // the CSR key must differ from it
  // Device orders: DER SPKIs of the attested keys; the CSR key must equal each.
  std::vector<Bytes> attested_spkis;
};

// Parses and checks a finalize CSR:
//  - DER decodes and its self-signature verifies; no SHA-1/MD5 signature;
//  - key EC P-256/P-384 or RSA 2048–4096 bits; not the account key;
//  - dns and ip SANs are exactly the order's dns/ip identifiers (case-insensitive dns,
//    canonical ip); no other SAN kinds except device SANs;
//  - permanentIdentifier / hardwareModuleName SANs may be omitted but when present equal
//    an order identifier octet for octet (assigner and hwType included);
//  - a subject CN, if present, is one of the order's identifier values;
//  - for device orders the key equals the attested key.
// Every failure is Error("badCSR", detail).
Result<pki::Csr> check_finalize_csr(const Bytes& der, const CsrRequirements& requirements);

}  // namespace attestlab::server
