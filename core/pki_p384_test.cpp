// Nettle's P-384 ECDSA verify (pki_p384.cpp) against OpenSSL's own verdict: every signature
// the two are shown must get the same answer from both.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "core/pki.h"
#include "core/pki_internal.h"

namespace attestlab::pki {
namespace {

// OpenSSL's verdict alone (what PublicKey::verify did before Nettle).
bool openssl_verify(const PublicKey& key, const Bytes& data, const Bytes& sig, Digest digest) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, detail::evp_digest(digest), nullptr, key.get()) != 1)
    return false;
  const unsigned char empty = 0;
  const bool good = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(),
                                     data.empty() ? &empty : data.data(), data.size()) == 1;
  ossl::last_error();
  return good;
}

// Both verdicts, which must agree; the shared one.
bool verdict(const PublicKey& key, const Bytes& data, const Bytes& sig, Digest digest) {
  const auto nettle = detail::p384_ecdsa_verify(key.get(), data, sig, digest);
  EXPECT_TRUE(nettle.has_value());
  const bool reference = openssl_verify(key, data, sig, digest);
  EXPECT_EQ(nettle.value_or(!reference), reference) << "digest " << static_cast<int>(digest);
  EXPECT_EQ(key.verify(data, sig, digest), reference);
  return reference;
}

Bytes der_signature(const BIGNUM* r, const BIGNUM* s) {
  ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
  ECDSA_SIG_set0(sig.get(), BN_dup(r), BN_dup(s));
  return detail::i2d_bytes(i2d_ECDSA_SIG, static_cast<const ECDSA_SIG*>(sig.get()));
}

struct Parts {
  ossl::BnPtr r, s;
};
Parts parts_of(const Bytes& der) {
  const unsigned char* p = der.data();
  ossl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return {ossl::BnPtr(BN_dup(r)), ossl::BnPtr(BN_dup(s))};
}

const BIGNUM* p384_order() {
  static EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_secp384r1);
  return EC_GROUP_get0_order(group);
}

TEST(P384Verify, GenuineSignaturesHoldAndAnyChangeBreaksThem) {
  for (int round = 0; round < 12; ++round) {
    auto key = PrivateKey::generate(KeySpec::p384());
    ASSERT_TRUE(key.ok());
    const PublicKey pub = key->public_key();
    for (Digest digest : {Digest::SHA256, Digest::SHA384, Digest::SHA512}) {
      Bytes data(static_cast<std::size_t>(round * 37), static_cast<std::uint8_t>(round));
      auto sig = key->sign(data, digest);
      ASSERT_TRUE(sig.ok());
      EXPECT_TRUE(verdict(pub, data, *sig, digest));
      Bytes other = data;
      other.push_back(1);
      EXPECT_FALSE(verdict(pub, other, *sig, digest));
      Bytes flipped = *sig;
      flipped[flipped.size() - 1 - static_cast<std::size_t>(round)] ^= 0x01;
      EXPECT_FALSE(verdict(pub, data, flipped, digest));
      // The digest is part of the signature: another one over the same data fails.
      EXPECT_FALSE(
          verdict(pub, data, *sig, digest == Digest::SHA384 ? Digest::SHA256 : Digest::SHA384));
    }
  }
}

TEST(P384Verify, AnotherKeysSignatureFails) {
  auto a = PrivateKey::generate(KeySpec::p384());
  auto b = PrivateKey::generate(KeySpec::p384());
  ASSERT_TRUE(a.ok() && b.ok());
  const Bytes data = {1, 2, 3};
  auto sig = a->sign(data, Digest::SHA384);
  ASSERT_TRUE(sig.ok());
  EXPECT_FALSE(verdict(b->public_key(), data, *sig, Digest::SHA384));
}

TEST(P384Verify, ScalarsOutsideOneToOrderMinusOneFailAsInOpenSsl) {
  auto key = PrivateKey::generate(KeySpec::p384());
  ASSERT_TRUE(key.ok());
  const PublicKey pub = key->public_key();
  const Bytes data = {'a', 'b', 'c'};
  auto sig = key->sign(data, Digest::SHA384);
  ASSERT_TRUE(sig.ok());
  Parts good = parts_of(*sig);
  ossl::BnPtr zero(BN_new()), n(BN_dup(p384_order())), n_plus_r(BN_new()),
      neg(BN_dup(good.r.get()));
  BN_zero(zero.get());
  BN_add(n_plus_r.get(), n.get(), good.r.get());
  BN_set_negative(neg.get(), 1);
  // s and n - s both verify (ECDSA has no low-s rule; OpenSSL accepts both).
  ossl::BnPtr high_s(BN_new());
  BN_sub(high_s.get(), n.get(), good.s.get());
  EXPECT_TRUE(verdict(pub, data, der_signature(good.r.get(), high_s.get()), Digest::SHA384));
  EXPECT_FALSE(verdict(pub, data, der_signature(zero.get(), good.s.get()), Digest::SHA384));
  EXPECT_FALSE(verdict(pub, data, der_signature(good.r.get(), zero.get()), Digest::SHA384));
  EXPECT_FALSE(verdict(pub, data, der_signature(n.get(), good.s.get()), Digest::SHA384));
  EXPECT_FALSE(verdict(pub, data, der_signature(good.r.get(), n.get()), Digest::SHA384));
  // r + n is r modulo n, but out of range: refused, not reduced.
  EXPECT_FALSE(verdict(pub, data, der_signature(n_plus_r.get(), good.s.get()), Digest::SHA384));
  EXPECT_FALSE(verdict(pub, data, der_signature(neg.get(), good.s.get()), Digest::SHA384));
}

TEST(P384Verify, OnlyTheExactDerEncodingVerifies) {
  auto key = PrivateKey::generate(KeySpec::p384());
  ASSERT_TRUE(key.ok());
  const PublicKey pub = key->public_key();
  const Bytes data = {'x'};
  auto sig = key->sign(data, Digest::SHA384);
  ASSERT_TRUE(sig.ok());
  ASSERT_TRUE(verdict(pub, data, *sig, Digest::SHA384));

  Bytes trailing = *sig;
  trailing.push_back(0);
  EXPECT_FALSE(verdict(pub, data, trailing, Digest::SHA384));
  EXPECT_FALSE(verdict(pub, data, Bytes(sig->begin(), sig->end() - 1), Digest::SHA384));
  EXPECT_FALSE(verdict(pub, data, {}, Digest::SHA384));
  // The raw r || s form (JWS) is not DER.
  auto raw = ecdsa_der_to_raw(*sig, 48);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(verdict(pub, data, *raw, Digest::SHA384));
  // The same SEQUENCE with a long-form length (0x81 nn where nn < 128 is not DER). A P-384
  // signature's SEQUENCE is at most 102 bytes, so its length is always in short form.
  ASSERT_LT((*sig)[1], 0x80);
  Bytes long_form = {0x30, 0x81, (*sig)[1]};
  long_form.insert(long_form.end(), sig->begin() + 2, sig->end());
  EXPECT_FALSE(verdict(pub, data, long_form, Digest::SHA384));
}

TEST(P384Verify, AnIntegerWithARedundantLeadingZeroFails) {
  auto key = PrivateKey::generate(KeySpec::p384());
  ASSERT_TRUE(key.ok());
  const PublicKey pub = key->public_key();
  const Bytes data = {'y'};
  // A signature whose r needs no sign byte (its top bit clear): about one in two.
  Bytes sig, r;
  for (int i = 0; i < 64 && (r.empty() || r[0] >= 0x80); ++i) {
    auto signed_data = key->sign(data, Digest::SHA384);
    ASSERT_TRUE(signed_data.ok());
    sig = *signed_data;
    Parts p = parts_of(sig);
    r.assign(static_cast<std::size_t>(BN_num_bytes(p.r.get())), 0);
    BN_bn2bin(p.r.get(), r.data());
  }
  ASSERT_TRUE(!r.empty() && r[0] < 0x80);
  ASSERT_TRUE(verdict(pub, data, sig, Digest::SHA384));
  const Bytes s(sig.begin() + 4 + sig[3], sig.end());  // s's INTEGER as it was
  Bytes body = {0x02, static_cast<std::uint8_t>(r.size() + 1), 0x00};
  body.insert(body.end(), r.begin(), r.end());
  body.insert(body.end(), s.begin(), s.end());
  ASSERT_LT(body.size(), 0x80u);
  Bytes padded = {0x30, static_cast<std::uint8_t>(body.size())};
  padded.insert(padded.end(), body.begin(), body.end());
  EXPECT_FALSE(verdict(pub, data, padded, Digest::SHA384));
}

TEST(P384Verify, OtherKeysAreLeftToOpenSsl) {
  const Bytes data = {1};
  for (KeySpec spec : {KeySpec::p256(), KeySpec::p521(), KeySpec::rsa(2048), KeySpec::ed25519()}) {
    auto key = PrivateKey::generate(spec);
    ASSERT_TRUE(key.ok());
    auto sig = key->sign(data, spec == KeySpec::ed25519() ? Digest::None : Digest::SHA384);
    ASSERT_TRUE(sig.ok());
    EXPECT_FALSE(
        detail::p384_ecdsa_verify(key->public_key().get(), data, *sig, Digest::SHA384).has_value());
    EXPECT_TRUE(key->public_key().verify(
        data, *sig, spec == KeySpec::ed25519() ? Digest::None : Digest::SHA384));
  }
  auto p384 = PrivateKey::generate(KeySpec::p384());
  ASSERT_TRUE(p384.ok());
  EXPECT_FALSE(
      detail::p384_ecdsa_verify(p384->public_key().get(), data, {}, Digest::None).has_value());
  EXPECT_FALSE(detail::p384_ecdsa_verify(nullptr, data, {}, Digest::SHA384).has_value());
}

}  // namespace
}  // namespace attestlab::pki
