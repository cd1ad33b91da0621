// ECDSA verification on P-384 through GNU Nettle (libhogweed). OpenSSL 3.0 has no optimised
// P-384 arithmetic (its nistp384 code came in 3.2): a verify there costs ~0.6-0.9 ms on the
// machines attestlab is measured on, Nettle's ~0.3-0.4 ms. Every device enrollment makes two
// (the attestation leaf's signature by Apple's intermediate, the Secure Enclave key's CSR).
// Only the arithmetic moves: the digest is OpenSSL's, and the signature must be the DER
// encoding OpenSSL itself insists on (d2i then i2d gives back the same bytes).
#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "core/pki_internal.h"

namespace attestlab::pki::detail {
namespace {

// GMP integers that clear themselves.
struct Mpz {
  mpz_t v;
  Mpz() { mpz_init(v); }
  ~Mpz() { mpz_clear(v); }
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  void set(const unsigned char* bytes, std::size_t n) { mpz_import(v, n, 1, 1, 1, 0, bytes); }
};

void set_bn(Mpz& out, const BIGNUM* bn) {
  unsigned char buf[66] = {};
  const int n = BN_bn2bin(bn, buf);  // callers bound BN_num_bytes first
  out.set(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::optional<bool> p384_ecdsa_verify(EVP_PKEY* key, const Bytes& data, const Bytes& signature,
                                      Digest digest) {
  const EVP_MD* md = evp_digest(digest);
  if (key == nullptr || md == nullptr) return std::nullopt;
  auto named = named_ec_point(key);
  if (!named || named->bits != 384 || named->point.size() != 97) return std::nullopt;

  // The same strictness as OpenSSL's ECDSA verify: a DER ECDSA-Sig-Value and nothing after it.
  const unsigned char* p = signature.data();
  ossl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
  if (!sig) {
    ossl::last_error();
    return false;
  }
  if (p != signature.data() + signature.size() ||
      i2d_bytes(i2d_ECDSA_SIG, static_cast<const ECDSA_SIG*>(sig.get())) != signature)
    return false;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  // Nettle refuses r, s outside [1, n-1]; anything longer than the curve is refused here.
  if (BN_is_negative(r) || BN_is_negative(s) || BN_num_bytes(r) > 48 || BN_num_bytes(s) > 48)
    return false;

  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_len = 0;
  if (EVP_Digest(data.empty() ? hash : data.data(), data.size(), hash, &hash_len, md, nullptr) !=
      1) {
    ossl::last_error();
    return std::nullopt;
  }

  const ecc_curve* curve = nettle_get_secp_384r1();
  ecc_point point;
  ecc_point_init(&point, curve);
  Mpz x, y;
  x.set(named->point.data() + 1, 48);
  y.set(named->point.data() + 49, 48);
  const bool on_curve = ecc_point_set(&point, x.v, y.v) == 1;
  bool good = false;
  if (on_curve) {
    dsa_signature nsig;
    dsa_signature_init(&nsig);
    Mpz rr, ss;
    set_bn(rr, r);
    set_bn(ss, s);
    mpz_set(nsig.r, rr.v);
    mpz_set(nsig.s, ss.v);
    good = ecdsa_verify(&point, hash_len, hash, &nsig) == 1;
    dsa_signature_clear(&nsig);
  }
  ecc_point_clear(&point);
  if (!on_curve) return std::nullopt;  // OpenSSL decoded it: leave the verdict to OpenSSL
  return good;
}

}  // namespace attestlab::pki::detail
