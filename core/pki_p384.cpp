// ECDSA verification on P-384 through GNU Nettle (libhogweed). OpenSSL 3.0 has no optimised
// P-384 arithmetic (its nistp384 code came in 3.2): a verify there costs ~0.6-0.9 ms on the
// machines attestlab is measured on, Nettle's ~0.3-0.4 ms. Every device enrollment makes two
// (the attestation leaf's signature by Apple's intermediate, the Secure Enclave key's CSR).
// Only the arithmetic moves: the digest is OpenSSL's, and the signature must be the DER
// encoding OpenSSL itself insists on (d2i then i2d gives back the same bytes).
#include "core/pki_p384.h"

#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <openssl/ec.h>

#include "core/pki_internal.h"

namespace attestlab::pki::detail {
namespace {

constexpr std::size_t kCoordinateBytes = 48;

// out = the big-endian unsigned integer in bytes[0, n).
void import(mpz_t out, const unsigned char* bytes, std::size_t n) {
  mpz_import(out, n, 1, 1, 1, 0, bytes);
}

// out = bn, when bn is non-negative and no longer than a P-384 coordinate.
bool import_scalar(mpz_t out, const BIGNUM* bn) {
  if (BN_is_negative(bn) || BN_num_bytes(bn) > static_cast<int>(kCoordinateBytes)) return false;
  unsigned char bytes[kCoordinateBytes];
  const int n = BN_bn2bin(bn, bytes);
  import(out, bytes, static_cast<std::size_t>(n));
  return true;
}

}  // namespace

P384Point::P384Point(EVP_PKEY* key) {
  ecc_point_init(&point_, nettle_get_secp_384r1());
  auto named = key != nullptr ? named_ec_point(key) : std::nullopt;
  if (!named || named->bits != 384 || named->point.size() != 1 + 2 * kCoordinateBytes) return;
  mpz_t x, y;
  mpz_init(x);
  mpz_init(y);
  import(x, named->point.data() + 1, kCoordinateBytes);
  import(y, named->point.data() + 1 + kCoordinateBytes, kCoordinateBytes);
  valid_ = ecc_point_set(&point_, x, y) == 1;
  mpz_clear(x);
  mpz_clear(y);
}

P384Point::~P384Point() {
  ecc_point_clear(&point_);
}

P384Signature::P384Signature(const Bytes& der) {
  dsa_signature_init(&signature_);
  const unsigned char* p = der.data();
  ossl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    ossl::last_error();
    return;
  }
  if (p != der.data() + der.size() ||
      i2d_bytes(i2d_ECDSA_SIG, static_cast<const ECDSA_SIG*>(sig.get())) != der)
    return;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  // Nettle refuses r, s outside [1, n-1]; a negative or overlong one is refused here.
  valid_ = import_scalar(signature_.r, r) && import_scalar(signature_.s, s);
}

P384Signature::~P384Signature() {
  dsa_signature_clear(&signature_);
}

bool P384Signature::holds_for(const P384Point& key, const unsigned char* digest,
                              std::size_t length) const {
  return valid_ && key.valid_ && ecdsa_verify(&key.point_, length, digest, &signature_) == 1;
}

std::optional<bool> p384_ecdsa_verify(EVP_PKEY* key, const Bytes& data, const Bytes& signature,
                                      Digest digest) {
  const EVP_MD* md = evp_digest(digest);
  if (md == nullptr) return std::nullopt;
  // Not a named P-384 key, or a point Nettle will not set although OpenSSL decoded it: the
  // verdict is OpenSSL's.
  const P384Point point(key);
  if (!point.valid()) return std::nullopt;
  const P384Signature parsed(signature);
  if (!parsed.valid()) return false;
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_len = 0;
  if (EVP_Digest(data.empty() ? hash : data.data(), data.size(), hash, &hash_len, md, nullptr) !=
      1) {
    ossl::last_error();
    return std::nullopt;
  }
  return parsed.holds_for(point, hash, hash_len);
}

}  // namespace attestlab::pki::detail
