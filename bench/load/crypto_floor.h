// The cryptographic floor of one enrollment: the CPU a server cannot avoid spending on it,
// from raw OpenSSL timings taken in the same run (bench/raw_openssl.h: keys decoded and
// digests fetched once, outside the timed loop; for the P-384 verifies the lower of
// OpenSSL's and Nettle's, bench/raw_nettle.h, which the server uses for P-384) times how
// many of each operation the flow needs at the least. Set beside the server's measured CPU
// per enrollment, it says how much of that CPU is crypto and how much is everything else
// (HTTP, JSON, store, logging).
//
// Counts are the minimum of the flow, polls left out (a target may answer a challenge or a
// finalize as decided at once):
//   plain    newAccount (unless pooled), newOrder, authz, challenge, finalize, certificate:
//            6 (5 pooled) ES256 JWS verifies; one P-256 CSR verify; one issuance signature
//   renewal  newOrder, authz (reused), finalize, certificate: 4 ES256; one P-256 CSR
//            verify; one issuance signature
//   device   6 ES256 (new account each); the attestation leaf's P-384 signature (Apple's
//   mix      intermediate, cached) ; one P-384 CSR verify (the Secure Enclave key); one
//            issuance signature
// The issuing CA signs with P-256 (server/acme/issuing_ca.cpp).
//
// Value types; measure_crypto_timings is thread-safe (its own keys).
#pragma once

#include <optional>
#include <string>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::load {

// Microseconds of CPU per operation.
struct CryptoTimings {
  double es256_verify_us = 0;      // ECDSA P-256 / SHA-256 verify of a JWS signing input
  double csr_p256_verify_us = 0;   // X509_REQ_verify of a P-256 CSR
  double issue_sign_us = 0;        // ECDSA P-256 / SHA-256 sign of a leaf's TBSCertificate
  double p384_leaf_verify_us = 0;  // ECDSA P-384 / SHA-384 verify of a leaf's TBSCertificate
  double csr_p384_verify_us = 0;   // the same of a P-384 CSR's CertificationRequestInfo
  int iterations = 0;              // per operation and batch (the best of 3 batches)
  bool operator==(const CryptoTimings&) const = default;
};

// How many of each operation one enrollment of a flow needs at the least.
struct CryptoCounts {
  int es256_verifies = 0;
  int csr_p256_verifies = 0;
  int issue_signs = 0;
  int p384_leaf_verifies = 0;
  int csr_p384_verifies = 0;
  bool operator==(const CryptoCounts&) const = default;
};

struct CryptoFloor {
  CryptoTimings timings;
  CryptoCounts counts;
  double per_enrollment_ms() const;  // sum of count × time
  Json to_json() const;              // {"per_enrollment_ms", "timings_us", "counts"}
  static Result<CryptoFloor> from_json(const Json& j);
  bool operator==(const CryptoFloor&) const = default;
};

// The counts for a flow ("plain" | "renewal" | "device" | "mix"); pooled_accounts: plain
// enrollments reuse accounts made before the clock. nullopt for an unknown flow.
std::optional<CryptoCounts> crypto_counts_for(const std::string& flow, bool pooled_accounts);

// Times each operation: `iterations` in a batch, on this thread's CPU clock, the best of
// three batches (the machine may be busy). Error("serverInternal") when OpenSSL fails.
Result<CryptoTimings> measure_crypto_timings(int iterations = 200);

}  // namespace attestlab::load
