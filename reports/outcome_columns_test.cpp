// NON-STRICT outcomes, baseline marks and a target that went down, in every rendering.
#include <gtest/gtest.h>

#include "reports/run_result.h"

namespace attestlab::reports {
namespace {

CaseResult result(const std::string& id, Outcome outcome, const std::string& reason = "") {
  CaseResult c;
  c.id = id;
  c.title = id;
  c.requirement = "requirement of " + id;
  c.spec = "RFC 8555";
  c.section = "7.5.1";
  c.level = outcome == Outcome::NonStrict ? "SHOULD" : "MUST";
  c.profile = "rfc8555";
  c.outcome = outcome;
  c.reason = reason;
  return c;
}

RunResult run_with(std::vector<CaseResult> cases) {
  return {.kind = "conformance", .targets = {{.name = "vendor", .cases = std::move(cases)}}};
}

TEST(NonStrict, IsItsOwnOutcomeAndFailsNothing) {
  RunResult run = run_with({result("a", Outcome::Pass),
                            result("b-retry-after", Outcome::NonStrict,
                                   "SHOULD not met: expected Retry-After, observed none")});
  EXPECT_FALSE(run.failed());
  const Json j = run.to_json();
  EXPECT_EQ(j["targets"][0]["summary"]["non_strict"], 1);
  EXPECT_EQ(j["targets"][0]["summary"]["pass"], 1);
  EXPECT_EQ(j["targets"][0]["cases"][1]["outcome"], "non-strict");
  auto back = RunResult::from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->targets[0].cases[1].outcome, Outcome::NonStrict);

  const std::string junit = render_junit(run);
  EXPECT_NE(junit.find("<property name=\"outcome\" value=\"non-strict\"/>"), std::string::npos);
  EXPECT_NE(junit.find("<system-out>SHOULD not met: expected Retry-After"), std::string::npos);
  EXPECT_NE(junit.find("failures=\"0\" errors=\"0\""), std::string::npos) << junit;
  const std::string md = render_markdown(run);
  EXPECT_NE(md.find("| pass | non-strict | fail |"), std::string::npos) << md;
  EXPECT_NE(md.find("| vendor | 1 | 1 | 0 | 0 | 0 | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("## Non-strict on vendor"), std::string::npos) << md;
  const std::string html = render_html(run);
  EXPECT_NE(html.find("<th>non-strict</th>"), std::string::npos);
  EXPECT_NE(html.find("class=\"non-strict\""), std::string::npos);
}

TEST(Baseline, OnlyRegressionsAndNewFailuresFailARun) {
  CaseResult known = result("known", Outcome::Fail, "expected 401, observed 403");
  known.baseline = kBaselineKnownFailure;
  CaseResult improved = result("improved", Outcome::Pass);
  improved.baseline = kBaselineImprovement;
  RunResult run = run_with({known, improved});
  EXPECT_TRUE(run.failed()) << "without a baseline file named, a failure fails";
  run.baseline = "baseline.json";
  EXPECT_FALSE(run.failed());
  const std::string junit = render_junit(run);
  EXPECT_NE(junit.find("<skipped message=\"known failure (baseline): expected 401, observed 403\""),
            std::string::npos)
      << junit;
  EXPECT_NE(junit.find("failures=\"0\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("skipped=\"1\""), std::string::npos) << junit;
  const std::string md = render_markdown(run);
  EXPECT_NE(md.find("**Known failures (in the baseline) on vendor:** known"), std::string::npos);
  EXPECT_NE(md.find("**Improvements on vendor:** improved"), std::string::npos);
  EXPECT_EQ(md.find("## Failures on vendor"), std::string::npos) << md;

  for (const char* mark : {kBaselineRegression, kBaselineNewFailure}) {
    CaseResult bad = result("bad", Outcome::Error, "timed out");
    bad.baseline = mark;
    RunResult worse = run_with({known, bad});
    worse.baseline = "baseline.json";
    EXPECT_TRUE(worse.failed()) << mark;
    auto back = RunResult::from_json(worse.to_json());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->baseline, "baseline.json");
    EXPECT_EQ(back->targets[0].cases[1].baseline, mark);
  }
}

TEST(TargetDownReport, RoundTripsAndFailsTheRun) {
  RunResult run = run_with({result("a", Outcome::Pass),
                            result("b", Outcome::Skip, std::string(kNotRunTargetDown) + " (x)")});
  run.targets[0].target_down = TargetDown{"a", "https://t/dir is unreachable: timed out"};
  EXPECT_TRUE(run.failed());
  auto back = RunResult::from_json(run.to_json());
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->targets[0].target_down.has_value());
  EXPECT_EQ(back->targets[0].target_down->during_case, "a");
  EXPECT_EQ(back->targets[0].not_run_count(), 1);
  EXPECT_NE(render_junit(run).find("errors=\"1\""), std::string::npos);
}

}  // namespace
}  // namespace attestlab::reports
