#include "server/attest/device_attest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "server/attest/apple_attestation.h"
#include "testing/device_attest_support.h"

namespace attestlab::server {
namespace {

using testing::att_obj;
using testing::issue_leaf;
using testing::kNow;
using testing::LeafSpec;
using testing::TempDir;
using testing::TestAttestationCa;

// ---- Identifier syntax (draft §3.1, §4.1) ----

Result<void> syntax(const std::string& type, const std::string& value) {
  return check_device_identifier_syntax(Identifier{type, value});
}

TEST(IdentifierSyntax, PermanentIdentifierAccepted) {
  for (const char* v : {"C02XL0GVJGH5", "00008103-000A4C9E1E8A001E", "C02XL0GVJGH5/1.2.840.113635",
                        "dev/2.16.840.1.101", "d/0.9", "gerät-7"}) {
    EXPECT_TRUE(syntax("permanent-identifier", v).ok()) << v;
  }
}

// Values are bounded: a long one is refused before it reaches quota keys or the store.
TEST(IdentifierSyntax, LongValuesAreRejected) {
  const std::string at_bound(kMaxDeviceIdentifierBytes, 'A');
  EXPECT_TRUE(syntax("permanent-identifier", at_bound).ok());
  for (const char* type : {"permanent-identifier", "hardware-module"}) {
    auto r = syntax(type, at_bound + "A");
    ASSERT_FALSE(r.ok()) << type;
    EXPECT_EQ(r.error().type, "rejectedIdentifier");
    EXPECT_NE(r.error().detail.find("at most 255"), std::string::npos) << r.error().detail;
    EXPECT_EQ(r.error().detail.find("AAAA"), std::string::npos) << "value echoed";
  }
}

TEST(IdentifierSyntax, PermanentIdentifierRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty device part"},
      {"/1.2.3", "empty device part"},
      {"ABC/", "assigner"},
      {"ABC/1.2/3", "assigner"},
      {"ABC/foo", "assigner"},
      {"ABC/1", "assigner"},
      {"ABC/3.1", "assigner"},
      {"ABC/1.40", "assigner"},
      {"ABC/1.02", "assigner"},
      {"AB C", "whitespace"},
      {"AB\tC", "whitespace"},
      {std::string("AB\x01"
                   "C"),
       "control"},
      {std::string("AB\xff"), "UTF-8"},
  };
  for (const auto& [value, needle] : cases) {
    auto r = syntax("permanent-identifier", value);
    ASSERT_FALSE(r.ok()) << value;
    EXPECT_EQ(r.error().type, "malformed");
    EXPECT_NE(r.error().detail.find(needle), std::string::npos) << r.error().detail;
    EXPECT_NO_THROW((void)Json(r.error().detail).dump());
  }
}

TEST(IdentifierSyntax, HardwareModule) {
  EXPECT_TRUE(syntax("hardware-module", "SER123/1.3.6.1.4.1.45724.1.1.4").ok());
  for (const char* v : {"SER123", "/1.2.3", "SER 1/1.2.3", "SER/abc", "SER/1.2.3/4", "SER/"}) {
    auto r = syntax("hardware-module", v);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.error().type, "malformed") << v;
  }
}

TEST(IdentifierSyntax, OtherTypesAreNotDeviceIdentifiers) {
  auto r = syntax("dns", "example.com");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "unsupportedIdentifier");
}

TEST(Rules, ListedOnceEach) {
  const auto& rules = device_attest_rules();
  std::set<std::string> unique(rules.begin(), rules.end());
  EXPECT_EQ(unique.size(), rules.size());
  for (const char* r :
       {"ok", "freshness", "chain", "inventory_pair", "require_sip", "identifier_match"}) {
    EXPECT_EQ(unique.count(r), 1u) << r;
  }
}

// ---- The validator, end to end with real files and crypto ----

Challenge make_challenge() {
  return {.id = "chal-1",
          .type = "device-attest-01",
          .status = "processing",
          .token = "Zm9vYmFyYmF6dG9rZW4xMjM0NTY3ODkwYWJjZGVm"};
}

Account make_account() {
  return {.id = "acct-1"};
}

class Validator : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ca_ = new TestAttestationCa(TestAttestationCa::make()); }
  static void TearDownTestSuite() {
    delete ca_;
    ca_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(pki::write_file(dir_.file("roots.pem"), ca_->root.to_pem()).ok());
    config_.data_dir = dir_.path();
    config_.attestation_roots_file = dir_.file("roots.pem");
    config_.decision_log_file = dir_.file("log/decisions.jsonl");
    clock_ = std::make_shared<VirtualClock>(kNow);
  }

  std::unique_ptr<DeviceAttestValidator> make(const Json& policy = nullptr,
                                              const Json& inventory = nullptr) {
    if (!policy.is_null()) {
      EXPECT_TRUE(pki::write_file(dir_.file("policy.json"), policy.dump()).ok());
      config_.policy_file = dir_.file("policy.json");
    }
    if (!inventory.is_null()) {
      EXPECT_TRUE(pki::write_file(dir_.file("inventory.json"), inventory.dump()).ok());
      config_.inventory_file = dir_.file("inventory.json");
    }
    auto v = DeviceAttestValidator::create(config_, clock_);
    EXPECT_TRUE(v.ok()) << v.error().detail;
    if (!v.ok()) return nullptr;
    (*v)->set_decision_hook([this](const std::string& outcome, const std::string& rule) {
      std::lock_guard<std::mutex> lock(hook_mu_);
      hooked_.push_back(outcome + ":" + rule);
    });
    return std::move(*v);
  }

  Authorization authz(const std::string& value, const std::string& type = "permanent-identifier") {
    Authorization a;
    a.id = "authz-1";
    a.account_id = account_.id;
    a.identifier = Identifier{type, value};
    return a;
  }

  Json payload(const LeafSpec& spec, pki::PrivateKey* key_out = nullptr) {
    auto leaf = issue_leaf(*ca_, spec, challenge_.token);
    if (key_out != nullptr) *key_out = leaf.key;
    return Json{{"attObj", att_obj(*ca_, leaf)}};
  }

  // Runs one validation; returns "accepted" or the rule refused, and checks the decision
  // log and hook saw exactly this decision.
  std::string run(DeviceAttestValidator& v, const Authorization& a, const Json& body,
                  Json* evidence = nullptr, Error* error = nullptr) {
    auto r = v.validate(a, challenge_, account_, body);
    const auto lines = log_lines();
    EXPECT_EQ(lines.size(), ++decisions_) << "one decision log line per decision";
    if (lines.empty()) return "no-log";
    const Json line = parse_json(lines.back()).value();
    EXPECT_EQ(line["challenge"], challenge_.id);
    EXPECT_EQ(line["account"], account_.id);
    EXPECT_EQ(line["identifier"], a.identifier.to_json());
    EXPECT_TRUE(line["ts"].is_string());
    {
      std::lock_guard<std::mutex> lock(hook_mu_);
      EXPECT_EQ(hooked_.size(), decisions_);
      if (!hooked_.empty()) {
        EXPECT_EQ(hooked_.back(),
                  line["outcome"].get<std::string>() + ":" + line["rule"].get<std::string>());
      }
    }
    if (r.ok()) {
      EXPECT_EQ(line["outcome"], "accept");
      EXPECT_EQ(line["rule"], "ok");
      EXPECT_EQ(line["evidence"], *r);
      if (evidence != nullptr) *evidence = *r;
      return "accepted";
    }
    EXPECT_EQ(line["outcome"], "reject");
    EXPECT_EQ(line["detail"], r.error().detail);
    if (error != nullptr) *error = r.error();
    if (evidence != nullptr) *evidence = line["evidence"];
    return line["rule"].get<std::string>();
  }

  std::vector<std::string> log_lines() {
    std::ifstream in(config_.decision_log_file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  static TestAttestationCa* ca_;
  TempDir dir_;
  ServerConfig config_;
  std::shared_ptr<VirtualClock> clock_;
  Challenge challenge_ = make_challenge();
  Account account_ = make_account();
  std::mutex hook_mu_;
  std::vector<std::string> hooked_;
  std::size_t decisions_ = 0;
};
TestAttestationCa* Validator::ca_ = nullptr;

TEST_F(Validator, AcceptsAndExplains) {
  auto v = make();
  ASSERT_NE(v, nullptr);
  pki::PrivateKey key;
  Json evidence;
  ASSERT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{}, &key), &evidence), "accepted");
  EXPECT_EQ(evidence["spki"], base64url_encode(key.public_key().spki_der()));
  EXPECT_EQ(evidence["device_id"], "F2LXK3ABCD12");
  EXPECT_EQ(evidence["matched"], "serial");
  EXPECT_EQ(evidence["serial"], "F2LXK3ABCD12");
  EXPECT_EQ(evidence["udid"], "00008110-001A2B3C4D5E801E");
  EXPECT_EQ(evidence["os_version"], "17.5");
  EXPECT_EQ(evidence["sepos_version"], "21.5.0");
  EXPECT_EQ(evidence["llb_version"], "10151.121.1");
  EXPECT_EQ(evidence["platform"], "default");
  EXPECT_EQ(evidence["user_enrollment"], false);
  EXPECT_EQ(evidence["root_sha256"], hex_encode(ca_->root.fingerprint_sha256()));
  EXPECT_EQ(evidence["leaf_not_before"], format_rfc3339(kNow - 3600));
  EXPECT_TRUE(evidence["leaf_serial"].is_string());
  EXPECT_EQ(evidence["key"], "P-384");
}

TEST_F(Validator, MatchesUdidAndAssignerForm) {
  auto v = make();
  Json evidence;
  ASSERT_EQ(run(*v, authz("00008110-001A2B3C4D5E801E"), payload(LeafSpec{}), &evidence),
            "accepted");
  EXPECT_EQ(evidence["matched"], "udid");
  EXPECT_EQ(evidence["device_id"], "00008110-001A2B3C4D5E801E");
  ASSERT_EQ(run(*v, authz("F2LXK3ABCD12/1.2.840.113635"), payload(LeafSpec{}), &evidence),
            "accepted");
  EXPECT_EQ(evidence["device_id"], "F2LXK3ABCD12");
}

TEST_F(Validator, IdentifierMismatchRefused) {
  auto v = make();
  Error error;
  Json evidence;
  EXPECT_EQ(run(*v, authz("C02OTHERDEV1"), payload(LeafSpec{}), &evidence, &error),
            "identifier_match");
  EXPECT_EQ(error.type, "badAttestationStatement");
  EXPECT_NE(error.detail.find("C02OTHERDEV1"), std::string::npos);
  EXPECT_NE(error.detail.find("F2LXK3ABCD12"), std::string::npos);
  // The decision keeps what was verified.
  EXPECT_EQ(evidence["serial"], "F2LXK3ABCD12");
  // Case matters: identifiers compare octet for octet.
  EXPECT_EQ(run(*v, authz("f2lxk3abcd12"), payload(LeafSpec{})), "identifier_match");
}

TEST_F(Validator, MatchSerialOnly) {
  auto v = make(Json{{"match", "serial"}});
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{})), "accepted");
  EXPECT_EQ(run(*v, authz("00008110-001A2B3C4D5E801E"), payload(LeafSpec{})), "identifier_match");
}

TEST_F(Validator, MatchUdidOnly) {
  auto v = make(Json{{"match", "udid"}});
  EXPECT_EQ(run(*v, authz("00008110-001A2B3C4D5E801E"), payload(LeafSpec{})), "accepted");
  Error error;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{}), nullptr, &error),
            "identifier_match");
  EXPECT_EQ(error.detail.find("serial"), std::string::npos) << error.detail;
}

TEST_F(Validator, HardwareModuleMatchesSerial) {
  auto v = make();
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12/1.3.6.1.4.1.45724.1.1.4", "hardware-module"),
                payload(LeafSpec{})),
            "accepted");
}

TEST_F(Validator, MalformedIdentifierRefused) {
  auto v = make();
  Error error;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12/not-an-oid"), payload(LeafSpec{}), nullptr, &error),
            "identifier_syntax");
  EXPECT_EQ(error.type, "malformed");
}

TEST_F(Validator, PayloadShapes) {
  auto v = make();
  Error error;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), Json::object(), nullptr, &error), "payload");
  EXPECT_EQ(error.type, "malformed");
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), Json{{"attObj", 42}}, nullptr, &error), "payload");
  EXPECT_EQ(error.type, "malformed");
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), Json::array(), nullptr, &error), "payload");
  EXPECT_EQ(error.type, "malformed");
  // Unknown members are ignored (draft §5).
  Json body = payload(LeafSpec{});
  body["extra"] = {{"anything", true}};
  body["authData"] = "ignored";
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), body), "accepted");
  // Garbage attObj.
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), Json{{"attObj", "!!!"}}, nullptr, &error), "encoding");
  EXPECT_EQ(error.type, "badAttestationStatement");
}

TEST_F(Validator, ClientReportedErrorIsAGiveUp) {
  auto v = make();
  Error error;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), Json{{"error", "attestation service unreachable"}},
                nullptr, &error),
            "client_error");
  EXPECT_EQ(error.type, "badAttestationStatement");
  EXPECT_NE(error.detail.find("attestation service unreachable"), std::string::npos);
  // Even next to an attObj, and whatever its JSON type.
  Json body = payload(LeafSpec{});
  body["error"] = {{"code", 7}};
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), body, nullptr, &error), "client_error");
  EXPECT_NE(error.detail.find("\"code\":7"), std::string::npos) << error.detail;
}

TEST_F(Validator, FormatFailuresReachTheLog) {
  auto v = make();
  LeafSpec stale;
  stale.include_freshness = false;
  Json evidence;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(stale), &evidence), "freshness");
  EXPECT_TRUE(evidence.is_null());  // nothing verified, nothing claimed
  LeafSpec old;
  old.not_before = kNow - 8 * 86400;
  old.not_after = kNow + 86400;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(old)), "attestation_age");
}

TEST_F(Validator, UserEnrollmentRefusedByDefault) {
  auto v = make();
  LeafSpec byod;
  byod.serial.reset();
  byod.udid.reset();
  Error error;
  EXPECT_EQ(run(*v, authz("enrollment-7a1b"), payload(byod), nullptr, &error), "user_enrollment");
  EXPECT_NE(error.detail.find("allow_user_enrollment"), std::string::npos);
}

TEST_F(Validator, UserEnrollmentAllowedIsUnmatchedButRecorded) {
  auto v = make(Json{{"allow_user_enrollment", true}},
                Json::array({{{"serial", "F2LXK3ABCD12"}, {"status", "active"}}}));
  LeafSpec byod;
  byod.serial.reset();
  byod.udid.reset();
  Json evidence;
  ASSERT_EQ(run(*v, authz("enrollment-7a1b"), payload(byod), &evidence), "accepted");
  EXPECT_EQ(evidence["user_enrollment"], true);
  EXPECT_EQ(evidence["matched"], "none");
  EXPECT_EQ(evidence["device_id"], "");
  EXPECT_TRUE(evidence.contains("spki"));
}

TEST_F(Validator, InventoryRules) {
  const Json inventory = Json::array({
      {{"serial", "F2LXK3ABCD12"}, {"udid", "00008110-001A2B3C4D5E801E"}, {"status", "active"}},
      {{"serial", "C02YW1RETIRD"}, {"udid", "00008103-000B5D0F2F9B002F"}, {"status", "retired"}},
  });
  auto v = make(nullptr, inventory);
  Json evidence;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{}), &evidence), "accepted");
  EXPECT_EQ(evidence["inventory_status"], "active");

  LeafSpec unknown;
  unknown.serial = "C02UNKNOWN01";
  unknown.udid = "00008103-0000000000000099";
  Error error;
  EXPECT_EQ(run(*v, authz("C02UNKNOWN01"), payload(unknown), nullptr, &error), "inventory_unknown");
  EXPECT_EQ(error.type, "rejectedIdentifier");

  LeafSpec retired;
  retired.serial = "C02YW1RETIRD";
  retired.udid = "00008103-000B5D0F2F9B002F";
  EXPECT_EQ(run(*v, authz("C02YW1RETIRD"), payload(retired), nullptr, &error), "inventory_status");
  EXPECT_EQ(error.type, "rejectedIdentifier");

  LeafSpec swapped;  // serial of one device, UDID of another
  swapped.udid = "00008103-000B5D0F2F9B002F";
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(swapped), nullptr, &error), "inventory_pair");
  EXPECT_EQ(error.type, "rejectedIdentifier");
}

TEST_F(Validator, InventoryPlatformSelectsFloor) {
  const Json inventory = Json::array({
      {{"serial", "F2LXK3ABCD12"}, {"status", "active"}, {"platform", "iOS"}},
      {{"serial", "IPADSERIAL01"}, {"status", "active"}, {"platform", "iPadOS"}},
  });
  auto v = make(Json{{"min_os_version", {{"iOS", "17.10"}, {"iPadOS", "17.0"}}}}, inventory);
  Error error;
  Json evidence;
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{}), nullptr, &error), "min_os_version");
  EXPECT_NE(error.detail.find("17.5 is below the iOS minimum 17.10"), std::string::npos)
      << error.detail;
  LeafSpec ipad;
  ipad.serial = "IPADSERIAL01";
  ipad.udid.reset();
  ASSERT_EQ(run(*v, authz("IPADSERIAL01"), payload(ipad), &evidence), "accepted");
  EXPECT_EQ(evidence["platform"], "iPadOS");
}

TEST_F(Validator, MacPostureRules) {
  auto v = make();
  Json evidence;
  ASSERT_EQ(run(*v, authz("C02XL0GVJGH5"), payload(LeafSpec::healthy_mac()), &evidence),
            "accepted");
  EXPECT_EQ(evidence["platform"], "macOS");
  EXPECT_EQ(evidence["posture"]["sip"], true);

  LeafSpec sip_off = LeafSpec::healthy_mac();
  sip_off.sip = Bytes{0x00};
  Error error;
  EXPECT_EQ(run(*v, authz("C02XL0GVJGH5"), payload(sip_off), &evidence, &error), "require_sip");
  EXPECT_EQ(error.type, "badAttestationStatement");
  EXPECT_EQ(evidence["posture"]["sip"], false);  // the evidence behind the refusal

  LeafSpec reduced = LeafSpec::healthy_mac();
  reduced.secure_boot = to_bytes("reduced");
  EXPECT_EQ(run(*v, authz("C02XL0GVJGH5"), payload(reduced)), "require_full_secure_boot");

  LeafSpec kexts = LeafSpec::healthy_mac();
  kexts.kexts = Bytes{0x01};
  EXPECT_EQ(run(*v, authz("C02XL0GVJGH5"), payload(kexts)), "forbid_third_party_kexts");

  LeafSpec old_os = LeafSpec::healthy_mac();
  old_os.os_version = "13.6";
  EXPECT_EQ(run(*v, authz("C02XL0GVJGH5"), payload(old_os)), "min_os_version");
}

TEST_F(Validator, PostureRulesSwitchOff) {
  auto v = make(Json{{"require_sip", false},
                     {"require_full_secure_boot", false},
                     {"forbid_third_party_kexts", false}});
  LeafSpec lax = LeafSpec::healthy_mac();
  lax.sip = Bytes{0x00};
  lax.secure_boot = to_bytes("permissive");
  lax.kexts = Bytes{0x01};
  EXPECT_EQ(run(*v, authz("C02XL0GVJGH5"), payload(lax)), "accepted");
}

TEST_F(Validator, SeposFloor) {
  auto v = make(Json{{"min_sepos_version", "21.10"}});
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{})), "min_sepos_version");
}

TEST_F(Validator, CurvesFromPolicy) {
  auto v = make(Json{{"curves", {"P-256"}}});
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{})),
            "key");  // the default leaf is P-384
  LeafSpec p256;
  p256.key = pki::KeySpec::p256();
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(p256)), "accepted");
}

TEST_F(Validator, TheClockDecides) {
  auto v = make();
  const Json body = payload(LeafSpec{});  // valid kNow-1h .. kNow-1h+7d
  clock_->advance(7 * 86400);
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), body), "validity");
}

TEST_F(Validator, DecisionLogIsJsonLinesUnderConcurrency) {
  auto v = make();
  const Json good = payload(LeafSpec{});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        (void)v->validate(authz(t % 2 == 0 ? "F2LXK3ABCD12" : "WRONG"), challenge_, account_, good);
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 20u);
  int accepts = 0;
  for (const auto& line : lines) {
    auto j = parse_json(line);
    ASSERT_TRUE(j.ok()) << line;
    accepts += (*j)["outcome"] == "accept";
  }
  EXPECT_EQ(accepts, 10);
  std::lock_guard<std::mutex> lock(hook_mu_);
  EXPECT_EQ(hooked_.size(), 20u);
}

TEST_F(Validator, DefaultLogPathIsInDataDir) {
  config_.decision_log_file.clear();
  auto v = make();
  (void)v->validate(authz("F2LXK3ABCD12"), challenge_, account_, Json::object());
  std::ifstream in(dir_.file("decisions.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(parse_json(line).value()["rule"], "payload");
}

TEST_F(Validator, BadConfigurationFilesNamed) {
  ServerConfig c = config_;
  c.attestation_roots_file = dir_.file("missing.pem");
  auto r = DeviceAttestValidator::create(c, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("missing.pem"), std::string::npos);

  ASSERT_TRUE(pki::write_file(dir_.file("empty.pem"), "").ok());
  c.attestation_roots_file = dir_.file("empty.pem");
  EXPECT_FALSE(DeviceAttestValidator::create(c, clock_).ok());

  c = config_;
  ASSERT_TRUE(pki::write_file(dir_.file("bad-policy.json"), R"({"require_sip": "yes"})").ok());
  c.policy_file = dir_.file("bad-policy.json");
  r = DeviceAttestValidator::create(c, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("bad-policy.json"), std::string::npos);
  EXPECT_NE(r.error().detail.find("require_sip"), std::string::npos);

  c = config_;
  ASSERT_TRUE(pki::write_file(dir_.file("bad-inventory.json"), "{}").ok());
  c.inventory_file = dir_.file("bad-inventory.json");
  r = DeviceAttestValidator::create(c, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("bad-inventory.json"), std::string::npos);
}

TEST_F(Validator, DefaultRootsAreApplesAndRefuseTestChains) {
  config_.attestation_roots_file.clear();
  auto v = make();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(run(*v, authz("F2LXK3ABCD12"), payload(LeafSpec{})), "chain");
}

// ---- one active certificate per device ----
// The revocation itself is the store's (put_certificate_superseding, store_test.cpp); the
// validator says whether the policy asks for it, and which identifiers a device has.

TEST_F(Validator, SupersedingFollowsThePolicy) {
  EXPECT_TRUE(make()->supersedes_previous_certificates());  // the default policy
  EXPECT_TRUE(make(Json::object())->supersedes_previous_certificates());
  EXPECT_FALSE(
      make(Json{{"one_active_certificate_per_device", false}})->supersedes_previous_certificates());
}

TEST(AttestedDeviceIds, AddsDeviceIdSerialAndUdidOnceEach) {
  // The device enrolled before by UDID; now by serial. The new order's evidence names both.
  std::vector<std::string> ids;
  add_attested_device_ids("F2LXK3ABCD12",
                          Json{{"serial", "F2LXK3ABCD12"},
                               {"udid", "00008110-001A2B3C4D5E801E"},
                               {"device_id", "F2LXK3ABCD12"},
                               {"os_version", "17.4"}},
                          ids);
  EXPECT_EQ(ids, (std::vector<std::string>{"F2LXK3ABCD12", "00008110-001A2B3C4D5E801E"}));
  // A second authorization of the same device adds nothing new.
  add_attested_device_ids("00008110-001A2B3C4D5E801E",
                          Json{{"serial", "F2LXK3ABCD12"}, {"udid", "00008110-001A2B3C4D5E801E"}},
                          ids);
  EXPECT_EQ(ids.size(), 2u);
  // Empty values, non-string members and evidence that is not an object add nothing.
  std::vector<std::string> none;
  add_attested_device_ids("", Json{{"serial", ""}, {"udid", 42}}, none);
  add_attested_device_ids("", Json::array({"F2LXK3ABCD12"}), none);
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace attestlab::server
