#include "server/attest/attest_policy.h"

#include <gtest/gtest.h>

#include "testing/device_attest_support.h"

namespace attestlab::server {
namespace {

TEST(Versions, NumericPerComponent) {
  EXPECT_LT(compare_versions("17.5", "17.10"), 0);
  EXPECT_GT(compare_versions("17.10", "17.5"), 0);
  EXPECT_EQ(compare_versions("17", "17.0"), 0);
  EXPECT_EQ(compare_versions("17.0.0", "17"), 0);
  EXPECT_LT(compare_versions("17.5", "17.5.1"), 0);
  EXPECT_GT(compare_versions("18.0", "17.99.99"), 0);
  EXPECT_LT(compare_versions("9.3", "10.0"), 0);  // not lexicographic
  EXPECT_GT(compare_versions("10151.121.1", "10151.101.4"), 0);
  EXPECT_EQ(compare_versions("01.2", "1.2"), 0);
}

TEST(Versions, UnparsableRefused) {
  for (const char* bad : {"", "17.", ".5", "17..5", "17.5b", "a", "17 .5", "-1", "1234567890.1"}) {
    EXPECT_FALSE(parse_version(bad).has_value()) << bad;
  }
  EXPECT_EQ(*parse_version("17.5.1"), (std::vector<std::uint64_t>{17, 5, 1}));
  EXPECT_LT(compare_versions("17.5b", "1.0"), 0);  // unparsable is lowest
}

TEST(PolicyJson, DefaultsWhenEmpty) {
  auto p = AttestPolicy::from_json(Json::object());
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->match, IdentifierMatch::Either);
  EXPECT_EQ(p->curves, (std::vector<std::string>{"P-256", "P-384"}));
  EXPECT_EQ(p->max_attestation_age_seconds, 7 * 86400 + 3600);
  EXPECT_TRUE(p->require_sip);
  EXPECT_TRUE(p->require_full_secure_boot);
  EXPECT_TRUE(p->forbid_third_party_kexts);
  EXPECT_FALSE(p->allow_user_enrollment);
  EXPECT_TRUE(p->one_active_certificate_per_device);
  EXPECT_EQ(p->min_os_version.at("macOS"), "14.0");
  EXPECT_EQ(p->min_os_version.count("default"), 0u);
  EXPECT_EQ(p->verify_options().allowed_ec_bits, (std::vector<int>{256, 384}));
}

TEST(PolicyJson, ExampleFileIsTheDefaults) {
  auto example =
      AttestPolicy::load(std::string(ATTESTLAB_SOURCE_DIR) + "/fixtures/policy.example.json");
  ASSERT_TRUE(example.ok()) << example.error().detail;
  EXPECT_EQ(example->to_json(), AttestPolicy{}.to_json());
}

TEST(PolicyJson, EveryMemberParsed) {
  const Json doc = {{"_comment", "ignored"},
                    {"match", "udid"},
                    {"curves", {"P-384", "P-521"}},
                    {"max_attestation_age_seconds", 60},
                    {"clock_skew_seconds", 0},
                    {"min_os_version", {{"iOS", "17.4"}, {"default", "17.0"}}},
                    {"min_sepos_version", "21.0"},
                    {"require_sip", false},
                    {"require_full_secure_boot", false},
                    {"forbid_third_party_kexts", false},
                    {"allow_user_enrollment", true},
                    {"one_active_certificate_per_device", false}};
  auto p = AttestPolicy::from_json(doc);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->match, IdentifierMatch::Udid);
  EXPECT_EQ(p->verify_options().allowed_ec_bits, (std::vector<int>{384, 521}));
  EXPECT_EQ(p->verify_options().max_attestation_age_seconds, 60);
  EXPECT_EQ(p->verify_options().clock_skew_seconds, 0);
  EXPECT_EQ(p->min_os_version,
            (std::map<std::string, std::string>{{"iOS", "17.4"}, {"default", "17.0"}}));
  EXPECT_EQ(p->min_sepos_version, (std::map<std::string, std::string>{{"default", "21.0"}}));
  EXPECT_FALSE(p->require_sip);
  EXPECT_FALSE(p->require_full_secure_boot);
  EXPECT_FALSE(p->forbid_third_party_kexts);
  EXPECT_TRUE(p->allow_user_enrollment);
  EXPECT_FALSE(p->one_active_certificate_per_device);
  // Round trip.
  auto again = AttestPolicy::from_json(p->to_json());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->to_json(), p->to_json());
}

TEST(PolicyJson, BadMembersNamed) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {Json::array(), "object"},
      {{{"requre_sip", true}}, "requre_sip"},
      {{{"match", "imei"}}, "match"},
      {{{"curves", {"P-192"}}}, "curves"},
      {{{"curves", "P-256"}}, "curves"},
      {{{"max_attestation_age_seconds", -1}}, "max_attestation_age_seconds"},
      {{{"max_attestation_age_seconds", "7d"}}, "max_attestation_age_seconds"},
      {{{"min_os_version", {{"Android", "14"}}}}, "Android"},
      {{{"min_os_version", {{"iOS", "17.x"}}}}, "min_os_version.iOS"},
      {{{"min_os_version", 17}}, "min_os_version"},
      {{{"require_sip", "yes"}}, "require_sip"},
  };
  for (const auto& [doc, needle] : cases) {
    auto p = AttestPolicy::from_json(doc);
    ASSERT_FALSE(p.ok()) << doc.dump();
    EXPECT_EQ(p.error().type, "malformed");
    EXPECT_NE(p.error().detail.find(needle), std::string::npos) << p.error().detail;
  }
}

TEST(PolicyJson, LoadNamesTheFile) {
  testing::TempDir dir;
  ASSERT_TRUE(pki::write_file(dir.file("p.json"), "{\"match\": ").ok());
  auto p = AttestPolicy::load(dir.file("p.json"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().detail.find(dir.file("p.json")), std::string::npos);
  EXPECT_FALSE(AttestPolicy::load(dir.file("missing.json")).ok());
}

// ---- Posture rules on facts ----

AttestedFacts iphone(const std::string& os = "17.5", const std::string& sepos = "21.5.0") {
  AttestedFacts f;
  f.serial = "F2LXK3ABCD12";
  f.udid = "00008110-001A2B3C4D5E801E";
  f.os_version = os;
  f.sepos_version = sepos;
  return f;
}

AttestedFacts mac(Bytes sip = {0x01}, std::string boot = "full", Bytes kexts = {0x00}) {
  AttestedFacts f = iphone("14.5", "23.5.0");
  f.sip_raw = sip;
  if (sip.size() == 1 && sip[0] <= 1) f.sip_enabled = sip[0] == 1;
  f.secure_boot_raw = to_bytes(boot);
  if (boot == "full" || boot == "reduced" || boot == "permissive") f.secure_boot = boot;
  f.kexts_raw = kexts;
  if (kexts.size() == 1 && kexts[0] <= 1) f.third_party_kexts_allowed = kexts[0] == 1;
  return f;
}

std::string refused_rule(const AttestPolicy& p, const AttestedFacts& f,
                         const std::string& platform) {
  std::string rule;
  auto r = check_posture(p, f, platform, &rule);
  if (r.ok()) return "accepted";
  EXPECT_EQ(r.error().type, "badAttestationStatement");
  EXPECT_EQ(r.error().detail.rfind("policy " + rule + ": ", 0), 0u) << r.error().detail;
  return rule;
}

TEST(Posture, PlatformInference) {
  EXPECT_EQ(platform_of(iphone()), "default");
  EXPECT_EQ(platform_of(mac()), "macOS");
}

TEST(Posture, HealthyDevicesPassDefaults) {
  const AttestPolicy p;
  EXPECT_EQ(refused_rule(p, iphone(), "default"), "accepted");
  EXPECT_EQ(refused_rule(p, iphone(), "iOS"), "accepted");
  EXPECT_EQ(refused_rule(p, mac(), "macOS"), "accepted");
}

TEST(Posture, SipOffRefused) {
  const AttestPolicy p;
  EXPECT_EQ(refused_rule(p, mac({0x00}), "macOS"), "require_sip");
  std::string rule;
  auto r = check_posture(p, mac({0x00}), "macOS", &rule);
  EXPECT_NE(r.error().detail.find("SIP is disabled"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("1.2.840.113635.100.8.13.1"), std::string::npos);
  // Unreadable is not "on".
  EXPECT_EQ(refused_rule(p, mac({0xff}), "macOS"), "require_sip");
  AttestPolicy off;
  off.require_sip = false;
  EXPECT_EQ(refused_rule(off, mac({0x00}), "macOS"), "accepted");
}

TEST(Posture, ReducedOrPermissiveBootRefused) {
  const AttestPolicy p;
  EXPECT_EQ(refused_rule(p, mac({0x01}, "reduced"), "macOS"), "require_full_secure_boot");
  EXPECT_EQ(refused_rule(p, mac({0x01}, "permissive"), "macOS"), "require_full_secure_boot");
  EXPECT_EQ(refused_rule(p, mac({0x01}, "Full"), "macOS"), "require_full_secure_boot");
  AttestPolicy off;
  off.require_full_secure_boot = false;
  EXPECT_EQ(refused_rule(off, mac({0x01}, "reduced"), "macOS"), "accepted");
}

TEST(Posture, ThirdPartyKextsRefused) {
  const AttestPolicy p;
  EXPECT_EQ(refused_rule(p, mac({0x01}, "full", {0x01}), "macOS"), "forbid_third_party_kexts");
  AttestPolicy off;
  off.forbid_third_party_kexts = false;
  EXPECT_EQ(refused_rule(off, mac({0x01}, "full", {0x01}), "macOS"), "accepted");
}

TEST(Posture, KnownMacWithoutPostureRefused) {
  // The inventory says macOS, but the leaf carries no Mac posture.
  EXPECT_EQ(refused_rule(AttestPolicy{}, iphone("14.5"), "macOS"), "require_sip");
}

TEST(Posture, MacRulesDoNotBindOtherDevices) {
  EXPECT_EQ(refused_rule(AttestPolicy{}, iphone(), "iOS"), "accepted");
}

TEST(Posture, OsBelowMinimumRefused) {
  AttestPolicy p;
  p.min_os_version = {{"default", "17.10"}, {"macOS", "14.6"}};
  EXPECT_EQ(refused_rule(p, iphone("17.5"), "default"), "min_os_version");  // 17.5 < 17.10
  EXPECT_EQ(refused_rule(p, iphone("17.10"), "default"), "accepted");
  EXPECT_EQ(refused_rule(p, iphone("17.10.1"), "default"), "accepted");
  EXPECT_EQ(refused_rule(p, iphone("18"), "iOS"), "accepted");   // falls back to default
  EXPECT_EQ(refused_rule(p, mac(), "macOS"), "min_os_version");  // 14.5 < 14.6
  std::string rule;
  auto r = check_posture(p, iphone("17.5"), "default", &rule);
  EXPECT_NE(r.error().detail.find("17.5 is below the default minimum 17.10"), std::string::npos)
      << r.error().detail;
  AttestedFacts unversioned = iphone();
  unversioned.os_version.reset();
  EXPECT_EQ(refused_rule(p, unversioned, "default"), "min_os_version");
  AttestedFacts odd = iphone("17.5-beta");
  EXPECT_EQ(refused_rule(p, odd, "default"), "min_os_version");
}

TEST(Posture, NoFloorForPlatformWithoutEntry) {
  AttestPolicy p;
  p.min_os_version = {{"macOS", "15.0"}};
  EXPECT_EQ(refused_rule(p, iphone("1.0"), "default"), "accepted");
  EXPECT_EQ(refused_rule(p, iphone("1.0"), "iOS"), "accepted");
}

TEST(Posture, SeposBelowMinimumRefused) {
  AttestPolicy p;
  p.min_sepos_version = {{"default", "21.10"}};
  EXPECT_EQ(refused_rule(p, iphone("17.5", "21.5.0"), "default"), "min_sepos_version");
  EXPECT_EQ(refused_rule(p, iphone("17.5", "21.10.0"), "default"), "accepted");
  EXPECT_EQ(refused_rule(p, iphone("17.5", "22"), "iOS"), "accepted");
}

}  // namespace
}  // namespace attestlab::server
