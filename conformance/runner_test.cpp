#include "conformance/runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "conformance/context.h"
#include "testing/conformance_case.h"

namespace attestlab::conformance {
namespace {

Case make(const std::string& id, Level level, std::function<Verdict(CaseContext&)> run,
          std::vector<std::string> capabilities = {}) {
  return testing::make_case(id, level, std::move(run), std::move(capabilities));
}

// A target nothing listens on: the cases below never touch the network.
TargetProfile offline_target() {
  TargetProfile t = basic_target("https://127.0.0.1:9/dir");
  t.name = "offline";
  return t;
}

const reports::CaseResult& find(const reports::TargetRun& run, const std::string& id) {
  for (const auto& c : run.cases) {
    if (c.id == id) return c;
  }
  throw std::runtime_error("no case " + id);
}

TEST(SkipLogic, MissingCapabilityIsTheSkipReason) {
  TargetProfile t = offline_target();
  Case c = make("x", Level::Must, [](CaseContext&) { return Verdict::pass(); },
                {"key-change", "revocation"});
  auto why = missing_capability(c, t);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("revocation"), std::string::npos);
  t.capabilities.push_back("revocation");
  EXPECT_FALSE(missing_capability(c, t).has_value());
}

TEST(LevelRules, ShouldFailureIsNonStrictWithNoteUnlessStrict) {
  Case should = make("s", Level::Should, nullptr);
  Verdict failed = Verdict::fail("X", "Y");
  Verdict lenient = apply_level(should, failed, false);
  EXPECT_EQ(lenient.outcome, reports::Outcome::NonStrict);
  EXPECT_EQ(lenient.reason.rfind("SHOULD not met: ", 0), 0u) << lenient.reason;
  EXPECT_EQ(lenient.expected, "X");
  EXPECT_EQ(lenient.observed, "Y");
  EXPECT_EQ(apply_level(should, failed, true).outcome, reports::Outcome::Fail);

  Case may = make("m", Level::May, nullptr);
  EXPECT_EQ(apply_level(may, failed, false).reason.rfind("MAY not met: ", 0), 0u);
  EXPECT_EQ(apply_level(may, failed, false).outcome, reports::Outcome::NonStrict);

  for (Level hard : {Level::Must, Level::Policy}) {
    Case c = make("h", hard, nullptr);
    EXPECT_EQ(apply_level(c, failed, false).outcome, reports::Outcome::Fail);
  }
  // Errors and skips are never softened.
  EXPECT_EQ(apply_level(should, Verdict::error("e"), false).outcome, reports::Outcome::Error);
  EXPECT_EQ(apply_level(should, Verdict::skip("s"), false).outcome, reports::Outcome::Skip);
}

TEST(Runner, OutcomesAreRecordedInIdOrder) {
  std::atomic<int> skipped_runs{0};
  CaseList cases = {
      make("d-fail", Level::Must, [](CaseContext&) { return Verdict::fail("201", "200"); }),
      make("a-pass", Level::Must, [](CaseContext&) { return Verdict::pass(); }),
      make("c-skip", Level::Must,
           [&](CaseContext&) {
             ++skipped_runs;
             return Verdict::pass();
           },
           {"revocation"}),
      make("b-should", Level::Should,
           [](CaseContext&) { return Verdict::fail("Retry-After", "none"); }),
      make("e-abort", Level::Must,
           [](CaseContext&) -> Verdict {
             need_that(false, "a precondition");
             return Verdict::pass();
           }),
      make("f-throw", Level::Must,
           [](CaseContext&) -> Verdict { throw std::runtime_error("boom"); }),
  };
  RunOptions options;
  options.jobs = 3;
  std::atomic<int> callbacks{0};
  options.on_case_done = [&](const reports::CaseResult&, std::size_t done, std::size_t total) {
    EXPECT_LE(done, total);
    ++callbacks;
  };
  auto run = run_target(offline_target(), cases, cases, options);
  ASSERT_TRUE(run.ok()) << run.error().detail;
  const auto& r = run->run;
  ASSERT_EQ(r.cases.size(), cases.size());
  for (std::size_t i = 1; i < r.cases.size(); ++i) EXPECT_LT(r.cases[i - 1].id, r.cases[i].id);
  EXPECT_EQ(callbacks.load(), static_cast<int>(cases.size()));
  EXPECT_EQ(skipped_runs.load(), 0) << "a case lacking a capability must not run";

  EXPECT_EQ(find(r, "a-pass").outcome, reports::Outcome::Pass);
  EXPECT_EQ(find(r, "b-should").outcome, reports::Outcome::NonStrict);
  EXPECT_EQ(find(r, "b-should").reason.rfind("SHOULD not met", 0), 0u);
  EXPECT_EQ(find(r, "c-skip").outcome, reports::Outcome::Skip);
  EXPECT_NE(find(r, "c-skip").reason.find("revocation"), std::string::npos);
  EXPECT_EQ(find(r, "d-fail").outcome, reports::Outcome::Fail);
  EXPECT_EQ(find(r, "d-fail").expected, "201");
  EXPECT_EQ(find(r, "d-fail").observed, "200");
  EXPECT_EQ(find(r, "d-fail").requirement, "requirement of d-fail");
  EXPECT_EQ(find(r, "d-fail").level, "MUST");
  EXPECT_EQ(find(r, "e-abort").outcome, reports::Outcome::Error);
  EXPECT_NE(find(r, "e-abort").reason.find("precondition failed: a precondition"),
            std::string::npos);
  EXPECT_EQ(find(r, "f-throw").outcome, reports::Outcome::Error);
  EXPECT_NE(find(r, "f-throw").reason.find("boom"), std::string::npos);
  EXPECT_EQ(run->stragglers, 0u);
  EXPECT_EQ(r.name, "offline");
}

TEST(Runner, StrictTurnsShouldFailuresIntoFailures) {
  CaseList cases = {make("s", Level::Should, [](CaseContext&) { return Verdict::fail("a", "b"); })};
  RunOptions options;
  options.strict = true;
  auto run = run_target(offline_target(), cases, cases, options);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->run.cases.at(0).outcome, reports::Outcome::Fail);
}

TEST(Runner, ACaseOverItsTimeoutIsAnErrorAndTheRunGoesOn) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  CaseList cases = {
      make("a-stuck", Level::Must,
           [release](CaseContext&) {
             // Ignores its deadline on purpose (a case cooperating would return early).
             while (!release->load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
             return Verdict::pass();
           }),
      make("b-quick", Level::Must, [](CaseContext&) { return Verdict::pass(); }),
  };
  RunOptions options;
  options.jobs = 1;  // b-quick only runs if the watchdog replaces the stuck worker
  options.case_timeout = std::chrono::milliseconds(100);
  options.liveness = [] { return ok(); };  // the target is still there: only the case hung
  auto run = run_target(offline_target(), cases, cases, options);
  release->store(true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(find(run->run, "a-stuck").outcome, reports::Outcome::Error);
  EXPECT_NE(find(run->run, "a-stuck").reason.find("timed out"), std::string::npos);
  EXPECT_EQ(find(run->run, "b-quick").outcome, reports::Outcome::Pass);
  EXPECT_EQ(run->stragglers, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the straggler finish
}

TEST(Runner, ContextDeadlineIsTheCaseTimeout) {
  std::atomic<long long> seen{-1};
  CaseList cases = {make("a", Level::Must, [&](CaseContext& ctx) {
    seen = ctx.remaining().count();
    return Verdict::pass();
  })};
  RunOptions options;
  options.case_timeout = std::chrono::milliseconds(5000);
  auto run = run_target(offline_target(), cases, cases, options);
  ASSERT_TRUE(run.ok());
  EXPECT_GT(seen.load(), 0);
  EXPECT_LE(seen.load(), 5000);
}

TEST(Runner, HarnessSetupErrorsAreReported) {
  TargetProfile t = offline_target();
  t.device.attestation_ca_dir = ::testing::TempDir() + "/attestlab-no-such-ca";
  auto run = run_target(t, {}, {}, {});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().detail.find("device.attestation_ca_dir"), std::string::npos);
}

}  // namespace
}  // namespace attestlab::conformance
