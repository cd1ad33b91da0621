#include "core/pki.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "testing/odd_ec_keys.h"
#include "testing/openssl_spki.h"

namespace attestlab::pki {
namespace {

PrivateKey must_generate(KeySpec spec) {
  auto key = PrivateKey::generate(spec);
  EXPECT_TRUE(key.ok()) << (key.ok() ? "" : key.error().detail);
  return key.ok() ? *key : PrivateKey();
}

// ---- keys ----

class PkiKeySpecTest : public ::testing::TestWithParam<KeySpec> {};

TEST_P(PkiKeySpecTest, GeneratePemRoundTripSignVerify) {
  const KeySpec spec = GetParam();
  PrivateKey key = must_generate(spec);
  ASSERT_TRUE(key.valid());
  EXPECT_EQ(key.spec(), spec);
  EXPECT_EQ(key.public_key().spec(), spec);

  auto reloaded = PrivateKey::from_pem(key.to_pem());
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().detail;
  EXPECT_TRUE(reloaded->public_key().equals(key.public_key()));
  EXPECT_NE(key.to_pem().find("BEGIN PRIVATE KEY"), std::string::npos);

  auto pub = PublicKey::from_pem(key.public_key().to_pem());
  ASSERT_TRUE(pub.ok()) << pub.error().detail;
  EXPECT_TRUE(pub->equals(key.public_key()));
  auto from_der = PublicKey::from_spki_der(pub->spki_der());
  ASSERT_TRUE(from_der.ok());
  EXPECT_TRUE(from_der->equals(*pub));

  const Bytes message = to_bytes("attestlab signs this");
  const Digest digest = spec.kind == KeyKind::Ed25519 ? Digest::None : Digest::SHA256;
  auto sig = key.sign(message, digest);
  ASSERT_TRUE(sig.ok()) << sig.error().detail;
  EXPECT_TRUE(pub->verify(message, *sig, digest));
  EXPECT_FALSE(pub->verify(to_bytes("something else"), *sig, digest));
  Bytes tampered = *sig;
  tampered[tampered.size() / 2] ^= 0x01;
  EXPECT_FALSE(pub->verify(message, tampered, digest));

  PrivateKey other = must_generate(spec);
  EXPECT_FALSE(other.public_key().equals(key.public_key()));
  EXPECT_FALSE(other.public_key().verify(message, *sig, digest));
}

INSTANTIATE_TEST_SUITE_P(PkiAllSpecs, PkiKeySpecTest,
                         ::testing::Values(KeySpec::p256(), KeySpec::p384(), KeySpec::p521(),
                                           KeySpec::rsa(2048), KeySpec::ed25519()),
                         [](const auto& info) {
                           std::string n = info.param.name();
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(PkiKeys, SpecNames) {
  EXPECT_EQ(KeySpec::p256().name(), "P-256");
  EXPECT_EQ(KeySpec::p521().name(), "P-521");
  EXPECT_EQ(KeySpec::rsa(3072).name(), "RSA-3072");
  EXPECT_EQ(KeySpec::ed25519().name(), "Ed25519");
}

// Curves are judged by name: a 256-bit curve that is not P-256, or P-256 spelled out as
// explicit parameters, is no P-256 key.
TEST(PkiKeys, OtherCurvesAndExplicitParametersHaveNoSize) {
  for (const char* group : {"secp256k1", "brainpoolP256r1", "brainpoolP384r1"}) {
    SCOPED_TRACE(group);
    PrivateKey key = testing::odd_ec_key(group);
    ASSERT_TRUE(key.valid());
    EXPECT_EQ(key.spec().kind, KeyKind::EC);
    EXPECT_EQ(key.spec().bits, 0);
    EXPECT_EQ(key.public_key().spec().bits, 0);
    auto pub = PublicKey::from_pem(key.public_key().to_pem());
    ASSERT_TRUE(pub.ok());
    EXPECT_EQ(pub->spec().bits, 0);
    EXPECT_NE(pub->spec(), KeySpec::p256());
  }
  PrivateKey explicit_p256 = testing::odd_ec_key("P-256", /*explicit_params=*/true);
  ASSERT_TRUE(explicit_p256.valid());
  auto pub = PublicKey::from_pem(explicit_p256.public_key().to_pem());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->spec().bits, 0);
  EXPECT_EQ(explicit_p256.public_key().spec().bits, 0);
  EXPECT_EQ(must_generate(KeySpec::p256()).public_key().spec(), KeySpec::p256());
}

TEST(PkiKeys, UnsupportedSpecsAreErrors) {
  EXPECT_FALSE(PrivateKey::generate({KeyKind::EC, 192}).ok());
  EXPECT_FALSE(PrivateKey::generate(KeySpec::rsa(100)).ok());
}

TEST(PkiKeys, RsaPssAndPkcs1AreDistinct) {
  PrivateKey key = must_generate(KeySpec::rsa(2048));
  const Bytes msg = to_bytes("pss message");
  auto pss = key.sign(msg, Digest::SHA256, /*pss=*/true);
  ASSERT_TRUE(pss.ok()) << pss.error().detail;
  EXPECT_TRUE(key.public_key().verify(msg, *pss, Digest::SHA256, true));
  EXPECT_FALSE(key.public_key().verify(msg, *pss, Digest::SHA256, false));
  auto pss384 = key.sign(msg, Digest::SHA384, true);
  ASSERT_TRUE(pss384.ok());
  EXPECT_TRUE(key.public_key().verify(msg, *pss384, Digest::SHA384, true));
  EXPECT_FALSE(key.public_key().verify(msg, *pss384, Digest::SHA256, true));
  auto pkcs1 = key.sign(msg, Digest::SHA256);
  ASSERT_TRUE(pkcs1.ok());
  EXPECT_FALSE(key.public_key().verify(msg, *pkcs1, Digest::SHA256, true));
}

TEST(PkiKeys, PssWithEcKeyIsRefused) {
  PrivateKey key = must_generate(KeySpec::p256());
  EXPECT_FALSE(key.sign(to_bytes("x"), Digest::SHA256, true).ok());
  EXPECT_FALSE(key.sign(to_bytes("x"), Digest::None).ok());
}

TEST(PkiKeys, Ed25519IsPureEdDsa) {
  PrivateKey key = must_generate(KeySpec::ed25519());
  const Bytes msg = to_bytes("pure");
  auto sig = key.sign(msg, Digest::None);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(key.public_key().verify(msg, *sig, Digest::None));
  auto raw = key.public_key().raw_public();
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 32u);
  auto rebuilt = PublicKey::from_ed25519(*raw);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().detail;
  EXPECT_TRUE(rebuilt->equals(key.public_key()));
  EXPECT_TRUE(rebuilt->verify(msg, *sig, Digest::None));
  EXPECT_FALSE(PublicKey::from_ed25519(Bytes(31, 1)).ok());
}

TEST(PkiKeys, EcCoordinatesRoundTrip) {
  for (auto spec : {KeySpec::p256(), KeySpec::p384(), KeySpec::p521()}) {
    PrivateKey key = must_generate(spec);
    auto xy = key.public_key().ec_xy();
    ASSERT_TRUE(xy.ok()) << xy.error().detail;
    const std::size_t len = (spec.bits + 7) / 8;
    EXPECT_EQ(xy->first.size(), len);
    EXPECT_EQ(xy->second.size(), len);
    auto rebuilt = PublicKey::from_ec_xy(spec.bits, xy->first, xy->second);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().detail;
    EXPECT_TRUE(rebuilt->equals(key.public_key()));
    EXPECT_EQ(rebuilt->spec(), spec);
  }
}

// ec_xy reads a named, uncompressed key's encoded point; a key kept in compressed form is
// read through OpenSSL's coordinate parameters instead. Both give the padded coordinates
// (RFC 7518 §6.2.1.2: the full field length, leading zeros kept).
TEST(PkiKeys, EcCoordinatesAreTheSameThroughEitherReading) {
  // RFC 7515 A.3's P-256 key: x and y as the JWK gives them.
  const Bytes x = *base64url_decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
  const Bytes y = *base64url_decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  auto key = PublicKey::from_ec_xy(256, x, y);
  ASSERT_TRUE(key.ok()) << key.error().detail;
  auto xy = key->ec_xy();
  ASSERT_TRUE(xy.ok());
  EXPECT_EQ(xy->first, x);
  EXPECT_EQ(xy->second, y);

  for (auto spec : {KeySpec::p256(), KeySpec::p384(), KeySpec::p521()}) {
    // A compressed SubjectPublicKeyInfo of the same key: OpenSSL keeps the compressed form.
    Bytes spki = must_generate(spec).public_key().spki_der();
    auto plain = PublicKey::from_spki_der(spki);
    ASSERT_TRUE(plain.ok());
    auto expected = plain->ec_xy();
    ASSERT_TRUE(expected.ok());
    EVP_PKEY* raw = plain->get();
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(raw, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
              1);
    const Bytes compressed = plain->spki_der();
    ASSERT_LT(compressed.size(), spki.size()) << spec.name();
    auto from_compressed = PublicKey::from_spki_der(compressed);
    ASSERT_TRUE(from_compressed.ok());
    auto read = from_compressed->ec_xy();
    ASSERT_TRUE(read.ok()) << read.error().detail;
    EXPECT_EQ(*read, *expected) << spec.name();
    EXPECT_EQ(read->first.size(), static_cast<std::size_t>((spec.bits + 7) / 8));
  }
}

TEST(PkiKeys, EcPointOffTheCurveIsRefused) {
  PrivateKey key = must_generate(KeySpec::p256());
  auto xy = key.public_key().ec_xy();
  ASSERT_TRUE(xy.ok());
  Bytes y = xy->second;
  y.back() ^= 0x01;
  auto bad = PublicKey::from_ec_xy(256, xy->first, y);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().type, "malformed");
  EXPECT_FALSE(PublicKey::from_ec_xy(256, Bytes(31, 1), xy->second).ok());
  EXPECT_FALSE(PublicKey::from_ec_xy(255, xy->first, xy->second).ok());
}

// from_spki_der builds the three canonical named-curve shapes from their point and hands
// everything else to OpenSSL's decoder: both paths must accept and refuse the same inputs.
TEST(PkiKeys, SpkiFastPathAgreesWithOpenSslDecoding) {
  auto openssl_decodes = [](const Bytes& der) {
    const unsigned char* p = der.data();
    ossl::PKey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    ERR_clear_error();
    return key != nullptr && p == der.data() + der.size();
  };
  for (auto spec : {KeySpec::p256(), KeySpec::p384(), KeySpec::p521()}) {
    SCOPED_TRACE(spec.name());
    PrivateKey key = must_generate(spec);
    const Bytes der = key.public_key().spki_der();
    auto parsed = PublicKey::from_spki_der(der);
    ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
    EXPECT_TRUE(parsed->equals(key.public_key()));
    EXPECT_EQ(parsed->spki_der(), der);

    // The point's last byte flipped: off the curve, refused by both paths.
    Bytes off = der;
    off.back() ^= 0x01;
    EXPECT_FALSE(PublicKey::from_spki_der(off).ok());
    EXPECT_FALSE(openssl_decodes(off));
    // Coordinates past the field prime (all bits set): refused by both paths.
    Bytes huge = der;
    std::fill(huge.end() - (2 * ((spec.bits + 7) / 8)), huge.end(), 0xff);
    EXPECT_FALSE(PublicKey::from_spki_der(huge).ok());
    EXPECT_FALSE(openssl_decodes(huge));
    // A compressed point (0x02/0x03 || x) is not the fast path's shape: OpenSSL decodes it.
    ossl::PKey copy(EVP_PKEY_dup(key.public_key().get()));
    ASSERT_TRUE(copy);
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             "compressed"),
              1);
    const Bytes compressed = PublicKey(std::move(copy)).spki_der();
    ASSERT_LT(compressed.size(), der.size());
    auto from_compressed = PublicKey::from_spki_der(compressed);
    ASSERT_TRUE(from_compressed.ok()) << from_compressed.error().detail;
    EXPECT_TRUE(from_compressed->equals(key.public_key()));
    // Trailing bytes and truncations are refused.
    Bytes longer = der;
    longer.push_back(0);
    EXPECT_FALSE(PublicKey::from_spki_der(longer).ok());
    EXPECT_FALSE(PublicKey::from_spki_der(Bytes(der.begin(), der.end() - 1)).ok());
  }
}

// PrivateKey::public_key and PublicKey::spki_der take a named-curve key's point as a provider
// parameter instead of OpenSSL's encoder and decoder: the same key and the same bytes as
// OpenSSL writes, no private part; a key kept in compressed form, RSA and Ed25519 keys take
// OpenSSL's own path and still agree with it.
TEST(PkiKeys, PublicHalfWithoutEncodersAgreesWithOpenSsl) {
  auto check = [&](const PrivateKey& key, std::size_t expected_size) {
    const Bytes expected = testing::openssl_spki(key.get());
    ASSERT_EQ(expected.size(), expected_size);
    const PublicKey pub = key.public_key();
    ASSERT_TRUE(pub.valid());
    EXPECT_EQ(pub.spki_der(), expected);
    EXPECT_EQ(testing::openssl_spki(pub.get()), expected);
    const unsigned char* p = expected.data();
    ossl::PKey decoded(d2i_PUBKEY(nullptr, &p, static_cast<long>(expected.size())));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(EVP_PKEY_eq(pub.get(), decoded.get()), 1);
    BIGNUM* priv = nullptr;
    EXPECT_NE(EVP_PKEY_get_bn_param(pub.get(), OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
    BN_free(priv);
    ERR_clear_error();
    const Bytes message = {'a', 'b', 'c'};
    auto signature = key.sign(message, Digest::SHA256, false);
    ASSERT_TRUE(signature.ok()) << signature.error().detail;
    EXPECT_TRUE(pub.verify(message, *signature, Digest::SHA256, false));
  };
  struct Named {
    KeySpec spec;
    std::size_t size, compressed_size;
  };
  for (const auto& [spec, size, compressed_size] :
       {Named{KeySpec::p256(), 91, 59}, Named{KeySpec::p384(), 120, 72},
        Named{KeySpec::p521(), 158, 90}}) {
    SCOPED_TRACE(spec.name());
    const PrivateKey key = must_generate(spec);
    check(key, size);
    // The same key told to encode its point compressed: OpenSSL's path, OpenSSL's bytes.
    ossl::PKey copy(EVP_PKEY_dup(key.get()));
    ASSERT_TRUE(copy);
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             "compressed"),
              1);
    check(PrivateKey(std::move(copy)), compressed_size);
  }
  check(must_generate(KeySpec::rsa(2048)), 294);
  check(must_generate(KeySpec::ed25519()), 44);
}

// The fast path copies one per-curve template key: threads building keys at once each get
// their own, equal to the original (run under TSan in CI).
TEST(PkiKeys, SpkiFastPathIsSafeAcrossThreads) {
  std::vector<PrivateKey> keys;
  for (auto spec : {KeySpec::p256(), KeySpec::p384()}) keys.push_back(must_generate(spec));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&keys, &mismatches] {
      for (int i = 0; i < 50; ++i) {
        for (const auto& key : keys) {
          auto parsed = PublicKey::from_spki_der(key.public_key().spki_der());
          if (!parsed.ok() || !parsed->equals(key.public_key())) ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// spec() is read from OpenSSL once per key and kept: copies keep it, a moved-from key has
// none, and every kind of key answers the same the first time and after.
TEST(PkiKeys, SpecIsKeptWithTheKeyAndGoesWithAMove) {
  for (auto made : {KeySpec::p256(), KeySpec::p384(), KeySpec::rsa(2048), KeySpec::ed25519()}) {
    SCOPED_TRACE(made.name());
    PublicKey key = must_generate(made).public_key();
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(key.spec().kind, made.kind);
      EXPECT_EQ(key.spec().bits, made.bits);
    }
    PublicKey copy = key;
    EXPECT_EQ(copy.spec().bits, made.bits);
    PublicKey moved = std::move(copy);
    EXPECT_EQ(moved.spec().kind, made.kind);
    EXPECT_EQ(moved.spec().bits, made.bits);
    EXPECT_FALSE(copy.valid());  // NOLINT(bugprone-use-after-move): the moved-from state
    EXPECT_EQ(copy.spec().name(), KeySpec().name());  // what a key-less PublicKey answers
    copy = moved;
    EXPECT_EQ(copy.spec().bits, made.bits);
  }
  EXPECT_EQ(PublicKey().spec().name(), KeySpec().name());
}

TEST(PkiKeys, RsaModulusExponentRoundTrip) {
  PrivateKey key = must_generate(KeySpec::rsa(2048));
  auto ne = key.public_key().rsa_ne();
  ASSERT_TRUE(ne.ok()) << ne.error().detail;
  EXPECT_EQ(ne->first.size(), 256u);
  EXPECT_EQ(ne->second, (Bytes{0x01, 0x00, 0x01}));
  auto rebuilt = PublicKey::from_rsa_ne(ne->first, ne->second);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().detail;
  EXPECT_TRUE(rebuilt->equals(key.public_key()));
  EXPECT_FALSE(key.public_key().ec_xy().ok());
  EXPECT_FALSE(key.public_key().raw_public().ok());
}

TEST(PkiKeys, EcdsaDerRawRoundTrip) {
  for (auto spec : {KeySpec::p256(), KeySpec::p384(), KeySpec::p521()}) {
    PrivateKey key = must_generate(spec);
    const std::size_t coord = (spec.bits + 7) / 8;
    const Digest digest = spec.bits == 256 ? Digest::SHA256 : Digest::SHA384;
    for (int i = 0; i < 8; ++i) {  // several signatures so short r/s values get exercised
      const Bytes msg = to_bytes("msg " + std::to_string(i));
      auto der = key.sign(msg, digest);
      ASSERT_TRUE(der.ok());
      auto raw = ecdsa_der_to_raw(*der, coord);
      ASSERT_TRUE(raw.ok()) << raw.error().detail;
      EXPECT_EQ(raw->size(), 2 * coord);
      auto back = ecdsa_raw_to_der(*raw);
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(*back, *der);
      EXPECT_TRUE(key.public_key().verify(msg, *back, digest));
    }
  }
  EXPECT_FALSE(ecdsa_der_to_raw(to_bytes("not der"), 32).ok());
  EXPECT_FALSE(ecdsa_raw_to_der(Bytes(63, 1)).ok());
  EXPECT_FALSE(ecdsa_raw_to_der(Bytes{}).ok());
}

// ecdsa_raw_to_der writes what i2d_ECDSA_SIG writes for the same r and s: zero, leading
// zero octets, the high bit set (a 0x00 goes first), every length up to P-521's (whose
// SEQUENCE needs a two-octet length).
TEST(PkiKeys, RawToDerIsOpenSslsEncoding) {
  auto openssl_der = [](const Bytes& raw) {
    const int half = static_cast<int>(raw.size() / 2);
    ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
    BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
    EXPECT_EQ(ECDSA_SIG_set0(sig.get(), r, s), 1);
    unsigned char* out = nullptr;
    const int len = i2d_ECDSA_SIG(sig.get(), &out);
    Bytes der(out, out + std::max(len, 0));
    OPENSSL_free(out);
    return der;
  };
  std::size_t checked = 0;
  for (std::size_t half : {1u, 2u, 31u, 32u, 48u, 63u, 64u, 66u}) {
    std::vector<Bytes> parts = {Bytes(half, 0x00), Bytes(half, 0xff), Bytes(half, 0x7f),
                                Bytes(half, 0x01)};
    Bytes leading(half, 0x00);
    leading.back() = 0x80;
    parts.push_back(leading);
    Bytes low_then_high(half, 0x00);
    low_then_high[half / 2] = 0x81;
    parts.push_back(low_then_high);
    for (const Bytes& r : parts) {
      for (const Bytes& s : parts) {
        Bytes raw = r;
        raw.insert(raw.end(), s.begin(), s.end());
        auto der = ecdsa_raw_to_der(raw);
        ASSERT_TRUE(der.ok()) << half;
        EXPECT_EQ(*der, openssl_der(raw)) << half << " " << hex_encode(raw);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 8u * 36u);
  EXPECT_FALSE(ecdsa_raw_to_der(Bytes(134, 1)).ok());
}

TEST(PkiKeys, ShortComponentsArePaddedAndTooLongRefused) {
  // r = 1, s = 2: SEQUENCE { INTEGER 1, INTEGER 2 }
  const Bytes der = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
  auto raw = ecdsa_der_to_raw(der, 32);
  ASSERT_TRUE(raw.ok());
  Bytes expected(64, 0);
  expected[31] = 1;
  expected[63] = 2;
  EXPECT_EQ(*raw, expected);
  auto big = ecdsa_raw_to_der(Bytes(96, 0xff));
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(ecdsa_der_to_raw(*big, 32).ok());
  // trailing garbage after the SEQUENCE
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(ecdsa_der_to_raw(trailing, 32).ok());
}

TEST(PkiKeys, GarbageKeyInputIsAnError) {
  EXPECT_FALSE(
      PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  EXPECT_FALSE(PublicKey::from_spki_der(to_bytes("garbage")).ok());
  EXPECT_FALSE(PublicKey::from_spki_der({}).ok());
  EXPECT_FALSE(PrivateKey::from_pem("nope").ok());
  PublicKey empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_FALSE(empty.verify(to_bytes("x"), to_bytes("y"), Digest::SHA256));
  EXPECT_TRUE(empty.spki_der().empty());
}

// ECDSA verifications reuse a context kept on the key (PublicKey::verify): a failed one
// leaves it usable, concurrent callers each get their own, and a key that is assigned
// another key (by copy or move) verifies with the new key only.
TEST(PkiKeys, KeptVerifyContextsFollowTheKey) {
  const Bytes message = to_bytes("kept context");
  for (auto spec : {KeySpec::p256(), KeySpec::p521()}) {
    SCOPED_TRACE(spec.name());
    const PrivateKey first = must_generate(spec);
    const PrivateKey second = must_generate(spec);
    const Digest digest = spec.bits == 521 ? Digest::SHA512 : Digest::SHA256;
    auto good = first.sign(message, digest);
    auto other = second.sign(message, digest);
    ASSERT_TRUE(good.ok() && other.ok());
    Bytes tampered = *good;
    tampered[tampered.size() - 1] ^= 1;

    PublicKey key = first.public_key();
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(key.verify(message, *good, digest)) << i;
      EXPECT_FALSE(key.verify(message, tampered, digest)) << i;
      EXPECT_FALSE(key.verify(message, to_bytes("not DER"), digest)) << i;
      EXPECT_FALSE(key.verify(to_bytes("another message"), *good, digest)) << i;
      EXPECT_FALSE(key.verify(message, *other, digest)) << i;
    }

    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 40; ++i) {
          const bool expect_good = (i + t) % 3 != 0;
          if (key.verify(message, expect_good ? *good : tampered, digest) != expect_good) ++wrong;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);

    const PublicKey second_key = second.public_key();
    key = second_key;  // copy-assigned: the first key's contexts must not remain
    EXPECT_TRUE(key.verify(message, *other, digest));
    EXPECT_FALSE(key.verify(message, *good, digest));
    key = first.public_key();  // move-assigned: back to the first
    EXPECT_TRUE(key.verify(message, *good, digest));
    EXPECT_FALSE(key.verify(message, *other, digest));
  }
}

// The same for signing (PrivateKey::sign): repeated and concurrent signatures all verify
// (each with a fresh ECDSA nonce: no two alike), and an assigned key signs as the new key.
TEST(PkiKeys, KeptSignContextsFollowTheKey) {
  const Bytes message = to_bytes("kept signing context");
  for (auto spec : {KeySpec::p256(), KeySpec::p521()}) {
    SCOPED_TRACE(spec.name());
    const Digest digest = spec.bits == 521 ? Digest::SHA512 : Digest::SHA256;
    PrivateKey key = must_generate(spec);
    const PrivateKey other = must_generate(spec);
    const PublicKey key_pub = key.public_key(), other_pub = other.public_key();

    std::vector<Bytes> sigs(6 * 20);
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 20; ++i) {
          auto sig = key.sign(message, digest);
          if (sig.ok()) sigs[static_cast<std::size_t>(t * 20 + i)] = std::move(*sig);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& sig : sigs) EXPECT_TRUE(key_pub.verify(message, sig, digest));
    std::sort(sigs.begin(), sigs.end());
    EXPECT_EQ(std::adjacent_find(sigs.begin(), sigs.end()), sigs.end());

    key = other;  // copy-assigned
    auto copied = key.sign(message, digest);
    ASSERT_TRUE(copied.ok());
    EXPECT_TRUE(other_pub.verify(message, *copied, digest));
    EXPECT_FALSE(key_pub.verify(message, *copied, digest));
    key = must_generate(spec);  // move-assigned
    auto moved = key.sign(message, digest);
    ASSERT_TRUE(moved.ok());
    EXPECT_TRUE(key.public_key().verify(message, *moved, digest));
    EXPECT_FALSE(other_pub.verify(message, *moved, digest));
  }
}

TEST(PkiKeys, CopiesShareTheKey) {
  PrivateKey key = must_generate(KeySpec::p256());
  PrivateKey copy = key;
  PublicKey pub = key.public_key();
  PublicKey pub_copy;
  pub_copy = pub;
  EXPECT_TRUE(copy.public_key().equals(pub_copy));
  auto sig = copy.sign(to_bytes("m"), Digest::SHA256);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(pub_copy.verify(to_bytes("m"), *sig, Digest::SHA256));
}

}  // namespace
}  // namespace attestlab::pki
