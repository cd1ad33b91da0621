// JWS signing through JwsSigner: every account key type, sign-only keys (as the Secure
// Enclave exposes them) and the algorithms a signer must refuse.
#include "client/acme_signer.h"

#include <gtest/gtest.h>

#include "core/jose.h"

namespace attestlab::client {
namespace {

std::string describe(const Error& e) {
  return e.type + " (" + std::to_string(e.status) + "): " + e.detail;
}

struct KeyCase {
  pki::KeySpec spec;
  std::string forced_alg;
  std::string expected_alg;
};

class AcmeSignerKeys : public ::testing::TestWithParam<KeyCase> {};

TEST_P(AcmeSignerKeys, SignedJwsVerifiesWithJose) {
  auto key = pki::PrivateKey::generate(GetParam().spec);
  ASSERT_TRUE(key.ok()) << describe(key.error());
  PrivateKeySigner signer(*key, GetParam().forced_alg);
  EXPECT_EQ(signer.alg(), GetParam().expected_alg);
  // The JWK and thumbprint (read off an EC key's point) are those of the key's public half.
  const jose::Jwk public_jwk(key->public_key());
  EXPECT_EQ(signer.jwk(), public_jwk.to_json());
  auto thumbprint = jwk_thumbprint(signer.jwk());
  ASSERT_TRUE(thumbprint.ok());
  EXPECT_EQ(*thumbprint, public_jwk.thumbprint());
  auto own = signer.thumbprint();
  ASSERT_TRUE(own.ok()) << describe(own.error());
  EXPECT_EQ(*own, public_jwk.thumbprint());

  const Json header = {{"alg", signer.alg()}, {"nonce", "n"}, {"url", "https://x/"}};
  auto parts = sign_jws(header, R"({"a":1})", signer);
  ASSERT_TRUE(parts.ok()) << describe(parts.error());
  auto jws = jose::parse_flattened(parts->to_json());
  ASSERT_TRUE(jws.ok()) << describe(jws.error());
  EXPECT_EQ(jws->alg(), GetParam().expected_alg);
  EXPECT_EQ(to_string(jws->payload), R"({"a":1})");
  auto verified = jose::verify(*jws, key->public_key());
  EXPECT_TRUE(verified.ok()) << describe(verified.error());

  // The same JWS with one signature bit flipped must not verify.
  jws->signature[jws->signature.size() / 2] ^= 0x01;
  EXPECT_FALSE(jose::verify(*jws, key->public_key()).ok());
}

INSTANTIATE_TEST_SUITE_P(AllAccountKeyTypes, AcmeSignerKeys,
                         ::testing::Values(KeyCase{pki::KeySpec::p256(), "", "ES256"},
                                           KeyCase{pki::KeySpec::p384(), "", "ES384"},
                                           KeyCase{pki::KeySpec::p521(), "", "ES512"},
                                           KeyCase{pki::KeySpec::rsa(2048), "", "RS256"},
                                           KeyCase{pki::KeySpec::rsa(2048), "PS256", "PS256"},
                                           KeyCase{pki::KeySpec::ed25519(), "", "EdDSA"}),
                         [](const auto& info) {
                           std::string name =
                               info.param.spec.name() + "_" + info.param.expected_alg;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// A sign-only key as the Secure Enclave exposes one: no private key material, DER out.
class SignOnlySigner final : public JwsSigner {
 public:
  enum class Output { Der, Raw, Garbage };
  SignOnlySigner(pki::PrivateKey key, Output output) : key_(std::move(key)), output_(output) {}
  Json jwk() const override { return jose::Jwk(key_.public_key()).to_json(); }
  std::string alg() const override { return "ES256"; }
  Result<Bytes> sign(const Bytes& input) const override {
    ++calls;
    auto der = key_.sign(input, pki::Digest::SHA256);
    if (!der.ok() || output_ == Output::Der) return der;
    if (output_ == Output::Garbage) return Bytes{1, 2, 3};
    return pki::ecdsa_der_to_raw(*der, 32);
  }
  mutable int calls = 0;

 private:
  pki::PrivateKey key_;
  Output output_;
};

TEST(AcmeSigner, SignOnlySignersWorkWithDerOrRawSignatures) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  const Json header = {{"alg", "ES256"}, {"nonce", "n"}, {"url", "https://x/"}};
  for (auto output : {SignOnlySigner::Output::Der, SignOnlySigner::Output::Raw}) {
    SignOnlySigner signer(*key, output);
    auto parts = sign_jws(header, "", signer);
    ASSERT_TRUE(parts.ok()) << describe(parts.error());
    EXPECT_EQ(signer.calls, 1);
    auto jws = jose::parse_flattened(parts->to_json());
    ASSERT_TRUE(jws.ok());
    EXPECT_EQ(jws->signature.size(), 64u);
    EXPECT_TRUE(jose::verify(*jws, key->public_key()).ok());
  }
  SignOnlySigner broken(*key, SignOnlySigner::Output::Garbage);
  EXPECT_FALSE(sign_jws(header, "", broken).ok());
}

TEST(AcmeSigner, RefusesToSignWithAlgorithmsItCannotProduce) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(PrivateKeySigner(*key, "none").sign(to_bytes("x")).error().type,
            "badSignatureAlgorithm");
  EXPECT_EQ(PrivateKeySigner(*key, "HS256").sign(to_bytes("x")).error().type,
            "badSignatureAlgorithm");
}

}  // namespace
}  // namespace attestlab::client
