#include "reports/wire_logs.h"

#include <gtest/gtest.h>

namespace attestlab::reports {
namespace {

Json exchange(int seq, const std::string& body) {
  return Json{{"seq", seq}, {"method", "POST"}, {"response", {{"status", 200}, {"body", body}}}};
}

CaseResult case_of(const std::string& id, Outcome outcome, Json log) {
  CaseResult c;
  c.id = id;
  c.outcome = outcome;
  c.wire_log = std::move(log);
  return c;
}

RunResult run_with(const std::string& chain) {
  RunResult run;
  run.kind = "conformance";
  TargetRun t;
  t.name = "embedded";
  t.cases.push_back(case_of("a-pass", Outcome::Pass, Json::array({exchange(1, chain)})));
  t.cases.push_back(case_of("b-fail", Outcome::Fail, Json::array({exchange(2, chain)})));
  t.cases.push_back(case_of("c-error", Outcome::Error, Json::array({exchange(3, "short")})));
  t.cases.push_back(case_of("d-skip", Outcome::Skip, Json::array({exchange(4, chain)})));
  run.targets.push_back(std::move(t));
  return run;
}

TEST(WireLogs, ParsesThePolicyNames) {
  EXPECT_EQ(*wire_logs_from_string("all"), WireLogs::All);
  EXPECT_EQ(*wire_logs_from_string("failures"), WireLogs::Failures);
  EXPECT_EQ(*wire_logs_from_string("none"), WireLogs::None);
  auto bad = wire_logs_from_string("some");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("all, failures or none"), std::string::npos);
}

TEST(WireLogs, FailuresKeepsOnlyCasesThatWentWrong) {
  const std::string chain(3000, 'C');
  RunResult run = run_with(chain);
  apply_wire_log_policy(run, WireLogs::Failures);
  const auto& cases = run.targets[0].cases;
  EXPECT_TRUE(cases[0].wire_log.empty());
  ASSERT_EQ(cases[1].wire_log.size(), 1u);
  EXPECT_EQ(cases[1].wire_log[0]["response"]["body"], chain) << "the first kept copy stays whole";
  ASSERT_EQ(cases[2].wire_log.size(), 1u);
  EXPECT_TRUE(cases[3].wire_log.empty());
}

TEST(WireLogs, NoneDropsEverything) {
  RunResult run = run_with(std::string(3000, 'C'));
  apply_wire_log_policy(run, WireLogs::None);
  for (const auto& c : run.targets[0].cases) EXPECT_TRUE(c.wire_log.empty()) << c.id;
}

TEST(WireLogs, RepeatedLargeStringsAreWrittenOnce) {
  const std::string chain(3000, 'C');
  RunResult run = run_with(chain);
  const std::size_t saved = apply_wire_log_policy(run, WireLogs::All);
  const auto& cases = run.targets[0].cases;
  EXPECT_EQ(cases[0].wire_log[0]["response"]["body"], chain);
  const std::string second = cases[1].wire_log[0]["response"]["body"];
  EXPECT_EQ(second.rfind("(same as a-pass #1.response.body: 3000 bytes, sha256 ", 0), 0u) << second;
  EXPECT_EQ(cases[2].wire_log[0]["response"]["body"], "short") << "small strings stay";
  EXPECT_GT(saved, 2u * 2900);
  // The policy is idempotent on what it already shortened.
  RunResult again = run;
  EXPECT_EQ(apply_wire_log_policy(again, WireLogs::All), 0u);
  EXPECT_EQ(again.to_json(), run.to_json());
}

}  // namespace
}  // namespace attestlab::reports
