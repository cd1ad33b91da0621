// `attestlab profile lint`'s rules: each mistake an admin makes is caught with its code, the
// payload it concerns and an explanation; a good profile passes.
#include "sim/mdm/profile_lint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "sim/mdm/mdm_plist.h"
#include "sim/mdm/profile.h"

namespace attestlab::sim {
namespace {

using Severity = ProfileProblem::Severity;

Json good_profile() {
  AcmeProfileOptions o;
  o.acme = AcmePayload::for_attestation("https://ca.example.com/acme/directory", "F2LXQ7K9MN");
  o.acme.payload_identifier = "com.example.acme";
  o.wifi_ssids = {"corp"};
  o.identifier = "com.example.profile";
  return make_acme_profile(o);
}

Json& acme_of(Json& profile) {
  return profile["PayloadContent"][0];
}
Json& wifi_of(Json& profile) {
  return profile["PayloadContent"][1];
}

std::vector<ProfileProblem> lint(const Json& profile) {
  return lint_profile(json_to_plist_xml(profile));
}

// A copy, so that lint(...) temporaries may be searched directly.
std::optional<ProfileProblem> find(const std::vector<ProfileProblem>& problems,
                                   const std::string& code) {
  auto it = std::find_if(problems.begin(), problems.end(),
                         [&](const ProfileProblem& p) { return p.code == code; });
  if (it == problems.end()) return std::nullopt;
  return *it;
}

std::string all_codes(const std::vector<ProfileProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.code + " ";
  return out;
}

// lint(profile) reports `code`, naming `key` as the key it is about.
void expect_problem_about(const Json& profile, const std::string& code, const std::string& key) {
  const auto problem = find(lint(profile), code);
  ASSERT_NE(problem, std::nullopt) << code;
  EXPECT_EQ(problem->key, key);
}

TEST(ProfileLint, GoodProfileIsClean) {
  const auto problems = lint(good_profile());
  EXPECT_TRUE(problems.empty()) << all_codes(problems);
  EXPECT_FALSE(has_errors(problems));
}

TEST(ProfileLint, AttestWithoutHardwareBound) {
  Json p = good_profile();
  acme_of(p)["HardwareBound"] = false;
  const auto problems = lint(p);
  const auto problem = find(problems, "attest_requires_hardware_bound");
  ASSERT_NE(problem, std::nullopt) << all_codes(problems);
  EXPECT_EQ(problem->severity, Severity::Error);
  EXPECT_EQ(problem->payload, "com.example.acme");
  EXPECT_EQ(problem->payload_type, kAcmePayloadType);
  EXPECT_EQ(problem->key, "Attest");
  EXPECT_NE(problem->message.find("Secure Enclave"), std::string::npos);
  EXPECT_NE(problem->message.find("Fix:"), std::string::npos);
  EXPECT_TRUE(has_errors(problems));
}

TEST(ProfileLint, RsaWithHardwareBoundAndAttest) {
  Json p = good_profile();
  acme_of(p)["KeyType"] = "RSA";
  acme_of(p)["KeySize"] = 2048;
  const auto problems = lint(p);
  EXPECT_NE(find(problems, "hardware_bound_requires_ec"), std::nullopt) << all_codes(problems);
  EXPECT_NE(find(problems, "attest_with_rsa"), std::nullopt);
}

TEST(ProfileLint, HardwareBoundKeySizeMustBe256Or384) {
  for (int size : {521, 128, 2048}) {
    Json p = good_profile();
    acme_of(p)["KeySize"] = size;
    const auto problems = lint(p);
    const auto problem = find(problems, "hardware_bound_key_size");
    ASSERT_NE(problem, std::nullopt) << size << ": " << all_codes(problems);
    EXPECT_EQ(problem->key, "KeySize");
  }
  for (int size : {256, 384}) {
    Json p = good_profile();
    acme_of(p)["KeySize"] = size;
    EXPECT_TRUE(lint(p).empty()) << size;
  }
}

TEST(ProfileLint, DirectoryUrlNotHttps) {
  Json p = good_profile();
  acme_of(p)["DirectoryURL"] = "http://ca.example.com/acme/directory";
  expect_problem_about(p, "directory_url_not_https", "DirectoryURL");
}

TEST(ProfileLint, MissingClientIdentifier) {
  Json p = good_profile();
  acme_of(p).erase("ClientIdentifier");
  const auto problem = find(lint(p), "missing_client_identifier");
  ASSERT_NE(problem, std::nullopt);
  EXPECT_NE(problem->message.find("permanent-identifier"), std::string::npos);
}

TEST(ProfileLint, ReferenceToMissingAcmeUuid) {
  Json p = good_profile();
  const std::string acme_uuid = acme_of(p)["PayloadUUID"];
  wifi_of(p)["PayloadCertificateUUID"] = "00000000-0000-4000-8000-000000000000";
  const auto problems = lint(p);
  const auto problem = find(problems, "unknown_certificate_reference");
  ASSERT_NE(problem, std::nullopt) << all_codes(problems);
  EXPECT_EQ(problem->severity, Severity::Error);
  EXPECT_EQ(problem->payload_type, kWifiPayloadType);
  EXPECT_EQ(problem->key, "PayloadCertificateUUID");
  EXPECT_NE(problem->message.find("Wi-Fi"), std::string::npos);
  EXPECT_NE(problem->message.find(acme_uuid), std::string::npos) << "suggests the ACME payload";
}

TEST(ProfileLint, NestedVpnReferenceIsChecked) {
  Json p = good_profile();
  Json vpn = make_vpn_payload("vpn.example.com", "11111111-1111-4111-8111-111111111111");
  p["PayloadContent"].push_back(vpn);
  expect_problem_about(p, "unknown_certificate_reference", "IKEv2.PayloadCertificateUUID");
}

TEST(ProfileLint, ReferenceToNonIdentityPayload) {
  Json p = good_profile();
  Json second_wifi = make_wifi_payload("guest", wifi_of(p)["PayloadUUID"]);
  p["PayloadContent"].push_back(second_wifi);
  const auto problem = find(lint(p), "reference_not_identity");
  ASSERT_NE(problem, std::nullopt);
  EXPECT_EQ(problem->severity, Severity::Error);
}

TEST(ProfileLint, DuplicatePayloadUuid) {
  Json p = good_profile();
  wifi_of(p)["PayloadUUID"] = acme_of(p)["PayloadUUID"];
  const auto problems = lint(p);
  const auto problem = find(problems, "duplicate_payload_uuid");
  ASSERT_NE(problem, std::nullopt) << all_codes(problems);
  EXPECT_EQ(problem->key, "PayloadUUID");
  EXPECT_NE(problem->message.find("com.example.acme"), std::string::npos);
}

TEST(ProfileLint, DuplicatePayloadIdentifier) {
  Json p = good_profile();
  wifi_of(p)["PayloadIdentifier"] = "com.example.acme";
  EXPECT_NE(find(lint(p), "duplicate_payload_identifier"), std::nullopt);
}

TEST(ProfileLint, MissingCommonKeysOnPayloadsAndProfile) {
  for (const char* key : {"PayloadIdentifier", "PayloadType", "PayloadVersion", "PayloadUUID"}) {
    Json p = good_profile();
    wifi_of(p).erase(key);
    const auto problems = lint(p);
    std::string code =
        std::string("missing_") + (std::string(key) == "PayloadIdentifier" ? "payload_identifier"
                                   : std::string(key) == "PayloadType"     ? "payload_type"
                                   : std::string(key) == "PayloadVersion"  ? "payload_version"
                                                                           : "payload_uuid");
    const auto problem = find(problems, code);
    ASSERT_NE(problem, std::nullopt) << key << ": " << all_codes(problems);
    EXPECT_EQ(problem->key, key);
    EXPECT_EQ(problem->severity, Severity::Error);
  }
  Json root_missing = good_profile();
  root_missing.erase("PayloadIdentifier");
  const auto problem = find(lint(root_missing), "missing_payload_identifier");
  ASSERT_NE(problem, std::nullopt);
  EXPECT_EQ(problem->payload, "profile");
  Json acme_missing = good_profile();
  acme_of(acme_missing).erase("PayloadVersion");
  EXPECT_NE(find(lint(acme_missing), "missing_payload_version"), std::nullopt);
}

TEST(ProfileLint, WrongTypeOfCommonKey) {
  Json p = good_profile();
  wifi_of(p)["PayloadVersion"] = "1";
  expect_problem_about(p, "wrong_type", "PayloadVersion");
}

TEST(ProfileLint, MoreThanTenPayloadsUseOneAcmeIdentity) {
  Json p = good_profile();
  const std::string acme_uuid = acme_of(p)["PayloadUUID"];
  for (int i = 0; i < 9; ++i)
    p["PayloadContent"].push_back(make_wifi_payload("net" + std::to_string(i), acme_uuid));
  EXPECT_EQ(find(lint(p), "too_many_acme_references"), std::nullopt) << "10 users are allowed";
  p["PayloadContent"].push_back(make_vpn_payload("vpn.example.com", acme_uuid));
  const auto problem = find(lint(p), "too_many_acme_references");
  ASSERT_NE(problem, std::nullopt);
  EXPECT_EQ(problem->payload, "com.example.acme");
  EXPECT_NE(problem->message.find("11 payloads"), std::string::npos);
}

TEST(ProfileLint, BarePayloadIsNotAProfile) {
  const std::string bare = acme_payload_to_xml(
      AcmePayload::for_attestation("https://ca.example.com/acme/directory", "X"));
  const auto problems = lint_profile(bare);
  const auto problem = find(problems, "wrong_profile_type");
  ASSERT_NE(problem, std::nullopt) << all_codes(problems);
  EXPECT_NE(problem->message.find("bare payload"), std::string::npos);
}

TEST(ProfileLint, UnreadableFile) {
  const auto problems = lint_profile("this is not a plist");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, "not_a_profile");
  EXPECT_TRUE(has_errors(problems));
}

TEST(ProfileLint, PayloadContentProblems) {
  Json p = good_profile();
  p["PayloadContent"].push_back("oops");
  EXPECT_NE(find(lint(p), "payload_not_dict"), std::nullopt);
  Json empty = good_profile();
  empty["PayloadContent"] = Json::array();
  const auto warning = find(lint(empty), "empty_payload_content");
  ASSERT_NE(warning, std::nullopt);
  EXPECT_EQ(warning->severity, Severity::Warning);
  Json none = good_profile();
  none.erase("PayloadContent");
  EXPECT_NE(find(lint(none), "missing_payload_content"), std::nullopt);
}

Json mdm_profile() {
  MdmEnrollmentOptions m;
  m.server_url = "https://mdm.example.com/mdm/connect";
  m.check_in_url = "https://mdm.example.com/mdm/checkin";
  m.topic = "com.apple.mgmt.External.1234";
  return make_mdm_enrollment_profile(m);
}

TEST(ProfileLint, MdmPayloadRules) {
  Json p = mdm_profile();
  Json& mdm = p["PayloadContent"][0];
  mdm["ServerURL"] = "http://mdm.example.com/mdm/connect";
  mdm["Topic"] = "";
  mdm["AccessRights"] = 0;
  mdm["SignMessage"] = "no";
  const auto problems = lint(p);
  EXPECT_NE(find(problems, "mdm_url_not_https"), std::nullopt) << all_codes(problems);
  EXPECT_NE(find(problems, "mdm_missing_topic"), std::nullopt);
  EXPECT_NE(find(problems, "mdm_invalid_access_rights"), std::nullopt);
  EXPECT_NE(find(problems, "wrong_type"), std::nullopt);

  Json odd_topic = mdm_profile();
  odd_topic["PayloadContent"][0]["Topic"] = "my.topic";
  const auto warning = find(lint(odd_topic), "mdm_topic_not_apns");
  ASSERT_NE(warning, std::nullopt);
  EXPECT_EQ(warning->severity, Severity::Warning);

  Json two = mdm_profile();
  Json second = two["PayloadContent"][0];
  second["PayloadUUID"] = new_payload_uuid();
  second["PayloadIdentifier"] = "com.apple.mdm.second";
  two["PayloadContent"].push_back(second);
  EXPECT_NE(find(lint(two), "multiple_mdm_payloads"), std::nullopt);

  Json missing_url = mdm_profile();
  missing_url["PayloadContent"][0].erase("ServerURL");
  EXPECT_NE(find(lint(missing_url), "mdm_missing_server_url"), std::nullopt);
}

TEST(ProfileLint, DescribeLine) {
  Json p = good_profile();
  acme_of(p)["HardwareBound"] = false;
  const auto problem = find(lint(p), "attest_requires_hardware_bound");
  ASSERT_NE(problem, std::nullopt);
  EXPECT_EQ(describe(*problem).rfind(
                "error attest_requires_hardware_bound [com.example.acme] (Attest): ", 0),
            0u)
      << describe(*problem);
}

}  // namespace
}  // namespace attestlab::sim

namespace attestlab::sim {
namespace {

// A misspelled PayloadType is named, with the type it probably meant; with it the profile
// has no ACME payload left, which is an error.
TEST(ProfileLint, MisspelledAcmePayloadType) {
  Json p = good_profile();
  acme_of(p)["PayloadType"] = "com.apple.security.acm";
  const auto problems = lint_profile(json_to_plist_xml(p), /*expect_acme_payload=*/true);
  auto unknown = find(problems, "unknown_payload_type");
  ASSERT_TRUE(unknown) << all_codes(problems);
  EXPECT_EQ(unknown->severity, Severity::Warning);
  EXPECT_NE(unknown->message.find("did you mean com.apple.security.acme?"), std::string::npos)
      << unknown->message;
  auto none = find(problems, "no_acme_payload");
  ASSERT_TRUE(none) << all_codes(problems);
  EXPECT_EQ(none->severity, Severity::Error);
  EXPECT_TRUE(has_errors(problems));
  // A profile of other payloads (installed through MDM) only gets the warning.
  EXPECT_FALSE(find(lint(p), "no_acme_payload"));
  EXPECT_TRUE(find(lint(p), "unknown_payload_type"));
}

TEST(ProfileLint, UnknownTypeBesideAnAcmePayloadOnlyWarns) {
  Json p = good_profile();
  wifi_of(p)["PayloadType"] = "com.example.custom";
  const auto problems = lint(p);
  auto unknown = find(problems, "unknown_payload_type");
  ASSERT_TRUE(unknown) << all_codes(problems);
  EXPECT_NE(unknown->message.find("known: com.apple.security.acme"), std::string::npos);
  EXPECT_FALSE(find(problems, "no_acme_payload"));
}

}  // namespace
}  // namespace attestlab::sim
