// Forged attestations for tests, scenarios and conformance cases: each helper makes one
// thing a correct verifier must refuse. Leaf forgeries are pure edits of a LeafSpec, so
// they compose (an expired leaf without freshness is two calls) before
// AppleCa::issue_leaf() signs the result with the genuine intermediate:
//
//   LeafSpec spec = AppleCa::honest_leaf(key, facts, freshness_code(token), now);
//   spec = forge::without_extension(std::move(spec), kOidFreshnessCode);
//   Result<AttestationChain> chain = ca.issue_leaf(spec);
//
// Pure functions except where noted; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/pki.h"
#include "core/result.h"
#include "sim/device/apple_ca.h"

namespace attestlab::sim::forge {

// A different CA whose root and intermediate carry exactly the genuine CA's subject
// names (so a verifier that matches names instead of signatures is fooled), with fresh
// keys. Chains it issues must not verify against the genuine root.
Result<AppleCa> rogue_ca(const AppleCa& genuine, std::int64_t now);

// Validity from now - 8 days to now - 1 day: expired at `now`.
LeafSpec expired(LeafSpec spec, std::int64_t now);

// Validity from now + 1 day to now + 8 days: not yet valid at `now`.
LeafSpec not_yet_valid(LeafSpec spec, std::int64_t now);

// Drops the extension with this OID (no-op when absent).
LeafSpec without_extension(LeafSpec spec, const std::string& oid);

// Sets the raw value of the extension with this OID, adding it when absent (e.g. a wrong
// serial: with_extension_value(spec, kOidSerialNumber, to_bytes("OTHER"))).
LeafSpec with_extension_value(LeafSpec spec, const std::string& oid, Bytes value);

// Marks the extension with this OID critical (a verifier must not trip over, nor rely
// on, criticality of Apple's private extensions; used to probe robustness).
LeafSpec with_critical_extension(LeafSpec spec, const std::string& oid);

// The leaf certifies `other` instead of the key the device claims (its CSR / ACME key):
// the attested key and the certificate key then differ.
LeafSpec for_other_key(LeafSpec spec, pki::PublicKey other);

// Same, with a freshly generated P-384 key. Error("serverInternal") if generation fails.
Result<LeafSpec> for_fresh_key(LeafSpec spec);

}  // namespace attestlab::sim::forge
