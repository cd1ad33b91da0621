#include "reports/baseline.h"

#include <gtest/gtest.h>

#include "core/pki.h"

namespace attestlab::reports {
namespace {

CaseResult with(const std::string& id, Outcome o) {
  CaseResult c;
  c.id = id;
  c.outcome = o;
  return c;
}

RunResult run_of(std::vector<CaseResult> cases) {
  return {.targets = {{.name = "vendor", .cases = std::move(cases)}}};
}

TEST(Baseline, WrittenThenComparedMarksEachCase) {
  const RunResult before = run_of({with("a-pass", Outcome::Pass), with("b-known", Outcome::Fail),
                                   with("c-fixed", Outcome::Error), with("d-skip", Outcome::Skip),
                                   with("e-should", Outcome::NonStrict)});
  const std::string path = ::testing::TempDir() + "/attestlab-baseline.json";
  ASSERT_TRUE(pki::write_file(path, make_baseline(before).dump()).ok());
  auto loaded = load_baseline(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().detail;

  RunResult now = run_of({with("a-pass", Outcome::Fail), with("b-known", Outcome::Fail),
                          with("c-fixed", Outcome::Pass), with("d-skip", Outcome::Error),
                          with("e-should", Outcome::NonStrict), with("f-new", Outcome::Error),
                          with("g-new-pass", Outcome::Pass)});
  const BaselineComparison c = apply_baseline(now, *loaded, path);
  EXPECT_EQ(now.baseline, path);
  EXPECT_EQ(c.regressions, std::vector<std::string>{"vendor/a-pass"});
  EXPECT_EQ(c.known_failures, std::vector<std::string>{"vendor/b-known"});
  EXPECT_EQ(c.improvements, std::vector<std::string>{"vendor/c-fixed"});
  EXPECT_EQ(c.new_failures, (std::vector<std::string>{"vendor/d-skip", "vendor/f-new"}));
  const auto& cases = now.targets[0].cases;
  EXPECT_EQ(cases[0].baseline, kBaselineRegression);
  EXPECT_EQ(cases[1].baseline, kBaselineKnownFailure);
  EXPECT_EQ(cases[2].baseline, kBaselineImprovement);
  EXPECT_EQ(cases[4].baseline, "");
  EXPECT_EQ(cases[6].baseline, "");
  EXPECT_TRUE(now.failed());

  RunResult only_known = run_of({with("a-pass", Outcome::Pass), with("b-known", Outcome::Fail)});
  apply_baseline(only_known, *loaded, path);
  EXPECT_FALSE(only_known.failed());
}

TEST(Baseline, ATargetDownDuringTheSameCaseIsKnown) {
  RunResult before = run_of({with("a", Outcome::Error)});
  before.targets[0].target_down = TargetDown{"a", "timed out"};
  const Json b = make_baseline(before);
  RunResult same = run_of({with("a", Outcome::Error)});
  same.targets[0].target_down = TargetDown{"a", "timed out"};
  apply_baseline(same, b, "b.json");
  EXPECT_FALSE(same.failed());
  RunResult other = run_of({with("a", Outcome::Pass), with("z", Outcome::Error)});
  other.targets[0].target_down = TargetDown{"z", "timed out"};
  apply_baseline(other, b, "b.json");
  EXPECT_TRUE(other.failed());
}

TEST(Baseline, NotABaselineIsRefusedNamingThePath) {
  const std::string path = ::testing::TempDir() + "/attestlab-not-baseline.json";
  ASSERT_TRUE(pki::write_file(path, R"({"schema":"attestlab.result/1","targets":[]})").ok());
  auto r = load_baseline(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail.rfind(path + ": not a baseline", 0), 0u) << r.error().detail;
  ASSERT_TRUE(
      pki::write_file(
          path, R"({"schema":"attestlab.baseline/1","targets":{"t":{"cases":{"x":"maybe"}}}})")
          .ok());
  EXPECT_FALSE(load_baseline(path).ok());
}

}  // namespace
}  // namespace attestlab::reports
