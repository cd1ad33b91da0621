#include "scenarios/scenario.h"

#include <gtest/gtest.h>

#include <string>

namespace attestlab::scenarios {
namespace {

const std::string kBadDir = std::string(ATTESTLAB_SOURCE_DIR) + "/scenarios/testdata/bad/";

// Parses a bad file and returns its error detail (empty when it parsed, which fails).
std::string error_of(const std::string& file) {
  auto sc = load_scenario_file(kBadDir + file);
  if (sc.ok()) return "";
  EXPECT_EQ(sc.error().type, "malformed");
  return sc.error().detail;
}

struct BadFile {
  const char* file;
  const char* path_and_message;  // "steps[2].expect.error: must be ..."
};

class BadScenarioFile : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadScenarioFile, ErrorNamesFileAndField) {
  const BadFile& bad = GetParam();
  const std::string detail = error_of(bad.file);
  ASSERT_FALSE(detail.empty()) << bad.file << " parsed";
  EXPECT_EQ(detail.rfind(kBadDir + bad.file + ": ", 0), 0u) << detail;
  EXPECT_NE(detail.find(bad.path_and_message), std::string::npos) << detail;
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadScenarioFile,
    ::testing::Values(
        BadFile{"error-not-string.json",
                ": steps[2].expect.error: must be a string or a non-empty array of strings"},
        BadFile{"unknown-kind.json", ": devices[0].kind: must be one of iPhone, iPad, Mac"},
        BadFile{"unknown-fault.json",
                ": steps[0].client_faults[1]: unknown client fault \"skip_everything\""},
        BadFile{"missing-summary.json", ": summary: is required"},
        BadFile{"unknown-device.json", ": steps[1].device: no device \"tablet\" in devices"},
        BadFile{"serial-override.json", ": devices[0].identity.serial: is generated for every run"},
        BadFile{"expectation-not-allowed.json",
                ": steps[0].expect.revoked: cannot be checked by device_information steps"},
        BadFile{"typo-member.json",
                ": steps[0].client_fault: is not a member of acme_enroll steps"},
        BadFile{"server-clock-undeclared.json",
                ": steps[1].server: moving the server's clock needs \"server-clock\""},
        BadFile{"not-json.json", ": not valid JSON"},
        BadFile{"fleet-bad-action.json",
                ": steps[0].actions[1]: must be mdm_enroll, install_profile"},
        BadFile{"status-without-error.json", ": steps[0].expect.status: needs an expected error"},
        BadFile{"duplicate-device.json", ": devices[1].id: \"phone\" is used twice"}));

TEST(ScenarioParse, MissingFileNamesThePath) {
  auto sc = load_scenario_file(kBadDir + "does-not-exist.json");
  ASSERT_FALSE(sc.ok());
  EXPECT_NE(sc.error().detail.find("does-not-exist.json"), std::string::npos);
}

TEST(ScenarioParse, RootMustBeAnObject) {
  auto sc = parse_scenario_text("[1, 2]", "x.json");
  ASSERT_FALSE(sc.ok());
  EXPECT_EQ(sc.error().detail, "x.json: a scenario must be a JSON object");
}

Json minimal(Json steps, Json devices = Json::array({Json{{"id", "phone"}, {"kind", "iPhone"}}})) {
  return Json{{"name", "t"},        {"summary", "s"}, {"threat", "t"}, {"spec", {"RFC 8555 §7"}},
              {"devices", devices}, {"steps", steps}};
}

TEST(ScenarioParse, EveryStepTypeAndItsMembers) {
  Json doc =
      minimal(Json::parse(R"([
    {"type": "mdm_enroll", "device": "phone"},
    {"type": "install_profile", "device": "phone", "payload": {"key_size": 256},
     "expect": {"issued": true, "command_status": "Acknowledged"}},
    {"type": "device_information", "device": "phone", "nonce": "repeat", "expect": {"mdm_verdict": "stale"}},
    {"type": "acme_enroll", "device": "phone", "client_faults": ["rsa_csr", "stale_token"], "reuse_key": true,
     "payload": {"key_type": "RSA", "key_size": 2048, "hardware_bound": false, "attest": true,
                 "key_is_extractable": true, "client_identifier": "udid:other"},
     "other_device": "other",
     "expect": {"error": ["badCSR", "badPublicKey"], "status": 400, "failed_step": "finalize",
                "challenge_status": "valid", "network_requests": 9}},
    {"type": "restore", "device": "phone"},
    {"type": "advance_clock", "days": 2},
    {"type": "advance_clock", "seconds": 30, "server": true},
    {"type": "revoke", "device": "phone", "by": "certificate-key", "reason": 4, "certificate": "previous",
     "expect": {"error": "keyUnavailable"}},
    {"type": "check_certificate", "device": "phone", "certificate": "previous", "expect": {"revoked": true}},
    {"type": "check_key", "device": "phone", "expect": {"key_usable": false}},
    {"type": "attestation_outage", "mode": "connection"},
    {"type": "update_device", "device": "phone", "posture": {"sip_enabled": false},
     "claims": {"os_version": "18.0"}, "identity": {"os_version": "17.0"}},
    {"type": "fleet", "count": 5, "kinds": {"iPhone": 3, "IntelMac": 1}, "include_legacy": false, "parallel": 2,
     "actions": ["mdm_enroll", "acme_enroll"],
     "expect": {"capable": {"issued": true}, "legacy": {"error": "deviceCannotAttest"}}},
    {"type": "hijack", "device": "phone", "attacker": "other", "action": "finalize",
     "expect": {"error": "unauthorized", "status": 403}}
  ])"),
              Json::parse(R"([{"id": "phone", "kind": "iPhone"}, {"id": "other", "kind": "Mac",
                                      "posture": {"secure_boot": "reduced"}, "inventory": "pair-mismatch",
                                      "enrollment": "user", "claims": {"serial": "X1"}}])"));
  doc["requires"] = {"server-clock"};
  auto sc = parse_scenario(doc, "all-steps.json");
  ASSERT_TRUE(sc.ok()) << sc.error().detail;
  ASSERT_EQ(sc->steps.size(), 14u);
  const auto& s = sc->steps;
  EXPECT_EQ(s[0].type, StepType::MdmEnroll);
  EXPECT_FALSE(s[0].expect.has_value());
  EXPECT_EQ(s[1].payload.key_size, 256);
  EXPECT_EQ(s[1].expect->command_status, "Acknowledged");
  EXPECT_EQ(s[2].nonce, "repeat");
  EXPECT_EQ(s[3].client_faults, (std::vector<std::string>{"rsa_csr", "stale_token"}));
  EXPECT_TRUE(s[3].reuse_key);
  EXPECT_EQ(s[3].other_device, "other");
  EXPECT_EQ(s[3].payload.key_type, "RSA");
  EXPECT_EQ(s[3].payload.hardware_bound, false);
  EXPECT_EQ(s[3].payload.client_identifier, "udid:other");
  EXPECT_EQ(s[3].expect->error, (std::vector<std::string>{"badCSR", "badPublicKey"}));
  EXPECT_EQ(s[3].expect->status, 400);
  EXPECT_EQ(s[3].expect->issued, false);  // implied by an expected error
  EXPECT_EQ(s[3].expect->network_requests, 9);
  EXPECT_EQ(s[5].seconds, 2 * 86400);
  EXPECT_FALSE(s[5].server_clock);
  EXPECT_EQ(s[6].seconds, 30);
  EXPECT_TRUE(s[6].server_clock);
  EXPECT_EQ(s[7].revoke_by, "certificate-key");
  EXPECT_EQ(s[7].reason, 4);
  EXPECT_EQ(s[7].certificate, CertificateRef::Previous);
  EXPECT_EQ(s[8].expect->revoked, true);
  EXPECT_EQ(s[9].expect->key_usable, false);
  EXPECT_EQ(s[10].outage, "connection");
  ASSERT_TRUE(s[11].posture.has_value());
  EXPECT_EQ(s[11].posture->sip_enabled, false);
  EXPECT_FALSE(s[11].posture->secure_boot.has_value());
  EXPECT_EQ(s[11].claims->os_version, "18.0");
  EXPECT_EQ(s[11].identity.os_version, "17.0");
  EXPECT_EQ(s[12].fleet.count, 5);
  EXPECT_FALSE(s[12].fleet.include_legacy);
  EXPECT_EQ(s[12].fleet.parallel, 2);
  EXPECT_EQ(s[12].fleet.actions,
            (std::vector<StepType>{StepType::MdmEnroll, StepType::AcmeEnroll}));
  ASSERT_EQ(s[12].fleet.weights.size(), sim::all_device_kinds().size());
  EXPECT_EQ(s[12].fleet.weights[0], 3u);  // iPhone comes first
  EXPECT_EQ(s[12].fleet.legacy->error, (std::vector<std::string>{"deviceCannotAttest"}));
  EXPECT_EQ(s[13].type, StepType::Hijack);
  EXPECT_EQ(s[13].attacker, "other");
  EXPECT_EQ(s[13].hijack, "finalize");
  EXPECT_EQ(s[13].expect->status, 403);

  const DeviceSpec* other = sc->find_device("other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->kind, sim::DeviceKind::Mac);
  EXPECT_EQ(other->inventory, InventoryMembership::PairMismatch);
  EXPECT_EQ(other->enrollment, EnrollmentType::User);
  EXPECT_EQ(other->posture.secure_boot, sim::SecureBootLevel::Reduced);
  EXPECT_EQ(other->claims.serial, "X1");
}

TEST(ScenarioParse, CommentsAreIgnoredAndAssumedPolicyImpliesRequirement) {
  Json doc =
      minimal(Json::parse(R"([{"type": "acme_enroll", "device": "phone", "_why": "comment"}])"));
  doc["_about"] = "a comment";
  doc["assumes_policy"] = {{"min_os_version", {{"macOS", "14.5"}}}};
  auto sc = parse_scenario(doc, "c.json");
  ASSERT_TRUE(sc.ok()) << sc.error().detail;
  EXPECT_TRUE(sc->needs(kRequiresPolicy));
  EXPECT_EQ(sc->assumes_policy["min_os_version"]["macOS"], "14.5");
  EXPECT_EQ(sc->level, "MUST");
}

TEST(ScenarioParse, StepErrorsNameTheirPath) {
  struct Case {
    const char* step;
    const char* error;
  };
  const Case cases[] = {
      {R"({"type": "teleport", "device": "phone"})", "steps[0].type: must be one of mdm_enroll"},
      {R"({"device": "phone"})", "steps[0].type: is required"},
      {R"({"type": "acme_enroll"})", "steps[0].device: is required"},
      {R"({"type": "advance_clock"})", "steps[0]: advance_clock needs exactly one of"},
      {R"({"type": "advance_clock", "days": 1, "seconds": 5})",
       "steps[0]: advance_clock needs exactly one of"},
      {R"({"type": "advance_clock", "days": -1})", "steps[0].days: must be between 1"},
      {R"({"type": "check_key", "device": "phone"})", "steps[0].expect: is required for check_key"},
      {R"({"type": "acme_enroll", "device": "phone", "expect": {}})",
       "steps[0].expect: must check at least one thing"},
      {R"({"type": "acme_enroll", "device": "phone", "expect": {"issued": true, "error": "badCSR"}})",
       "steps[0].expect.issued: true contradicts"},
      {R"({"type": "acme_enroll", "device": "phone", "expect": {"failed_step": "teleport"}})",
       "steps[0].expect.failed_step: must be one of payload"},
      {R"({"type": "acme_enroll", "device": "phone", "payload": {"client_identifier": "mac"}})",
       "steps[0].payload.client_identifier: must be"},
      {R"({"type": "acme_enroll", "device": "phone", "payload": {"client_identifier": "serial:ghost"}})",
       "steps[0].payload.client_identifier: no device \"ghost\""},
      {R"({"type": "acme_enroll", "device": "phone", "other_device": "phone"})",
       "steps[0].other_device: must be another device"},
      {R"({"type": "install_profile", "device": "phone", "client_faults": ["stale_token"]})",
       "steps[0].client_faults: is not a member of install_profile steps"},
      {R"({"type": "restore", "device": "phone", "expect": {"issued": true}})",
       "steps[0].expect: is not a member of restore steps"},
      {R"({"type": "attestation_outage", "mode": "sometimes"})",
       "steps[0].mode: must be one of off"},
      {R"({"type": "update_device", "device": "phone"})", "steps[0]: update_device needs"},
      {R"({"type": "fleet", "count": 0, "actions": ["mdm_enroll"]})",
       "steps[0].count: must be between 1"},
      {R"({"type": "fleet", "count": 3, "kinds": {"Toaster": 1}, "actions": ["mdm_enroll"]})",
       "steps[0].kinds.Toaster: is not a device kind"},
      {R"({"type": "fleet", "count": 3, "actions": ["mdm_enroll"], "expect": {"everyone": {"issued": true}}})",
       "steps[0].expect.everyone: is not a fleet device class"},
      {R"({"type": "device_information", "device": "phone", "expect": {"command_status": "Done"}})",
       "steps[0].expect.command_status: must be one of Acknowledged"},
      {R"("acme_enroll")", "steps[0]: must be an object"},
      {R"({"type": "hijack", "device": "phone", "attacker": "phone", "action": "finalize"})",
       "steps[0].attacker: must be another device"},
      {R"({"type": "hijack", "device": "phone", "attacker": "phone"})",
       "steps[0].action: is required"},
      {R"({"type": "hijack", "device": "phone", "attacker": "mallory", "action": "finalize"})",
       "steps[0].attacker: no device \"mallory\""},
      {R"({"type": "hijack", "device": "phone", "attacker": "x", "action": "steal"})",
       "steps[0].action: must be one of respond_challenge, finalize, revoke"},
      {R"({"type": "acme_renew", "device": "phone", "expect": {"ari_renewal": true}})",
       "steps[0]: checking renewals through ARI needs \"ari\" in requires"},
      {R"({"type": "acme_enroll", "device": "phone", "expect": {"ari_renewal": true}})",
       "steps[0].expect.ari_renewal: cannot be checked by acme_enroll steps"},
      {R"({"type": "acme_renew", "device": "phone", "reuse_key": false})",
       "steps[0].reuse_key: is not a member of acme_renew steps"},
      {R"({"type": "fleet", "count": 3, "actions": ["acme_enroll", "acme_renew"],
           "expect": {"capable": {"issued": true}, "spread_windows": true}})",
       "steps[0]: checking renewals through ARI needs \"ari\" in requires"},
  };
  for (const auto& c : cases) {
    auto sc = parse_scenario(minimal(Json::array({Json::parse(c.step)})), "f.json");
    ASSERT_FALSE(sc.ok()) << c.step;
    EXPECT_NE(sc.error().detail.find(std::string("f.json: ") + c.error), std::string::npos)
        << c.step << " → " << sc.error().detail;
  }
}

// acme_renew (RFC 9773 renewal): keeps the key; with requires ari its expectation and the
// fleet's window spread check parse.
TEST(ScenarioParse, RenewalThroughAri) {
  Json doc = minimal(Json::parse(R"([
    {"type": "acme_enroll", "device": "phone"},
    {"type": "acme_renew", "device": "phone", "expect": {"issued": true, "ari_renewal": true}},
    {"type": "fleet", "count": 4, "include_legacy": false, "actions": ["acme_enroll", "acme_renew"],
     "expect": {"capable": {"ari_renewal": true}, "spread_windows": true}}])"));
  doc["requires"] = Json::array({"ari"});
  auto sc = parse_scenario(doc, "r.json");
  ASSERT_TRUE(sc.ok()) << sc.error().detail;
  const Step& renew = sc->steps[1];
  EXPECT_EQ(renew.type, StepType::AcmeRenew);
  EXPECT_TRUE(renew.reuse_key);
  ASSERT_TRUE(renew.expect.has_value());
  EXPECT_EQ(renew.expect->ari_renewal, true);
  EXPECT_EQ(renew.expect->describe(), "certificate issued, renewed through ARI (replaces honoured)");
  const FleetSpec& fleet = sc->steps[2].fleet;
  EXPECT_TRUE(fleet.spread_windows);
  EXPECT_EQ(fleet.actions, (std::vector<StepType>{StepType::AcmeEnroll, StepType::AcmeRenew}));
  EXPECT_EQ(fleet.capable->ari_renewal, true);
  EXPECT_TRUE(sc->needs(kRequiresAri));
}

TEST(ScenarioParse, TopLevelErrors) {
  Json doc = minimal(Json::parse(R"([{"type": "acme_enroll", "device": "phone"}])"));
  auto with = [&](const char* key, Json value) {
    Json d = doc;
    d[key] = std::move(value);
    auto sc = parse_scenario(d, "t.json");
    return sc.ok() ? std::string() : sc.error().detail;
  };
  EXPECT_EQ(with("name", "Has Spaces"),
            "t.json: name: must be 1-64 characters of a-z, 0-9 and '-'");
  EXPECT_EQ(with("spec", Json::array()), "t.json: spec: must not be empty");
  EXPECT_EQ(with("requires", {"time-machine"}),
            "t.json: requires[0]: must be server-clock, inventory, policy or ari");
  EXPECT_EQ(with("level", "MAYBE"),
            "t.json: level: must be one of MUST, SHOULD, policy (got \"MAYBE\")");
  EXPECT_EQ(with("steps", Json::array()), "t.json: steps: must not be empty");
  EXPECT_EQ(with("extra", 1), "t.json: extra: is not a scenario member (see scenarios/FORMAT.md)");
  EXPECT_EQ(with("devices", Json::object()), "t.json: devices: must be an array");
}

TEST(Expectation, DescribeIsOneLine) {
  Expectation e;
  e.error = {"badCSR"};
  e.status = 400;
  e.failed_step = "finalize";
  EXPECT_EQ(e.describe(), "refused with badCSR (HTTP 400), failing at step finalize");
  Expectation issued;
  issued.issued = true;
  issued.mdm_verdict = "trusted";
  EXPECT_EQ(issued.describe(), "certificate issued, MDM verdict trusted");
}

}  // namespace
}  // namespace attestlab::scenarios
