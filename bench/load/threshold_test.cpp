#include "bench/load/threshold.h"

#include <gtest/gtest.h>

namespace attestlab::load {
namespace {

TEST(Threshold, ParsesTheK6StyleForms) {
  auto p99 = parse_threshold("p99<300ms");
  ASSERT_TRUE(p99.ok()) << p99.error().detail;
  EXPECT_EQ(p99->metric, Threshold::Metric::Percentile);
  EXPECT_DOUBLE_EQ(p99->percentile, 99);
  EXPECT_EQ(p99->op, Threshold::Op::Less);
  EXPECT_DOUBLE_EQ(p99->limit, 300000);  // microseconds

  auto p999 = parse_threshold(" p(99.9) <= 1.5s ");
  ASSERT_TRUE(p999.ok()) << p999.error().detail;
  EXPECT_DOUBLE_EQ(p999->percentile, 99.9);
  EXPECT_EQ(p999->op, Threshold::Op::LessOrEqual);
  EXPECT_DOUBLE_EQ(p999->limit, 1.5e6);
  EXPECT_EQ(p999->expression, "p(99.9) <= 1.5s");

  auto errors = parse_threshold("errors<0.1%");
  ASSERT_TRUE(errors.ok());
  EXPECT_EQ(errors->metric, Threshold::Metric::ErrorShare);
  EXPECT_DOUBLE_EQ(errors->limit, 0.1);
  auto count = parse_threshold("errors<=0");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->metric, Threshold::Metric::ErrorCount);
  auto rate = parse_threshold("rate>50/s");
  ASSERT_TRUE(rate.ok());
  EXPECT_EQ(rate->metric, Threshold::Metric::Rate);
  EXPECT_EQ(rate->op, Threshold::Op::Greater);
  EXPECT_DOUBLE_EQ(rate->limit, 50);
  EXPECT_TRUE(parse_threshold("max<2s").ok());
  EXPECT_TRUE(parse_threshold("mean>=10us").ok());
  EXPECT_TRUE(parse_threshold("p50<900").ok() == false);
}

TEST(Threshold, RefusesAnythingElse) {
  for (const char* text : {"",
                           "p99",
                           "p99<",
                           "p99<300",
                           "p99<300 ms/s",
                           "p99<-3ms",
                           "p99<3e2ms",
                           "p99<<3ms",
                           "p99<3ms<4ms",
                           "P99<300ms",
                           "p0<3ms",
                           "p101<3ms",
                           "p(abc)<3ms",
                           "latency<3ms",
                           "errors<0.1",
                           "errors<1ms",
                           "errors<5/s",
                           "rate>50",
                           "rate>50/min",
                           "p99=300ms",
                           "p99<300hours",
                           "rate>./s"}) {
    auto t = parse_threshold(text);
    EXPECT_FALSE(t.ok()) << "accepted \"" << text << "\"";
    if (!t.ok()) {
      EXPECT_EQ(t.error().type, "malformed");
      EXPECT_NE(t.error().detail.find("threshold"), std::string::npos);
    }
  }
}

LoadRun sample_run() {
  LoadRun r;
  r.elapsed_s = 10;
  for (std::uint64_t ms = 1; ms <= 100; ++ms) r.stats.latency.record(ms * 1000);
  r.stats.completed = 100;
  r.stats.failed = 1;
  r.scheduled = 101;
  return r;
}

TEST(Threshold, EvaluatesAgainstMeasuredValues) {
  const LoadRun r = sample_run();
  auto check = [&](const char* text) {
    auto t = parse_threshold(text);
    EXPECT_TRUE(t.ok()) << text;
    return evaluate_threshold(*t, r);
  };
  auto p99 = check("p99<300ms");
  EXPECT_TRUE(p99.passed);
  // 99 ms within the histogram's error (bench/load/histogram.h), printed in ms.
  EXPECT_EQ(p99.measured.substr(0, 3), "99.");
  EXPECT_EQ(p99.measured.substr(p99.measured.size() - 2), "ms");
  EXPECT_FALSE(check("p99<50ms").passed);
  EXPECT_TRUE(check("max<=100ms").passed);
  EXPECT_FALSE(check("max<100ms").passed);
  auto errors = check("errors<0.1%");
  EXPECT_FALSE(errors.passed);
  EXPECT_EQ(errors.measured, "0.99%");
  EXPECT_TRUE(check("errors<2%").passed);
  EXPECT_TRUE(check("errors<=1").passed);
  auto rate = check("rate>50/s");
  EXPECT_FALSE(rate.passed);
  EXPECT_EQ(rate.measured, "10.0/s");
  EXPECT_TRUE(check("rate>=10/s").passed);
}

TEST(Threshold, NothingMeasuredNeverPasses) {
  LoadRun empty;
  for (const char* text : {"p99<300ms", "errors<100%", "rate>=0/s"}) {
    auto t = parse_threshold(text);
    ASSERT_TRUE(t.ok());
    auto outcome = evaluate_threshold(*t, empty);
    EXPECT_FALSE(outcome.passed) << text;
    EXPECT_EQ(outcome.measured, "n/a");
  }
}

}  // namespace
}  // namespace attestlab::load
