// k6-style pass/fail criteria on a load run (`--threshold 'p99<300ms'`), parsed strictly:
//
//   METRIC OP VALUE
//   METRIC  p50 | p90 | p95 | p99 | p99.9 | p99.99 | p(N) | max | mean   (enrollment latency
//           from the intended start; VALUE needs a unit: us, ms or s)
//         | errors   (VALUE with % : failed + unfinished as a share of the measured
//           enrollments; without % : their number)
//         | rate     (completed enrollments per second; VALUE needs /s)
//   OP      <  <=  >  >=
//
// e.g. "p99<300ms", "p(99.9) <= 1.5s", "errors<0.1%", "errors<=0", "rate>50/s".
// Value types; no shared state.
#pragma once

#include <string>

#include "bench/load/load_run.h"
#include "core/result.h"

namespace attestlab::load {

struct Threshold {
  enum class Metric { Percentile, Max, Mean, ErrorShare, ErrorCount, Rate };
  enum class Op { Less, LessOrEqual, Greater, GreaterOrEqual };
  std::string expression;  // as given
  Metric metric = Metric::Percentile;
  double percentile = 99;  // Metric::Percentile
  Op op = Op::Less;
  double limit = 0;  // latency: microseconds; error share: percent; rate: per second
};

// Error("malformed", "threshold \"<text>\": <why>") for anything outside the grammar.
Result<Threshold> parse_threshold(const std::string& text);

// The measured value and the verdict. A latency threshold on a run that completed no
// enrollment, or an error/rate threshold on a run that offered none, fails ("n/a").
ThresholdOutcome evaluate_threshold(const Threshold& threshold, const LoadRun& run);

}  // namespace attestlab::load
