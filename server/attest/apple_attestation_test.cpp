#include "server/attest/apple_attestation.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "testing/device_attest_support.h"
#include "testing/odd_ec_keys.h"

namespace attestlab::server {
namespace {

using testing::att_obj;
using testing::binary;
using testing::interop_dir;
using testing::issue_leaf;
using testing::kNow;
using testing::LeafSpec;
using testing::read_text;
using testing::TestAttestationCa;
using testing::trimmed;

// ---- The externally produced vector (fixtures/interop/apple-attestation) ----

class InteropVector : public ::testing::Test {
 protected:
  void SetUp() override {
    expected_ = parse_json(read_text(interop_dir() + "expected.json")).value();
    roots_ = pki::Certificate::bundle_from_pem(read_text(interop_dir() + "root.pem")).value();
    token_ = trimmed(read_text(interop_dir() + "token.txt"));
    att_obj_ = trimmed(read_text(interop_dir() + "attobj.b64u"));
    ASSERT_TRUE(parse_rfc3339(expected_["verify_at"].get<std::string>(), verify_at_));
  }
  Json expected_;
  std::vector<pki::Certificate> roots_;
  std::string token_;
  std::string att_obj_;
  std::int64_t verify_at_ = 0;
};

TEST_F(InteropVector, AcceptedAndExtractsExactlyTheExpectedFacts) {
  std::string rule;
  auto facts = verify_apple_attestation(att_obj_, roots_, token_, verify_at_, {}, &rule);
  ASSERT_TRUE(facts.ok()) << facts.error().detail;
  EXPECT_EQ(facts->fmt, expected_["fmt"]);
  EXPECT_EQ(facts->serial, expected_["serial"].get<std::string>());
  EXPECT_EQ(facts->udid, expected_["udid"].get<std::string>());
  EXPECT_EQ(facts->os_version, expected_["os_version"].get<std::string>());
  EXPECT_EQ(facts->sepos_version, expected_["sepos_version"].get<std::string>());
  EXPECT_EQ(facts->llb_version, expected_["llb_version"].get<std::string>());
  EXPECT_EQ(hex_encode(facts->freshness), expected_["freshness_sha256_of_token_hex"]);
  EXPECT_EQ(format_rfc3339(facts->leaf.not_before()), expected_["leaf_not_before"]);
  EXPECT_EQ(format_rfc3339(facts->leaf.not_after()), expected_["leaf_not_after"]);
  EXPECT_FALSE(facts->has_mac_posture());
  EXPECT_FALSE(facts->user_enrollment());
  EXPECT_EQ(facts->root_fingerprint, roots_.front().fingerprint_sha256());

  // The attested key is the device key published next to the vector.
  auto device_key =
      pki::PublicKey::from_pem(read_text(interop_dir() + "device-key.pub.pem")).value();
  EXPECT_TRUE(facts->key.equals(device_key));
  EXPECT_EQ(facts->key.spec(), pki::KeySpec::p384());

  const Json j = facts->to_json();
  EXPECT_EQ(j["spki"], base64url_encode(device_key.spki_der()));
  EXPECT_EQ(j["serial"], expected_["serial"]);
  EXPECT_EQ(j["leaf_not_after"], expected_["leaf_not_after"]);
  EXPECT_EQ(j["root_sha256"], hex_encode(roots_.front().fingerprint_sha256()));
  EXPECT_FALSE(j.contains("posture"));
}

TEST_F(InteropVector, RogueRootRefused) {
  const std::string rogue = trimmed(read_text(interop_dir() + "attobj-rogue-root.b64u"));
  std::string rule;
  auto facts = verify_apple_attestation(rogue, roots_, token_, verify_at_, {}, &rule);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(facts.error().type, "badAttestationStatement");
  EXPECT_EQ(rule, "chain");
}

TEST_F(InteropVector, ApplesRealRootRefusesIt) {
  auto apple = pki::Certificate::bundle_from_pem(
                   read_text(std::string(ATTESTLAB_SOURCE_DIR) +
                             "/fixtures/apple-enterprise-attestation-root-ca.pem"))
                   .value();
  std::string rule;
  auto facts = verify_apple_attestation(att_obj_, apple, token_, verify_at_, {}, &rule);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule, "chain");
  EXPECT_NE(facts.error().detail.find("trusted attestation root"), std::string::npos)
      << facts.error().detail;
}

TEST_F(InteropVector, OtherTokenIsAFreshnessMismatch) {
  std::string rule;
  auto facts = verify_apple_attestation(att_obj_, roots_, token_ + "x", verify_at_, {}, &rule);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(facts.error().type, "badAttestationStatement");
  EXPECT_EQ(rule, "freshness");
}

TEST_F(InteropVector, RefusedAfterLeafNotAfter) {
  std::int64_t not_after = 0;
  ASSERT_TRUE(parse_rfc3339(expected_["leaf_not_after"].get<std::string>(), not_after));
  std::string rule;
  auto facts = verify_apple_attestation(att_obj_, roots_, token_, not_after + 1, {}, &rule);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule, "validity");
  EXPECT_FALSE(verify_apple_attestation(att_obj_, roots_, token_, not_after, {}, &rule).ok());
  EXPECT_EQ(rule, "validity");
  // Still valid a second before.
  auto last = verify_apple_attestation(att_obj_, roots_, token_, not_after - 1, {});
  EXPECT_TRUE(last.ok()) << last.error().detail;
}

TEST_F(InteropVector, RefusedBeforeNotBeforeBeyondSkew) {
  std::int64_t not_before = 0;
  ASSERT_TRUE(parse_rfc3339(expected_["leaf_not_before"].get<std::string>(), not_before));
  std::string rule;
  EXPECT_FALSE(
      verify_apple_attestation(att_obj_, roots_, token_, not_before - 301, {}, &rule).ok());
  EXPECT_EQ(rule, "validity");
  // Inside the default 300 s skew it verifies (the attestation server's clock runs ahead).
  EXPECT_TRUE(verify_apple_attestation(att_obj_, roots_, token_, not_before - 299, {}).ok());
}

TEST_F(InteropVector, RefusedWhenOlderThanMaxAge) {
  AppleVerifyOptions options;
  options.max_attestation_age_seconds = 3600;  // the leaf is 36 h old at verify_at
  std::string rule;
  EXPECT_FALSE(verify_apple_attestation(att_obj_, roots_, token_, verify_at_, options, &rule).ok());
  EXPECT_EQ(rule, "attestation_age");
}

TEST_F(InteropVector, P384NotAllowedRefusesTheKey) {
  AppleVerifyOptions options;
  options.allowed_ec_bits = {256};
  std::string rule;
  auto facts = verify_apple_attestation(att_obj_, roots_, token_, verify_at_, options, &rule);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule, "key");
  EXPECT_NE(facts.error().detail.find("P-384"), std::string::npos);
}

// ---- Leaves built here ----

class BuiltLeaves : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ca_ = new TestAttestationCa(TestAttestationCa::make()); }
  static void TearDownTestSuite() {
    delete ca_;
    ca_ = nullptr;
  }

  Result<AttestedFacts> verify(const std::string& obj, const AppleVerifyOptions& options = {}) {
    rule_.clear();
    return verify_apple_attestation(obj, {ca_->root}, token_, kNow, options, &rule_);
  }
  Result<AttestedFacts> verify_leaf(const LeafSpec& spec, const AppleVerifyOptions& options = {}) {
    return verify(att_obj(*ca_, issue_leaf(*ca_, spec, token_)), options);
  }

  static TestAttestationCa* ca_;
  std::string token_ = "W5rz8cK1Vd0xQ2mB7gR3tY9uI4oP6aS8dF1hJ3kL5zX";
  std::string rule_;
};
TestAttestationCa* BuiltLeaves::ca_ = nullptr;

TEST_F(BuiltLeaves, HealthyLeafVerifies) {
  auto facts = verify_leaf(LeafSpec{});
  ASSERT_TRUE(facts.ok()) << facts.error().detail;
  EXPECT_EQ(facts->serial, "F2LXK3ABCD12");
  EXPECT_EQ(facts->os_version, "17.5");
  EXPECT_EQ(facts->freshness, sha256(token_));
}

TEST_F(BuiltLeaves, MissingFreshnessRefused) {
  LeafSpec spec;
  spec.include_freshness = false;
  auto facts = verify_leaf(spec);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule_, "freshness");
  EXPECT_NE(facts.error().detail.find("attestation has no freshness code"), std::string::npos);
}

TEST_F(BuiltLeaves, FreshnessOfAnotherNonceRefused) {
  LeafSpec spec;
  spec.freshness = sha256(std::string("an older nonce"));
  EXPECT_FALSE(verify_leaf(spec).ok());
  EXPECT_EQ(rule_, "freshness");
  const Bytes code = sha256(token_);
  spec.freshness = Bytes(code.begin(), code.begin() + 16);  // truncated code
  EXPECT_FALSE(verify_leaf(spec).ok());
  EXPECT_EQ(rule_, "freshness");
}

TEST_F(BuiltLeaves, RsaLeafRefused) {
  LeafSpec spec;
  spec.key = pki::KeySpec::rsa(2048);
  auto facts = verify_leaf(spec);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(facts.error().type, "badAttestationStatement");
  EXPECT_EQ(rule_, "key");
  EXPECT_NE(facts.error().detail.find("RSA"), std::string::npos) << facts.error().detail;
}

// Curves by name: a 256-bit curve that is not P-256, or P-256 spelled out as explicit
// parameters, is refused even when P-256 is allowed.
TEST_F(BuiltLeaves, OddCurveAndExplicitParameterKeysRefused) {
  AppleVerifyOptions options;
  options.allowed_ec_bits = {256, 384};
  for (auto [group, explicit_params] :
       {std::pair{"secp256k1", false}, std::pair{"brainpoolP256r1", false},
        std::pair{"brainpoolP384r1", false}, std::pair{"P-256", true}}) {
    SCOPED_TRACE(group);
    LeafSpec spec;
    spec.given_key = attestlab::testing::odd_ec_key(group, explicit_params);
    ASSERT_TRUE(spec.given_key.valid());
    auto facts = verify_leaf(spec, options);
    ASSERT_FALSE(facts.ok());
    EXPECT_EQ(facts.error().type, "badAttestationStatement");
    // OpenSSL's chain verification already refuses a leaf with explicit parameters.
    EXPECT_EQ(rule_, explicit_params ? "chain" : "key");
  }
  LeafSpec p256;
  p256.key = pki::KeySpec::p256();
  EXPECT_TRUE(verify_leaf(p256, options).ok());
}

// An attestation object whose CBOR map repeats a key is malformed, never read as one of
// its copies (here "fmt": "apple" and then "fmt": "none").
TEST_F(BuiltLeaves, DuplicateCborKeysRefused) {
  const auto leaf = issue_leaf(*ca_, LeafSpec{}, token_);
  const std::string honest = att_obj(*ca_, leaf);
  Bytes cbor = *base64url_decode(honest);
  ASSERT_EQ(cbor[0], 0xa2);  // a map of two pairs
  cbor[0] = 0xa3;
  const Bytes extra = {0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e'};
  cbor.insert(cbor.end(), extra.begin(), extra.end());
  auto facts = verify(base64url_encode(cbor));
  ASSERT_FALSE(facts.ok());
  EXPECT_NE(facts.error().detail.find("duplicate"), std::string::npos) << facts.error().detail;
  EXPECT_TRUE(verify(honest).ok());
}

TEST_F(BuiltLeaves, P521LeafRefusedUnlessAllowed) {
  LeafSpec spec;
  spec.key = pki::KeySpec::p521();
  const std::string obj = att_obj(*ca_, issue_leaf(*ca_, spec, token_));
  EXPECT_FALSE(verify(obj).ok());
  EXPECT_EQ(rule_, "key");
  AppleVerifyOptions options;
  options.allowed_ec_bits = {256, 384, 521};
  EXPECT_TRUE(verify(obj, options).ok());
}

TEST_F(BuiltLeaves, P256LeafAccepted) {
  LeafSpec spec;
  spec.key = pki::KeySpec::p256();
  auto facts = verify_leaf(spec);
  ASSERT_TRUE(facts.ok()) << facts.error().detail;
  EXPECT_EQ(facts->key.spec(), pki::KeySpec::p256());
}

TEST_F(BuiltLeaves, WrongFormatRefused) {
  auto leaf = issue_leaf(*ca_, LeafSpec{}, token_);
  auto facts = verify(att_obj({leaf.cert.to_der(), ca_->intermediate.to_der()}, "tpm"));
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule_, "format");
  EXPECT_NE(facts.error().detail.find("unsupported format"), std::string::npos);
}

TEST_F(BuiltLeaves, EmptyX5cRefused) {
  EXPECT_FALSE(verify(att_obj(std::vector<Bytes>{})).ok());
  EXPECT_EQ(rule_, "format");
}

TEST_F(BuiltLeaves, NonBytesX5cEntryRefused) {
  auto leaf = issue_leaf(*ca_, LeafSpec{}, token_);
  Json obj = {{"fmt", "apple"},
              {"attStmt",
               {{"x5c", Json::array({binary(leaf.cert.to_der()),
                                     base64url_encode(ca_->intermediate.to_der())})}}}};
  auto facts = verify(base64url_encode(to_cbor(obj)));
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule_, "format");
  EXPECT_NE(facts.error().detail.find("x5c[1]"), std::string::npos);
}

TEST_F(BuiltLeaves, StructureErrorsRefused) {
  const std::vector<Json> bad = {
      Json::array({1, 2}),                                          // not a map
      Json{{"attStmt", {{"x5c", Json::array()}}}},                  // no fmt
      Json{{"fmt", 7}, {"attStmt", Json::object()}},                // fmt not text
      Json{{"fmt", "apple"}},                                       // no attStmt
      Json{{"fmt", "apple"}, {"attStmt", "x"}},                     // attStmt not a map
      Json{{"fmt", "apple"}, {"attStmt", Json::object()}},          // no x5c
      Json{{"fmt", "apple"}, {"attStmt", {{"x5c", binary({1})}}}},  // x5c not an array
  };
  for (const auto& obj : bad) {
    auto facts = verify(base64url_encode(to_cbor(obj)));
    EXPECT_FALSE(facts.ok()) << obj.dump();
    EXPECT_EQ(rule_, "format") << obj.dump();
    EXPECT_EQ(facts.error().type, "badAttestationStatement");
  }
}

TEST_F(BuiltLeaves, GarbageDerRefused) {
  EXPECT_FALSE(verify(att_obj({Bytes{0x30, 0x03, 0x02, 0x01, 0x01}})).ok());
  EXPECT_EQ(rule_, "certificate");
}

TEST_F(BuiltLeaves, MalformedCborRefused) {
  auto leaf = issue_leaf(*ca_, LeafSpec{}, token_);
  Bytes cbor = to_cbor(
      Json{{"fmt", "apple"}, {"attStmt", {{"x5c", Json::array({binary(leaf.cert.to_der())})}}}});
  cbor.resize(cbor.size() / 2);  // cut in the middle of the leaf
  auto facts = verify(base64url_encode(cbor));
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule_, "encoding");
  EXPECT_FALSE(verify(base64url_encode(Bytes{0xff, 0xff, 0xff})).ok());
  EXPECT_EQ(rule_, "encoding");
  EXPECT_FALSE(verify(base64url_encode(Bytes{})).ok());
  EXPECT_EQ(rule_, "encoding");
}

TEST_F(BuiltLeaves, TruncatedOrInvalidBase64urlRefused) {
  const std::string obj = att_obj(*ca_, issue_leaf(*ca_, LeafSpec{}, token_));
  // A length of 4k+1 characters cannot be base64url; a cut at 4k is caught by CBOR.
  std::size_t n = obj.size() - 1;
  while (n % 4 != 1) --n;
  EXPECT_FALSE(verify(obj.substr(0, n)).ok());
  EXPECT_EQ(rule_, "encoding");
  EXPECT_FALSE(verify(obj.substr(0, obj.size() - 8)).ok());
  EXPECT_EQ(rule_, "encoding");
  EXPECT_FALSE(verify(obj + "=").ok());
  EXPECT_EQ(rule_, "encoding");
  EXPECT_FALSE(verify("a+b/" + obj).ok());
  EXPECT_EQ(rule_, "encoding");
}

TEST_F(BuiltLeaves, LeafAloneWithoutIntermediateRefused) {
  auto leaf = issue_leaf(*ca_, LeafSpec{}, token_);
  EXPECT_FALSE(verify(att_obj({leaf.cert.to_der()})).ok());
  EXPECT_EQ(rule_, "chain");
}

TEST_F(BuiltLeaves, ForgedChainWithOwnRootIncludedRefused) {
  // A forger's complete chain, root included in x5c: only configured roots anchor.
  auto forger = TestAttestationCa::make("Forger");
  auto leaf = issue_leaf(forger, LeafSpec{}, token_);
  EXPECT_FALSE(
      verify(att_obj({leaf.cert.to_der(), forger.intermediate.to_der(), forger.root.to_der()}))
          .ok());
  EXPECT_EQ(rule_, "chain");
}

TEST_F(BuiltLeaves, NoRootsConfiguredRefused) {
  const std::string obj = att_obj(*ca_, issue_leaf(*ca_, LeafSpec{}, token_));
  std::string rule;
  EXPECT_FALSE(verify_apple_attestation(obj, {}, token_, kNow, {}, &rule).ok());
  EXPECT_EQ(rule, "chain");
}

TEST_F(BuiltLeaves, RootFingerprintNamesTheAnchoringRoot) {
  auto other = TestAttestationCa::make("Other");
  const std::string obj = att_obj(*ca_, issue_leaf(*ca_, LeafSpec{}, token_));
  auto facts = verify_apple_attestation(obj, {other.root, ca_->root}, token_, kNow, {});
  ASSERT_TRUE(facts.ok()) << facts.error().detail;
  EXPECT_EQ(facts->root_fingerprint, ca_->root.fingerprint_sha256());
}

TEST_F(BuiltLeaves, UserEnrollmentHasNoIdentity) {
  LeafSpec spec;
  spec.serial.reset();
  spec.udid.reset();
  auto facts = verify_leaf(spec);
  ASSERT_TRUE(facts.ok()) << facts.error().detail;
  EXPECT_TRUE(facts->user_enrollment());
  EXPECT_FALSE(facts->to_json().contains("serial"));
}

TEST_F(BuiltLeaves, MacPostureDecoded) {
  auto facts = verify_leaf(LeafSpec::healthy_mac());
  ASSERT_TRUE(facts.ok()) << facts.error().detail;
  EXPECT_TRUE(facts->has_mac_posture());
  EXPECT_EQ(facts->sip_enabled, true);
  EXPECT_EQ(facts->secure_boot, "full");
  EXPECT_EQ(facts->third_party_kexts_allowed, false);
  const Json j = facts->to_json();
  EXPECT_EQ(j["posture"],
            (Json{{"sip", true}, {"secure_boot", "full"}, {"third_party_kexts", false}}));
}

TEST_F(BuiltLeaves, UnknownPostureEncodingsAreNotTrue) {
  LeafSpec spec = LeafSpec::healthy_mac();
  spec.sip = Bytes{0x01, 0x01, 0xff};  // a DER BOOLEAN, not the raw byte
  spec.secure_boot = to_bytes("FULL");
  spec.kexts = Bytes{0x02};
  auto facts = verify_leaf(spec);
  ASSERT_TRUE(facts.ok()) << facts.error().detail;
  EXPECT_FALSE(facts->sip_enabled.has_value());
  EXPECT_FALSE(facts->secure_boot.has_value());
  EXPECT_FALSE(facts->third_party_kexts_allowed.has_value());
  EXPECT_EQ(facts->to_json()["posture"]["sip"], "unreadable:0101ff");
}

TEST_F(BuiltLeaves, NonTextIdentityRefused) {
  LeafSpec spec;
  spec.serial = std::string("C02\x01\xff", 5);
  auto facts = verify_leaf(spec);
  ASSERT_FALSE(facts.ok());
  EXPECT_EQ(rule_, "extension");
  // The detail must survive JSON serialisation.
  EXPECT_NO_THROW((void)Json(facts.error().detail).dump());
}

TEST_F(BuiltLeaves, ExpiredIntermediateRefused) {
  const TestAttestationCa ca =
      ca_->with_intermediate_valid("Expired Sub CA", kNow - 100 * 86400, kNow - 86400);
  EXPECT_FALSE(verify(att_obj(ca, issue_leaf(ca, LeafSpec{}, token_))).ok());
  EXPECT_EQ(rule_, "chain");
}

// ---- Remembered intermediates (AppleVerifyOptions::intermediates) ----

TEST_F(BuiltLeaves, ARememberedIntermediateLeavesOnlyTheLeafToVerify) {
  AppleVerifyOptions options;
  options.intermediates = std::make_shared<VerifiedIntermediates>();
  auto first = verify_leaf(LeafSpec{}, options);
  ASSERT_TRUE(first.ok()) << first.error().detail;
  EXPECT_EQ(options.intermediates->hits(), 0u);
  ASSERT_TRUE(options.intermediates->find(sha256(ca_->intermediate.to_der())).has_value());
  auto second = verify_leaf(LeafSpec{}, options);
  ASSERT_TRUE(second.ok()) << second.error().detail;
  EXPECT_EQ(options.intermediates->hits(), 1u);
  EXPECT_EQ(second->root_fingerprint, ca_->root.fingerprint_sha256());
  // That leaf was read without OpenSSL's key decoding; its key is the leaf's all the same.
  EXPECT_FALSE(first->leaf.lean());
  EXPECT_TRUE(second->leaf.lean());
  auto reparsed = pki::Certificate::from_der(second->leaf.to_der());
  ASSERT_TRUE(reparsed.ok());
  EXPECT_TRUE(second->key.valid());
  EXPECT_TRUE(second->key.equals(reparsed->public_key()));
  ASSERT_EQ(second->intermediates.size(), 1u);
  EXPECT_EQ(second->intermediates.front().to_der(), ca_->intermediate.to_der());
}

TEST_F(BuiltLeaves, ALeafNotSignedByTheRememberedIntermediateIsRefused) {
  // Same names as the real CA, other keys: the leaf's issuer name matches the remembered
  // intermediate, its signature does not.
  AppleVerifyOptions options;
  options.intermediates = std::make_shared<VerifiedIntermediates>();
  ASSERT_TRUE(verify_leaf(LeafSpec{}, options).ok());
  auto twin = TestAttestationCa::make();
  auto forged = issue_leaf(twin, LeafSpec{}, token_);
  EXPECT_FALSE(verify(att_obj({forged.cert.to_der(), ca_->intermediate.to_der()}), options).ok());
  EXPECT_EQ(rule_, "chain");
  EXPECT_EQ(options.intermediates->hits(), 0u);
}

TEST_F(BuiltLeaves, ARememberedIntermediateCountsOnlyWhileItsRootIsGiven) {
  AppleVerifyOptions options;
  options.intermediates = std::make_shared<VerifiedIntermediates>();
  ASSERT_TRUE(verify_leaf(LeafSpec{}, options).ok());
  auto other = TestAttestationCa::make("Other");
  const std::string obj = att_obj(*ca_, issue_leaf(*ca_, LeafSpec{}, token_));
  std::string rule;
  EXPECT_FALSE(verify_apple_attestation(obj, {other.root}, token_, kNow, options, &rule).ok());
  EXPECT_EQ(rule, "chain");
  EXPECT_EQ(options.intermediates->hits(), 0u);
}

TEST_F(BuiltLeaves, ARememberedIntermediateIsCheckedForValidityEveryTime) {
  // An intermediate remembered while valid no longer anchors a leaf verified after it
  // expired (the leaf itself still valid then).
  const TestAttestationCa ca =
      ca_->with_intermediate_valid("Short-lived Sub CA", kNow - 86400, kNow + 3600);
  AppleVerifyOptions options;
  options.intermediates = std::make_shared<VerifiedIntermediates>();
  const std::string obj = att_obj(ca, issue_leaf(ca, LeafSpec{}, token_));
  ASSERT_TRUE(verify_apple_attestation(obj, {ca.root}, token_, kNow, options).ok());
  std::string rule;
  EXPECT_FALSE(
      verify_apple_attestation(obj, {ca.root}, token_, kNow + 7200, options, &rule).ok());
  EXPECT_EQ(rule, "chain");
  EXPECT_EQ(options.intermediates->hits(), 0u);
}

TEST(VerifiedIntermediatesTest, KeepsAtMostItsCapacityDroppingTheOldest) {
  VerifiedIntermediates cache(2);
  cache.remember({1}, {});
  cache.remember({2}, {});
  cache.remember({3}, {});
  EXPECT_FALSE(cache.find({1}).has_value());
  EXPECT_TRUE(cache.find({2}).has_value());
  EXPECT_TRUE(cache.find({3}).has_value());
}

TEST_F(BuiltLeaves, OversizedInputRefusedCheaply) {
  EXPECT_FALSE(verify(std::string(100000, 'A')).ok());
  EXPECT_EQ(rule_, "encoding");
}

}  // namespace
}  // namespace attestlab::server
