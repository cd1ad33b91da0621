// ECDSA verification on P-384 through GNU Nettle (libhogweed), in its two parts: a public key
// and a signature decoded into Nettle's types once, then verifies of digests. Used by
// PublicKey::verify (p384_ecdsa_verify, pki_p384.cpp) and by the benchmarks' raw twin
// (bench/raw_nettle.h), which decodes once outside its timed loop. Not part of the public
// contract; thread-safe on distinct objects, a const P384Point may be shared.
#pragma once

#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/evp.h>

#include <cstddef>

#include "core/bytes.h"

namespace attestlab::pki::detail {

// A named P-384 key's public point as Nettle holds it. valid() is false for every other key,
// and for a point Nettle will not set (not on the curve).
class P384Point {
 public:
  explicit P384Point(EVP_PKEY* key);
  ~P384Point();
  P384Point(const P384Point&) = delete;
  P384Point& operator=(const P384Point&) = delete;
  bool valid() const { return valid_; }

 private:
  friend class P384Signature;
  ecc_point point_;
  bool valid_ = false;
};

// An ECDSA-Sig-Value decoded as strictly as OpenSSL's verify decodes it: DER that re-encodes
// to the same bytes, nothing after it, r and s no longer than the curve. valid() is false
// otherwise (a signature that cannot verify).
class P384Signature {
 public:
  explicit P384Signature(const Bytes& der);
  ~P384Signature();
  P384Signature(const P384Signature&) = delete;
  P384Signature& operator=(const P384Signature&) = delete;
  bool valid() const { return valid_; }
  // Whether it is key's signature over `digest` (a hash, taken as ECDSA takes it: its
  // leftmost bits up to the curve's size); false when either is not valid.
  bool holds_for(const P384Point& key, const unsigned char* digest, std::size_t length) const;

 private:
  dsa_signature signature_;
  bool valid_ = false;
};

}  // namespace attestlab::pki::detail
