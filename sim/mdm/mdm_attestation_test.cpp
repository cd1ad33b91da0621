// The MDM's own judgement of DevicePropertiesAttestation answers, one rule at a time,
// on leaves from the mock Apple CA and from a rogue one.
#include "sim/mdm/mdm_attestation.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "sim/device/apple_ca.h"

namespace attestlab::sim {
namespace {

class MdmAttestationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = SystemClock().now();
    auto ca = AppleCa::create(now_);
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_unique<AppleCa>(std::move(*ca));
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    ASSERT_TRUE(key.ok());
    key_ = key->public_key();
    facts_.serial = "F2LXQ7K9MN";
    facts_.udid = "00008110-001A2D3E0C12801E";
    facts_.os_version = "17.5";
    claims_ = {"00008110-001A2D3E0C12801E", "F2LXQ7K9MN", "", "17.5", false};
    nonce_ = random_bytes(32);
  }

  std::vector<Bytes> chain(const DeviceFacts& facts, const std::optional<Bytes>& freshness,
                           const AppleCa* ca = nullptr) {
    auto issued = (ca ? ca : ca_.get())->issue_attestation(key_, facts, freshness, now_);
    EXPECT_TRUE(issued.ok());
    return issued->x5c();
  }

  AttestationAssessment assess(const std::vector<Bytes>& certs, const std::optional<Bytes>& nonce,
                               const MdmAttestationPolicy& policy = {}) {
    return assess_device_attestation(certs, nonce, claims_, {ca_->root()}, policy, now_);
  }

  static std::string reasons(const AttestationAssessment& a) {
    std::string out;
    for (const auto& r : a.reasons) out += r + " | ";
    return out;
  }

  std::int64_t now_ = 0;
  std::unique_ptr<AppleCa> ca_;
  pki::PublicKey key_;
  DeviceFacts facts_;
  DeviceClaims claims_;
  Bytes nonce_;
};

TEST_F(MdmAttestationTest, HonestFreshAnswerIsTrusted) {
  const auto a = assess(chain(facts_, freshness_code(nonce_)), nonce_);
  EXPECT_EQ(a.verdict, AttestationVerdict::Trusted) << reasons(a);
  EXPECT_NE(reasons(a).find("freshness code is SHA-256 of the nonce"), std::string::npos);
  EXPECT_NE(reasons(a).find("Mock Apple Enterprise Attestation Root CA"), std::string::npos);
  ASSERT_TRUE(a.attested.has_value());
  EXPECT_EQ(a.attested->serial, "F2LXQ7K9MN");
  const Json j = a.to_json();
  EXPECT_EQ(j["verdict"], "trusted");
  EXPECT_EQ(j["attested"]["udid"], "00008110-001A2D3E0C12801E");
}

TEST_F(MdmAttestationTest, OldNonceOrNoFreshnessIsStale) {
  const auto cached = assess(chain(facts_, freshness_code(random_bytes(32))), nonce_);
  EXPECT_EQ(cached.verdict, AttestationVerdict::Stale) << reasons(cached);
  EXPECT_NE(reasons(cached).find("cached attestation"), std::string::npos);
  const auto none = assess(chain(facts_, std::nullopt), nonce_);
  EXPECT_EQ(none.verdict, AttestationVerdict::Stale);
  // Without a nonce sent, freshness cannot be judged and does not count against the device.
  EXPECT_EQ(assess(chain(facts_, std::nullopt), std::nullopt).verdict, AttestationVerdict::Trusted);
}

TEST_F(MdmAttestationTest, RogueRootIsUntrusted) {
  auto rogue = AppleCa::create(now_);
  ASSERT_TRUE(rogue.ok());
  const auto a = assess(chain(facts_, freshness_code(nonce_), &*rogue), nonce_);
  EXPECT_EQ(a.verdict, AttestationVerdict::Untrusted);
  EXPECT_NE(reasons(a).find("does not verify"), std::string::npos) << reasons(a);
  const auto no_roots = assess_device_attestation(chain(facts_, freshness_code(nonce_)), nonce_,
                                                  claims_, {}, {}, now_);
  EXPECT_EQ(no_roots.verdict, AttestationVerdict::Untrusted);
}

TEST_F(MdmAttestationTest, GarbageIsUntrusted) {
  EXPECT_EQ(assess({}, nonce_).verdict, AttestationVerdict::Untrusted);
  EXPECT_EQ(assess({Bytes{1, 2, 3}}, nonce_).verdict, AttestationVerdict::Untrusted);
  auto certs = chain(facts_, freshness_code(nonce_));
  certs.pop_back();  // leaf without its intermediate
  EXPECT_EQ(assess(certs, nonce_).verdict, AttestationVerdict::Untrusted);
}

TEST_F(MdmAttestationTest, AnotherDevicesIdentityIsUntrusted) {
  claims_.serial = "OTHERSERIAL";
  const auto a = assess(chain(facts_, freshness_code(nonce_)), nonce_);
  EXPECT_EQ(a.verdict, AttestationVerdict::Untrusted);
  EXPECT_NE(reasons(a).find("Apple attests serial F2LXQ7K9MN, but the device claims OTHERSERIAL"),
            std::string::npos);
  claims_.serial = "F2LXQ7K9MN";
  claims_.udid = "00008110-FFFFFFFFFFFFFFFF";
  EXPECT_EQ(assess(chain(facts_, freshness_code(nonce_)), nonce_).verdict,
            AttestationVerdict::Untrusted);
}

TEST_F(MdmAttestationTest, LyingAboutOsVersion) {
  claims_.os_version = "18.0";
  const auto a = assess(chain(facts_, freshness_code(nonce_)), nonce_);
  EXPECT_EQ(a.verdict, AttestationVerdict::Untrusted);
  EXPECT_NE(reasons(a).find("reports OS 18.0, but Apple attests 17.5"), std::string::npos);
  MdmAttestationPolicy lenient;
  lenient.require_claims_match = false;
  EXPECT_EQ(assess(chain(facts_, freshness_code(nonce_)), nonce_, lenient).verdict,
            AttestationVerdict::Trusted);
  // A cached answer may predate a software update: stale, not a lie.
  EXPECT_EQ(assess(chain(facts_, freshness_code(random_bytes(32))), nonce_).verdict,
            AttestationVerdict::Stale);
}

TEST_F(MdmAttestationTest, MacPosture) {
  DeviceFacts mac = facts_;
  mac.sip_enabled = true;
  mac.secure_boot = SecureBootLevel::Full;
  mac.third_party_kexts_allowed = false;
  EXPECT_EQ(assess(chain(mac, freshness_code(nonce_)), nonce_).verdict,
            AttestationVerdict::Trusted);

  mac.sip_enabled = false;
  const auto sip_off = assess(chain(mac, freshness_code(nonce_)), nonce_);
  EXPECT_EQ(sip_off.verdict, AttestationVerdict::Untrusted);
  EXPECT_NE(reasons(sip_off).find("System Integrity Protection is attested as disabled"),
            std::string::npos);
  MdmAttestationPolicy allow_sip_off;
  allow_sip_off.require_sip = false;
  EXPECT_EQ(assess(chain(mac, freshness_code(nonce_)), nonce_, allow_sip_off).verdict,
            AttestationVerdict::Trusted);

  mac.sip_enabled = true;
  mac.secure_boot = SecureBootLevel::Reduced;
  EXPECT_EQ(assess(chain(mac, freshness_code(nonce_)), nonce_).verdict,
            AttestationVerdict::Untrusted);
  mac.secure_boot = SecureBootLevel::Full;
  mac.third_party_kexts_allowed = true;
  EXPECT_EQ(assess(chain(mac, freshness_code(nonce_)), nonce_).verdict,
            AttestationVerdict::Untrusted);
}

TEST_F(MdmAttestationTest, UserEnrollmentCarriesNoIdentity) {
  DeviceFacts anonymous = facts_;
  anonymous.serial.reset();
  anonymous.udid.reset();
  claims_ = {"", "", "ENROLL-1", "17.5", true};
  const auto a = assess(chain(anonymous, freshness_code(nonce_)), nonce_);
  EXPECT_EQ(a.verdict, AttestationVerdict::Trusted) << reasons(a);
  EXPECT_NE(reasons(a).find("User Enrollment"), std::string::npos);
  claims_ = {"00008110-001A2D3E0C12801E", "F2LXQ7K9MN", "", "17.5", false};
  EXPECT_EQ(assess(chain(anonymous, freshness_code(nonce_)), nonce_).verdict,
            AttestationVerdict::Untrusted);
}

TEST_F(MdmAttestationTest, OsFloor) {
  MdmAttestationPolicy policy;
  policy.min_os_version = "17.10";
  EXPECT_EQ(assess(chain(facts_, freshness_code(nonce_)), nonce_, policy).verdict,
            AttestationVerdict::Untrusted);
  policy.min_os_version = "17.5";
  EXPECT_EQ(assess(chain(facts_, freshness_code(nonce_)), nonce_, policy).verdict,
            AttestationVerdict::Trusted);
}

TEST(MdmAttestationPolicy, VersionsAndJson) {
  EXPECT_LT(compare_versions("17.5", "17.10"), 0);
  EXPECT_EQ(compare_versions("17.0", "17"), 0);
  EXPECT_GT(compare_versions("14.4.1", "14.4"), 0);
  auto policy = MdmAttestationPolicy::from_json(
      Json{{"_about", "x"}, {"require_sip", false}, {"min_os_version", "16.0"}});
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->require_sip);
  EXPECT_TRUE(policy->require_full_secure_boot);
  EXPECT_EQ(policy->min_os_version, "16.0");
  EXPECT_FALSE(MdmAttestationPolicy::from_json(Json{{"require_sip", "no"}}).ok());
  EXPECT_FALSE(MdmAttestationPolicy::from_json(Json{{"bogus", true}}).ok());
  EXPECT_FALSE(MdmAttestationPolicy::from_json(Json::array()).ok());
  EXPECT_STREQ(to_string(AttestationVerdict::Stale), "stale");
  EXPECT_STREQ(to_string(AttestationVerdict::Unknown), "unknown");
}

}  // namespace
}  // namespace attestlab::sim
