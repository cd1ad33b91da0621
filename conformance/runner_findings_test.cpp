// The runner's findings beyond one case's verdict: case dependencies (a premise that is
// absent skips its dependents), transport errors (never a pass), and a target that stops
// answering in the middle of a run.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/registry.h"
#include "conformance/runner.h"
#include "conformance/selection.h"
#include "core/child_process.h"
#include "testing/acme_stub.h"
#include "testing/conformance_case.h"

namespace attestlab::conformance {
namespace {

Case make(const std::string& id, Level level, std::function<Verdict(CaseContext&)> run,
          std::vector<std::string> depends_on = {}) {
  return testing::make_case(id, level, std::move(run), {}, std::move(depends_on));
}

TargetProfile target_at(const std::string& url) {
  TargetProfile t = basic_target(url);
  t.name = "stub";
  t.timing.http_timeout = std::chrono::milliseconds(500);
  return t;
}

const reports::CaseResult& find(const reports::TargetRun& run, const std::string& id) {
  for (const auto& c : run.cases) {
    if (c.id == id) return c;
  }
  throw std::runtime_error("no case " + id);
}

RunOptions alive_options() {
  RunOptions options;
  options.liveness = [] { return ok(); };
  return options;
}

TEST(Dependencies, AnAbsentPremiseSkipsItsDependentsNamingTheCase) {
  std::atomic<int> dependent_runs{0};
  auto dependent = [&](CaseContext&) {
    ++dependent_runs;
    return Verdict::pass();
  };
  CaseList cases = {
      make("b-feature", Level::Must, [](CaseContext&) { return Verdict::fail("200", "501"); }),
      // Sorts before its premise: it must still wait for it.
      make("a-uses-feature", Level::Must, dependent, {"b-feature"}),
      make("c-uses-feature", Level::Should, dependent, {"b-feature"}),
      make("d-other", Level::Must, [](CaseContext&) { return Verdict::pass(); }),
      make("e-works", Level::Must, [](CaseContext&) { return Verdict::pass(); }),
      make("f-uses-working", Level::Must, dependent, {"e-works"}),
      make("g-premise-not-selected", Level::Must, dependent, {"zz-not-in-this-run"}),
  };
  RunOptions options = alive_options();
  options.jobs = 4;
  auto run = run_target(target_at("https://127.0.0.1:9/dir"), cases, cases, options);
  ASSERT_TRUE(run.ok()) << run.error().detail;
  const auto& r = run->run;
  for (const char* id : {"a-uses-feature", "c-uses-feature"}) {
    EXPECT_EQ(find(r, id).outcome, reports::Outcome::Skip) << id;
    EXPECT_EQ(find(r, id).reason.rfind("see b-feature", 0), 0u) << find(r, id).reason;
  }
  EXPECT_EQ(find(r, "b-feature").outcome, reports::Outcome::Fail);
  EXPECT_EQ(find(r, "f-uses-working").outcome, reports::Outcome::Pass);
  EXPECT_EQ(find(r, "g-premise-not-selected").outcome, reports::Outcome::Pass);
  EXPECT_EQ(dependent_runs.load(), 2) << "only f and g may run";
}

TEST(Dependencies, ANonStrictPremiseIsNotAWorkingOne) {
  CaseList cases = {
      make("a-optional-feature", Level::Should,
           [](CaseContext&) { return Verdict::fail("200", "405"); }),
      make("b-dependent", Level::Must, [](CaseContext&) { return Verdict::fail("x", "y"); },
           {"a-optional-feature"}),
  };
  auto run = run_target(target_at("https://127.0.0.1:9/dir"), cases, cases, alive_options());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(find(run->run, "a-optional-feature").outcome, reports::Outcome::NonStrict);
  EXPECT_EQ(find(run->run, "b-dependent").outcome, reports::Outcome::Skip);
}

TEST(Dependencies, KeyChangeCasesSkipOnATargetAnswering501ToKeyChange) {
  load::testing::AcmeStub::Options stub_options;
  stub_options.key_change_status = 501;
  load::testing::AcmeStub stub(stub_options);
  ASSERT_TRUE(stub.running());
  TargetProfile t = target_at(stub.directory_url());
  t.capabilities.push_back("key-change");
  auto selected = select_cases(all_cases(), Selection{{"rfc8555-7.3.5"}, {}});
  ASSERT_TRUE(selected.ok());
  auto run = run_target(t, *selected, all_cases(), alive_options());
  ASSERT_TRUE(run.ok()) << run.error().detail;
  const auto& r = run->run;
  // Key change itself is MAY (no keyword makes a server offer it): a 501 is "non-strict".
  EXPECT_EQ(find(r, "rfc8555-7.3.5-key-change").outcome, reports::Outcome::NonStrict);
  int dependents = 0;
  for (const auto& c : r.cases) {
    if (c.id == "rfc8555-7.3.5-key-change") continue;
    ++dependents;
    EXPECT_EQ(c.outcome, reports::Outcome::Skip) << c.id << ": " << c.reason;
    EXPECT_EQ(c.reason.rfind("see rfc8555-7.3.5-key-change", 0), 0u) << c.id << ": " << c.reason;
  }
  EXPECT_GE(dependents, 8) << "the inner-*, new-key-in-use* and keeps-orders cases";
}

// rfc8555-7.1.6-deactivated-authz-blocks-order deactivates an authorization that was valid:
// a target that refuses to finalize orders that are not ready, but still counts a once-valid
// authorization after its deactivation, fails it (deactivating a pending authorization, as
// the case did, could not tell: that order was not ready anyway).
TEST(DeactivatedAuthorization, OnlyTheDeactivationStandsBetweenTheOrderAndIssuance) {
  for (const bool still_sufficient : {false, true}) {
    load::testing::AcmeStub::Options stub_options;
    stub_options.deactivation = true;
    stub_options.deactivated_still_sufficient = still_sufficient;
    load::testing::AcmeStub stub(stub_options);
    ASSERT_TRUE(stub.running());
    TargetProfile t = target_at(stub.directory_url());
    t.challenges = {"http-01"};
    t.http01_listen = "127.0.0.1:0";  // the stub validates without fetching
    const std::string id = "rfc8555-7.1.6-deactivated-authz-blocks-order";
    auto selected = select_cases(all_cases(), Selection{{id}, {}});
    ASSERT_TRUE(selected.ok()) << selected.error().detail;
    auto run = run_target(t, *selected, all_cases(), alive_options());
    ASSERT_TRUE(run.ok()) << run.error().detail;
    const auto& c = find(run->run, id);
    EXPECT_EQ(c.outcome, still_sufficient ? reports::Outcome::Fail : reports::Outcome::Pass)
        << "still sufficient: " << still_sufficient << ": " << c.reason << " " << c.observed;
  }
}

// An order is the server's JSON: one without identifiers or authorizations must end each
// case that needs them with an error, not index an empty list (which crashed the run).
TEST(ServerJson, AnOrderWithoutAuthorizationsIsAnErrorNotACrash) {
  load::testing::AcmeStub::Options stub_options;
  stub_options.bare_orders = true;
  load::testing::AcmeStub stub(stub_options);
  ASSERT_TRUE(stub.running());
  TargetProfile t = target_at(stub.directory_url());
  t.capabilities = {"wildcard"};
  t.identifiers = {"dns", "ip"};
  const std::vector<std::string> ids = {"rfc8555-6.3-get-authorization-405",
                                        "rfc8555-6.3-get-challenge-405",
                                        "rfc8555-7.1.4-authorization-object",
                                        "rfc8555-8.3-token-entropy",
                                        "rfc8555-7.1.4-wildcard-authorization",
                                        "rfc8555-7.5.2-deactivate-authorization",
                                        "rfc8555-7.5-foreign-authorization",
                                        "rfc8738-3-ip-order",
                                        "rfc8738-7-ip-no-dns01"};
  auto selected = select_cases(all_cases(), Selection{ids, {}});
  ASSERT_TRUE(selected.ok()) << selected.error().detail;
  auto run = run_target(t, *selected, all_cases(), alive_options());
  ASSERT_TRUE(run.ok()) << run.error().detail;
  for (const auto& id : ids) {
    const auto& c = find(run->run, id);
    EXPECT_EQ(c.outcome, reports::Outcome::Error) << id << ": " << c.reason;
    EXPECT_NE(c.reason.find("the order lists its"), std::string::npos) << id << ": " << c.reason;
  }
}

// A bare --target assumes "key-change"; a directory without keyChange must make the
// key-change cases skip, not POST to "".
TEST(Dependencies, KeyChangeCasesSkipWhenTheDirectoryHasNoKeyChange) {
  load::testing::AcmeStub::Options stub_options;
  stub_options.no_key_change = true;
  load::testing::AcmeStub stub(stub_options);
  ASSERT_TRUE(stub.running());
  TargetProfile t = target_at(stub.directory_url());
  ASSERT_FALSE(t.missing("key-change").has_value());  // basic_target assumes it
  auto selected = select_cases(all_cases(), Selection{{"rfc8555-7.3.5"}, {}});
  ASSERT_TRUE(selected.ok());
  auto run = run_target(t, *selected, all_cases(), alive_options());
  ASSERT_TRUE(run.ok()) << run.error().detail;
  const auto& key_change = find(run->run, "rfc8555-7.3.5-key-change");
  EXPECT_EQ(key_change.outcome, reports::Outcome::Skip) << key_change.reason;
  EXPECT_NE(key_change.reason.find("keyChange"), std::string::npos) << key_change.reason;
  for (const auto& c : run->run.cases) {
    EXPECT_EQ(c.outcome, reports::Outcome::Skip) << c.id << ": " << c.reason;
  }
}

// RFC 8555 §7.3 requires the error type of a refused contact, not a status: a 403
// invalidContact meets it.
TEST(StatedStatus, ARefusedContactNeedsItsTypeWithAny4xx) {
  load::testing::AcmeStub::Options stub_options;
  stub_options.new_account_status = 403;
  stub_options.new_account_problem = "invalidContact";
  load::testing::AcmeStub stub(stub_options);
  ASSERT_TRUE(stub.running());
  auto selected = select_cases(all_cases(), Selection{{"rfc8555-7.3-contact-invalid"}, {}});
  ASSERT_TRUE(selected.ok());
  auto run = run_target(target_at(stub.directory_url()), *selected, all_cases(), alive_options());
  ASSERT_TRUE(run.ok()) << run.error().detail;
  const auto& c = find(run->run, "rfc8555-7.3-contact-invalid");
  EXPECT_EQ(c.outcome, reports::Outcome::Pass) << c.reason << " / " << c.observed;
}

TEST(TransportRule, NoPassAndNoNonStrictWhenARequestGotNoAnswer) {
  // What made rfc8555-6.2-eddsa "pass" on a refused connection: a SHOULD check that fails
  // on a transport error, softened by its level.
  auto asks_directory = [](bool pass) {
    return [pass](CaseContext& ctx) {
      auto c = ctx.client();
      auto dir = c->directory();
      return pass ? Verdict::pass() : check(dir.ok(), "a directory", "none");
    };
  };
  CaseList cases = {make("a-should", Level::Should, asks_directory(false)),
                    make("b-must", Level::Must, asks_directory(false)),
                    make("c-pass", Level::Must, asks_directory(true))};
  const std::string url = "https://127.0.0.1:" + std::to_string(free_loopback_port()) + "/dir";
  auto run = run_target(target_at(url), cases, cases, alive_options());
  ASSERT_TRUE(run.ok());
  for (const auto& c : run->run.cases) {
    EXPECT_EQ(c.outcome, reports::Outcome::Error) << c.id;
    EXPECT_EQ(c.reason.rfind("transport error, nothing was judged: GET " + url, 0), 0u) << c.reason;
  }
  EXPECT_FALSE(run->run.target_down) << "liveness said the target is there";
}

TEST(TransportRule, AnsweredRequestsKeepTheVerdict) {
  client::WireExchange answered;
  answered.status = 500;
  EXPECT_EQ(apply_transport_rule(Verdict::pass(), {answered}).outcome, reports::Outcome::Pass);
  client::WireExchange lost;
  lost.method = "POST";
  lost.url = "https://x/acct";
  lost.error = "connection: refused";
  EXPECT_EQ(apply_transport_rule(Verdict::fail("a", "b"), {answered, lost}).outcome,
            reports::Outcome::Error);
  EXPECT_EQ(apply_transport_rule(Verdict::skip("s"), {lost}).outcome, reports::Outcome::Skip);
}

TEST(TargetDown, ATargetThatStopsAnsweringEndsTheRunWithOneFinding) {
  load::testing::AcmeStub stub({});
  ASSERT_TRUE(stub.running());
  std::atomic<int> later_runs{0};
  auto later = [&](CaseContext& ctx) {
    ++later_runs;
    auto c = ctx.client();
    return check(c->directory().ok(), "a directory", "none");
  };
  CaseList cases = {
      make("a-fine", Level::Must,
           [](CaseContext& ctx) {
             auto c = ctx.client();
             return check(c->directory().ok(), "a directory", "none");
           }),
      make("b-kills-it", Level::Must,
           [&stub](CaseContext& ctx) {
             stub.go_silent();
             auto c = ctx.client();
             auto dir = c->directory();  // waits for an answer that never comes
             return check(dir.ok(), "a directory", "none");
           }),
  };
  for (int i = 0; i < 20; ++i)
    cases.push_back(make("c-later-" + std::to_string(100 + i), Level::Must, later));
  RunOptions options;  // the default liveness probe: the target's directory
  options.jobs = 1;
  options.case_timeout = std::chrono::milliseconds(2000);
  auto run = run_target(target_at(stub.directory_url()), cases, cases, options);
  ASSERT_TRUE(run.ok());
  const auto& r = run->run;
  ASSERT_TRUE(r.target_down.has_value());
  EXPECT_EQ(r.target_down->during_case, "b-kills-it");
  EXPECT_NE(r.target_down->detail.find(stub.directory_url()), std::string::npos)
      << r.target_down->detail;
  EXPECT_EQ(find(r, "a-fine").outcome, reports::Outcome::Pass);
  EXPECT_EQ(find(r, "b-kills-it").outcome, reports::Outcome::Error);
  EXPECT_EQ(r.not_run_count(), 20);
  for (const auto& c : r.cases) {
    if (c.id.rfind("c-later-", 0) != 0) continue;
    EXPECT_EQ(c.outcome, reports::Outcome::Skip);
    EXPECT_EQ(c.reason.rfind(reports::kNotRunTargetDown, 0), 0u) << c.reason;
    EXPECT_NE(c.reason.find("b-kills-it"), std::string::npos) << c.reason;
  }
  EXPECT_LE(later_runs.load(), 1) << "cases after the target went down must not run";
  reports::RunResult result;
  result.targets.push_back(r);
  EXPECT_TRUE(result.failed());
  const Json j = result.to_json();
  EXPECT_EQ(j["targets"][0]["target_down"]["during_case"], "b-kills-it");
  EXPECT_EQ(j["targets"][0]["target_down"]["not_run"], 20);
  const std::string junit = reports::render_junit(result);
  EXPECT_NE(junit.find("name=\"target-down\""), std::string::npos);
  EXPECT_NE(reports::render_markdown(result).find("target down: stub stopped answering during "
                                                  "b-kills-it"),
            std::string::npos);
  EXPECT_NE(reports::render_html(result).find("class=\"down\""), std::string::npos);
  stub.stop();
}

TEST(TargetDown, APreconditionLostOnTheWireAlsoAsksForTheProbe) {
  // What pebble 2.4 shows after rfc8555-7.1.6-deactivated-authz-is-final: every later case
  // fails a precondition ("create an order: ... timed out"), none times out as a whole.
  load::testing::AcmeStub stub({});
  ASSERT_TRUE(stub.running());
  std::atomic<int> later_runs{0};
  CaseList cases = {make("a-kills-it", Level::Must, [&stub](CaseContext& ctx) {
    stub.go_silent();
    auto c = ctx.client();
    need(c->directory(), "fetch the directory");
    return Verdict::pass();
  })};
  for (int i = 0; i < 5; ++i) {
    cases.push_back(make("b-later-" + std::to_string(i), Level::Must, [&](CaseContext& ctx) {
      ++later_runs;
      auto c = ctx.client();
      need(c->directory(), "fetch the directory");
      return Verdict::pass();
    }));
  }
  RunOptions options;
  options.jobs = 1;
  auto run = run_target(target_at(stub.directory_url()), cases, cases, options);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(run->run.target_down.has_value());
  EXPECT_EQ(run->run.target_down->during_case, "a-kills-it");
  EXPECT_EQ(find(run->run, "a-kills-it").outcome, reports::Outcome::Error);
  EXPECT_EQ(run->run.not_run_count(), 5);
  EXPECT_EQ(later_runs.load(), 0);
  stub.stop();
}

}  // namespace
}  // namespace attestlab::conformance
