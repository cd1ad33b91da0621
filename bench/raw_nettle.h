// The raw Nettle P-384 ECDSA verify (libhogweed), the floor beside OpenSSL's for the two
// P-384 verifies of a device enrollment: the server checks those with Nettle
// (core/pki_p384.cpp) because OpenSSL 3.0 has no optimised P-384 arithmetic. As in
// raw_openssl.h, the key and the signature are decoded once, outside the timed loop; a
// verify is the digest and the curve arithmetic.
//
// Benchmark support only (bench/ is outside the layering). Thread-safe on distinct objects.
#pragma once

#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/bytes.h"
#include "core/ossl.h"
#include "core/pki.h"

namespace attestlab::bench {

class NettleP384Verifier {
 public:
  // key: a P-384 public key; der_signature: an ECDSA-Sig-Value. valid() is false when either
  // does not decode.
  NettleP384Verifier(const pki::PublicKey& key, const Bytes& der_signature) {
    ecc_point_init(&point_, nettle_get_secp_384r1());
    dsa_signature_init(&signature_);
    auto xy = key.ec_xy();
    const unsigned char* p = der_signature.data();
    ossl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_signature.size())));
    if (!xy || xy->first.size() != 48 || !sig) return;
    mpz_t x, y;
    mpz_init(x);
    mpz_init(y);
    mpz_import(x, 48, 1, 1, 1, 0, xy->first.data());
    mpz_import(y, 48, 1, 1, 1, 0, xy->second.data());
    const bool on_curve = ecc_point_set(&point_, x, y) == 1;
    mpz_clear(x);
    mpz_clear(y);
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    valid_ = on_curve && set(signature_.r, r) && set(signature_.s, s);
  }
  ~NettleP384Verifier() {
    ecc_point_clear(&point_);
    dsa_signature_clear(&signature_);
  }
  NettleP384Verifier(const NettleP384Verifier&) = delete;
  NettleP384Verifier& operator=(const NettleP384Verifier&) = delete;

  bool valid() const { return valid_; }
  // The digest of data with md, then ecdsa_verify: true when it verifies.
  bool verify(const EVP_MD* md, const Bytes& data) const {
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    return valid_ && EVP_Digest(data.data(), data.size(), hash, &length, md, nullptr) == 1 &&
           ecdsa_verify(&point_, length, hash, &signature_) == 1;
  }

 private:
  static bool set(mpz_t out, const BIGNUM* bn) {
    unsigned char bytes[48];
    if (BN_num_bytes(bn) > 48) return false;
    const int n = BN_bn2bin(bn, bytes);
    mpz_import(out, static_cast<std::size_t>(n), 1, 1, 1, 0, bytes);
    return true;
  }
  ecc_point point_;
  dsa_signature signature_;
  bool valid_ = false;
};

// A CSR's signed part (the CertificationRequestInfo DER as received) and its signature
// value: what X509_REQ_verify checks.
struct CsrSignedPart {
  Bytes info;
  Bytes signature;
};
inline CsrSignedPart signed_part_of(const pki::Csr& csr) {
  CsrSignedPart part;
  unsigned char* info = nullptr;
  const int length = i2d_re_X509_REQ_tbs(csr.get(), &info);
  if (length > 0) part.info.assign(info, info + length);
  OPENSSL_free(info);
  const ASN1_BIT_STRING* signature = nullptr;
  X509_REQ_get0_signature(csr.get(), &signature, nullptr);
  if (signature != nullptr) {
    const unsigned char* bytes = ASN1_STRING_get0_data(signature);
    part.signature.assign(bytes, bytes + ASN1_STRING_length(signature));
  }
  return part;
}

}  // namespace attestlab::bench
