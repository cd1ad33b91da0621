// The engine without an ACME server (scenarios never include server/; the end-to-end
// tests in tests/e2e run it against the embedded one): outcomes for requirements,
// device-side refusals, unreachable targets and harness errors.
#include "scenarios/engine.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace attestlab::scenarios {
namespace {

using reports::Outcome;

std::shared_ptr<const sim::AppleCa> test_ca() {
  static std::shared_ptr<const sim::AppleCa> ca = [] {
    auto made = sim::AppleCa::create(SystemClock().now());
    EXPECT_TRUE(made.ok());
    return std::make_shared<const sim::AppleCa>(std::move(*made));
  }();
  return ca;
}

// A target nobody listens on (port 1 on loopback refuses connections).
Target unreachable_target() {
  Target t;
  t.name = "nowhere";
  t.directory_url = "https://127.0.0.1:1/acme/directory";
  t.attestation_ca = test_ca();
  t.http_timeout_ms = 2000;
  return t;
}

ScenarioPlan plan_of(const std::string& text) {
  auto sc = parse_scenario_text(text, "engine.json");
  EXPECT_TRUE(sc.ok()) << (sc.ok() ? "" : sc.error().detail);
  return plan_run({*sc}, 1).front();
}

TEST(Engine, DeviceSideRefusalPassesWithoutANetworkRequest) {
  const auto plan =
      plan_of(R"({"name": "rsa", "summary": "s", "threat": "t", "spec": ["Apple MDA §x"],
    "devices": [{"id": "phone", "kind": "iPhone"}],
    "steps": [{"type": "acme_enroll", "device": "phone",
               "payload": {"key_type": "RSA", "key_size": 2048, "hardware_bound": false, "attest": true},
               "expect": {"error": "payloadRefused", "failed_step": "payload", "network_requests": 0}}]})");
  const ScenarioResult r = run_scenario(plan, unreachable_target(), RunOptions{});
  ASSERT_EQ(r.cases.size(), 1u);
  const auto& c = r.cases[0];
  EXPECT_EQ(c.outcome, Outcome::Pass) << c.reason;
  EXPECT_EQ(c.id, "rsa/01-acme_enroll");
  EXPECT_EQ(c.profile, "rsa");
  EXPECT_EQ(c.spec, "Apple MDA");
  EXPECT_EQ(c.section, "x");
  EXPECT_EQ(c.expected, "refused with payloadRefused, failing at step payload, 0 network requests");
  EXPECT_NE(c.observed.find("refused: payloadRefused at payload"), std::string::npos) << c.observed;
  EXPECT_TRUE(c.wire_log.empty());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.verdict(), "pass");
}

TEST(Engine, WrongExpectationFailsNamingTheMember) {
  const auto plan = plan_of(R"({"name": "wrong", "summary": "s", "threat": "t", "spec": ["x"],
    "devices": [{"id": "phone", "kind": "iPhone"}],
    "steps": [{"type": "acme_enroll", "device": "phone", "payload": {"key_type": "RSA", "key_size": 2048},
               "expect": {"issued": true}}]})");
  const ScenarioResult r = run_scenario(plan, unreachable_target(), RunOptions{});
  ASSERT_EQ(r.cases.size(), 1u);
  EXPECT_EQ(r.cases[0].outcome, Outcome::Fail);
  EXPECT_EQ(r.cases[0].reason.rfind(
                "issued: expected a certificate, observed refused: payloadRefused", 0),
            0u)
      << r.cases[0].reason;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.verdict(), "fail");
}

TEST(Engine, UnreachableTargetErrorsAndSkipsTheRest) {
  const auto plan = plan_of(R"({"name": "down", "summary": "s", "threat": "t", "spec": ["x"],
    "devices": [{"id": "phone", "kind": "iPhone"}],
    "steps": [{"type": "acme_enroll", "device": "phone", "expect": {"issued": true}},
              {"type": "restore", "device": "phone"},
              {"type": "check_key", "device": "phone", "expect": {"key_usable": false}}]})");
  const ScenarioResult r = run_scenario(plan, unreachable_target(), RunOptions{});
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[0].outcome, Outcome::Error);
  EXPECT_NE(r.cases[0].reason.find("target unreachable"), std::string::npos) << r.cases[0].reason;
  EXPECT_EQ(r.cases[1].outcome, Outcome::Skip);
  EXPECT_EQ(r.cases[1].reason, "an earlier step errored (down/01-acme_enroll)");
  EXPECT_EQ(r.steps_run, 1u);
  EXPECT_EQ(r.verdict(), "error");
}

TEST(Engine, FailedSetupStepIsAnError) {
  const auto plan = plan_of(R"({"name": "setup", "summary": "s", "threat": "t", "spec": ["x"],
    "devices": [{"id": "phone", "kind": "iPhone"}],
    "steps": [{"type": "acme_enroll", "device": "phone", "payload": {"key_type": "RSA", "key_size": 2048}},
              {"type": "check_key", "device": "phone", "expect": {"key_usable": true}}]})");
  const ScenarioResult r = run_scenario(plan, unreachable_target(), RunOptions{});
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[0].outcome, Outcome::Error);
  EXPECT_EQ(r.cases[0].reason.rfind("setup step failed: refused: payloadRefused", 0), 0u)
      << r.cases[0].reason;
  EXPECT_EQ(r.cases[1].outcome, Outcome::Skip);
}

TEST(Engine, MissingCertificateIsAHarnessError) {
  const auto plan = plan_of(R"({"name": "nocert", "summary": "s", "threat": "t", "spec": ["x"],
    "devices": [{"id": "phone", "kind": "iPhone"}],
    "steps": [{"type": "check_certificate", "device": "phone", "certificate": "previous", "expect": {"revoked": true}}]})");
  const ScenarioResult r = run_scenario(plan, unreachable_target(), RunOptions{});
  ASSERT_EQ(r.cases.size(), 1u);
  EXPECT_EQ(r.cases[0].outcome, Outcome::Error);
  EXPECT_EQ(r.cases[0].reason, "device \"phone\" has no previous certificate");
}

TEST(Engine, RequirementsTheTargetLacksSkipEveryCheck) {
  const auto plan = plan_of(R"({"name": "needs", "summary": "s", "threat": "t", "spec": ["x"],
    "requires": ["inventory", "server-clock"],
    "devices": [{"id": "phone", "kind": "iPhone", "inventory": "retired"}],
    "steps": [{"type": "acme_enroll", "device": "phone", "expect": {"error": "rejectedIdentifier"}},
              {"type": "advance_clock", "days": 2, "server": true},
              {"type": "check_key", "device": "phone", "expect": {"key_usable": true}}]})");
  Target target = unreachable_target();
  ScenarioResult r = run_scenario(plan, target, RunOptions{});
  EXPECT_EQ(r.skipped,
            "the target's inventory does not list the planned devices (requires inventory)");
  ASSERT_EQ(r.cases.size(), 2u);
  for (const auto& c : r.cases) {
    EXPECT_EQ(c.outcome, Outcome::Skip);
    EXPECT_EQ(c.reason, r.skipped);
  }
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.verdict(), "skip");

  target.capabilities.insert(kRequiresInventory);
  EXPECT_EQ(missing_requirement(plan.scenario, target, false),
            "the target's clock cannot be moved (requires server-clock)");
  EXPECT_EQ(missing_requirement(plan.scenario, target, true), "");
  target.attestation_ca.reset();
  EXPECT_EQ(missing_requirement(plan.scenario, target, true),
            "no mock attestation CA is configured for the target");
}

TEST(Engine, ClockedTargetFailureIsAnError) {
  const auto plan = plan_of(R"({"name": "clock", "summary": "s", "threat": "t", "spec": ["x"],
    "requires": ["server-clock"], "devices": [{"id": "phone", "kind": "iPhone"}],
    "steps": [{"type": "advance_clock", "days": 2, "server": true},
              {"type": "check_key", "device": "phone", "expect": {"key_usable": true}}]})");
  RunOptions options;
  options.clocked_target = []() -> Result<std::unique_ptr<ClockedTarget>> {
    return Error::make("serverInternal", "port taken");
  };
  const ScenarioResult r = run_scenario(plan, unreachable_target(), options);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[0].outcome, Outcome::Error);
  EXPECT_EQ(r.cases[0].reason, "could not start a private target: port taken");
  EXPECT_EQ(r.cases[1].outcome, Outcome::Skip);
}

TEST(Engine, ParallelRunKeepsInputOrderAndSortsCasesById) {
  std::vector<ScenarioPlan> plans;
  for (const char* name : {"zeta", "alpha", "mid"}) {
    plans.push_back(
        plan_of(std::string(R"({"name": ")") + name + R"(", "summary": "s", "threat": "t",
      "spec": ["x"], "devices": [{"id": "phone", "kind": "iPhone"}],
      "steps": [{"type": "acme_enroll", "device": "phone", "payload": {"attest": true, "hardware_bound": false},
                 "expect": {"error": "payloadRefused"}}]})"));
  }
  RunOptions options;
  options.jobs = 3;
  int callbacks = 0;
  options.on_scenario_done = [&](const ScenarioResult&) { ++callbacks; };
  const RunSummary s = run_scenarios(plans, unreachable_target(), options);
  EXPECT_EQ(callbacks, 3);
  ASSERT_EQ(s.scenarios.size(), 3u);
  EXPECT_EQ(s.scenarios[0].name, "zeta");
  EXPECT_EQ(s.scenarios[2].name, "mid");
  ASSERT_EQ(s.run.cases.size(), 3u);
  EXPECT_EQ(s.run.cases[0].id, "alpha/01-acme_enroll");
  EXPECT_EQ(s.run.cases[2].id, "zeta/01-acme_enroll");
  EXPECT_EQ(s.run.count(Outcome::Pass), 3);
  EXPECT_EQ(s.run.name, "nowhere");
}

}  // namespace
}  // namespace attestlab::scenarios
