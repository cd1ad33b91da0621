#include "scenarios/plan.h"

#include <gtest/gtest.h>

#include <set>

#include "scenarios/library.h"
#include "scenarios/observation.h"

namespace attestlab::scenarios {
namespace {

Scenario parsed(const std::string& text, const std::string& file = "p.json") {
  auto sc = parse_scenario_text(text, file);
  EXPECT_TRUE(sc.ok()) << (sc.ok() ? "" : sc.error().detail);
  return sc.ok() ? *sc : Scenario{};
}

const char* kInventoryStory = R"({
  "name": "inv", "summary": "s", "threat": "t", "spec": ["x"],
  "devices": [
    {"id": "a", "kind": "iPhone"},
    {"id": "b", "kind": "Mac", "inventory": "retired", "identity": {"os_version": "14.4"}},
    {"id": "c", "kind": "iPad", "inventory": "unknown"},
    {"id": "d", "kind": "Watch", "inventory": "pair-mismatch"}
  ],
  "steps": [{"type": "fleet", "count": 7, "actions": ["mdm_enroll"], "include_legacy": false}]
})";

TEST(Plan, InventoryListsDevicesAsTheirMembershipSays) {
  const auto plans = plan_run({parsed(kInventoryStory)}, 42);
  ASSERT_EQ(plans.size(), 1u);
  const ScenarioPlan& p = plans[0];
  ASSERT_EQ(p.devices.size(), 4u);
  EXPECT_EQ(p.find("b")->identity.os_version, "14.4");  // override applied
  ASSERT_EQ(p.fleets.count(0), 1u);
  EXPECT_EQ(p.fleets.at(0).size(), 7u);
  for (const auto& d : p.fleets.at(0)) EXPECT_TRUE(sim::kind_can_attest(d.kind)) << d.id;

  const Json inv = inventory_json(plans);
  ASSERT_EQ(inv.size(), 3u + 7u);  // "unknown" is not listed
  auto entry_for = [&](const std::string& serial) -> const Json* {
    for (const auto& e : inv)
      if (e["serial"] == serial) return &e;
    return nullptr;
  };
  const Json* a = entry_for(p.find("a")->identity.serial);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ((*a)["status"], "active");
  EXPECT_EQ((*a)["udid"], p.find("a")->identity.udid);
  EXPECT_EQ((*a)["platform"], "iOS");
  const Json* b = entry_for(p.find("b")->identity.serial);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ((*b)["status"], "retired");
  EXPECT_EQ((*b)["platform"], "macOS");
  EXPECT_EQ(entry_for(p.find("c")->identity.serial), nullptr);
  const Json* d = entry_for(p.find("d")->identity.serial);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ((*d)["status"], "active");
  EXPECT_NE((*d)["udid"], p.find("d")->identity.udid);  // listed with another UDID
  EXPECT_EQ((*d)["udid"], p.find("d")->listed_udid);
}

TEST(Plan, IdentitiesAreUniqueAcrossTheRunAndDeterministic) {
  auto library = load_library();
  ASSERT_TRUE(library.ok()) << library.error().detail;
  const auto plans = plan_run(*library, 7);
  const auto again = plan_run(*library, 7);
  const auto other = plan_run(*library, 8);
  std::set<std::string> serials, udids;
  std::size_t n = 0;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    auto check = [&](const PlannedDevice& d) {
      ++n;
      EXPECT_TRUE(serials.insert(d.identity.serial).second) << d.identity.serial;
      EXPECT_TRUE(udids.insert(d.identity.udid).second) << d.identity.udid;
    };
    for (const auto& d : plans[i].devices) check(d);
    for (const auto& [step, fleet] : plans[i].fleets)
      for (const auto& d : fleet) check(d);
    ASSERT_EQ(plans[i].devices.size(), again[i].devices.size());
    for (std::size_t k = 0; k < plans[i].devices.size(); ++k) {
      EXPECT_EQ(plans[i].devices[k].identity, again[i].devices[k].identity);
    }
  }
  EXPECT_GT(n, 130u);  // the fleet alone has 100
  EXPECT_NE(plans.front().devices.front().identity.serial,
            other.front().devices.front().identity.serial);
}

TEST(Plan, AssumedPoliciesMergeOrConflict) {
  auto a = parsed(R"({"name": "a", "summary": "s", "threat": "t", "spec": ["x"], "devices": [],
    "assumes_policy": {"min_os_version": {"macOS": "14.5"}, "require_sip": true},
    "steps": [{"type": "advance_clock", "days": 1}]})",
                  "a.json");
  auto b = parsed(R"({"name": "b", "summary": "s", "threat": "t", "spec": ["x"], "devices": [],
    "assumes_policy": {"min_os_version": {"iOS": "17.0"}},
    "steps": [{"type": "advance_clock", "days": 1}]})",
                  "b.json");
  auto c = parsed(R"({"name": "c", "summary": "s", "threat": "t", "spec": ["x"], "devices": [],
    "assumes_policy": {"min_os_version": {"macOS": "15.0"}},
    "steps": [{"type": "advance_clock", "days": 1}]})",
                  "c.json");
  auto merged = merged_assumed_policy({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().detail;
  EXPECT_EQ((*merged)["min_os_version"]["macOS"], "14.5");
  EXPECT_EQ((*merged)["min_os_version"]["iOS"], "17.0");
  EXPECT_EQ((*merged)["require_sip"], true);
  auto conflict = merged_assumed_policy({a, b, c});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().detail,
            "assumes_policy.min_os_version.macOS: a.json and c.json disagree");
}

TEST(Plan, PlatformNames) {
  EXPECT_STREQ(platform_of(sim::DeviceKind::IPad), "iPadOS");
  EXPECT_STREQ(platform_of(sim::DeviceKind::IntelMac), "macOS");
  EXPECT_STREQ(platform_of(sim::DeviceKind::AppleTv), "tvOS");
  EXPECT_STREQ(platform_of(sim::DeviceKind::VisionPro), "visionOS");
  EXPECT_STREQ(platform_of(sim::DeviceKind::Watch), "watchOS");
  EXPECT_STREQ(platform_of(sim::DeviceKind::LegacyIPhone), "iOS");
}

TEST(Observation, MismatchesNameEachViolatedMember) {
  Expectation e;
  e.error = {"badCSR"};
  e.status = 400;
  e.failed_step = "finalize";
  e.challenge_status = "valid";
  e.issued = false;
  Observation issued;
  issued.issued = true;
  issued.challenge_status = "valid";
  auto m = mismatches(e, issued);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], "issued: expected no certificate, observed a certificate issued");
  EXPECT_EQ(m[1], "error: expected badCSR, observed certificate issued");
  EXPECT_EQ(m[2], "status: expected HTTP 400, observed no HTTP error status");
  EXPECT_EQ(m[3], "failed_step: expected finalize, observed (none)");

  Observation refused;
  refused.error = Error::make("badCSR", "CSR key differs", 400);
  refused.failed_step = "finalize";
  refused.challenge_status = "valid";
  EXPECT_TRUE(mismatches(e, refused).empty());

  Observation other;
  other.error = Error::make("badAttestationStatement", "no", 403);
  other.failed_step = "challenge";
  other.challenge_status = "invalid";
  m = mismatches(e, other);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], "error: expected badCSR, observed badAttestationStatement (HTTP 403)");
  EXPECT_EQ(m[1], "status: expected HTTP 400, observed HTTP 403");
  EXPECT_EQ(m[3], "challenge_status: expected valid, observed invalid");

  Expectation checks;
  checks.mdm_verdict = "trusted";
  checks.revoked = true;
  checks.key_usable = false;
  checks.network_requests = 0;
  checks.command_status = "Acknowledged";
  Observation seen;
  seen.mdm_verdict = "stale";
  seen.key_usable = true;
  seen.network_requests = 3;
  m = mismatches(checks, seen);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0], "mdm_verdict: expected trusted, observed stale");
  EXPECT_EQ(m[1], "command_status: expected Acknowledged, observed (none)");
  EXPECT_EQ(m[2], "revoked: expected revoked, observed unknown");
  EXPECT_EQ(m[3], "key_usable: expected unusable, observed usable");
  EXPECT_EQ(m[4], "network_requests: expected 0, observed 3");
}

TEST(Observation, OneOfSeveralErrorTypes) {
  Expectation e;
  e.error = {"badCSR", "badPublicKey"};
  Observation o;
  o.error = Error::make("badPublicKey", "RSA");
  EXPECT_TRUE(mismatches(e, o).empty());
  o.error = Error::make("malformed", "x");
  EXPECT_EQ(mismatches(e, o).front(), "error: expected badCSR or badPublicKey, observed malformed");
}

}  // namespace
}  // namespace attestlab::scenarios
