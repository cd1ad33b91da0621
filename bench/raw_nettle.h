// The raw Nettle P-384 ECDSA verify (libhogweed), the floor beside OpenSSL's for the two
// P-384 verifies of a device enrollment: the server checks those with Nettle
// (core/pki_p384.cpp) because OpenSSL 3.0 has no optimised P-384 arithmetic. As in
// raw_openssl.h, the key and the signature are decoded once, outside the timed loop; a
// verify is the digest and the curve arithmetic.
//
// Benchmark support only (bench/ is outside the layering). Thread-safe on distinct objects.
#pragma once

#include <openssl/evp.h>

#include "core/bytes.h"
#include "core/pki.h"
#include "core/pki_p384.h"

namespace attestlab::bench {

class NettleP384Verifier {
 public:
  // key: a P-384 public key; der_signature: an ECDSA-Sig-Value. valid() is false when either
  // does not decode.
  NettleP384Verifier(const pki::PublicKey& key, const Bytes& der_signature)
      : point_(key.get()), signature_(der_signature) {}

  bool valid() const { return point_.valid() && signature_.valid(); }
  // The digest of data with md, then ecdsa_verify: true when it verifies.
  bool verify(const EVP_MD* md, const Bytes& data) const {
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    return EVP_Digest(data.data(), data.size(), hash, &length, md, nullptr) == 1 &&
           signature_.holds_for(point_, hash, length);
  }

 private:
  pki::detail::P384Point point_;
  pki::detail::P384Signature signature_;
};

}  // namespace attestlab::bench
