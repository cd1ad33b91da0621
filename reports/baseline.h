// Regression baselines for CI (`conform --write-baseline FILE`, `conform --baseline FILE`):
// the expected outcome of every case on every target of a run, so that a later run fails
// only for what got worse. File format (JSON):
//   {"schema": "attestlab.baseline/1",
//    "targets": {"<target name>": {"cases": {"<case id>": "pass" | "non-strict" | "fail" |
//                                             "error" | "skip"},
//                                  "target_down_during": "<case id>"}}}   (optional)
// "Failing" below means fail or error.
#pragma once

#include <string>

#include "core/json.h"
#include "core/result.h"
#include "reports/run_result.h"

namespace attestlab::reports {

inline constexpr const char* kBaselineSchema = "attestlab.baseline/1";

// The baseline of a run: every case's outcome per target.
Json make_baseline(const RunResult& run);
// Reads and checks a baseline file. Error("malformed", "PATH: why") when it is not one.
Result<Json> load_baseline(const std::string& path);

// What comparing with a baseline found, per mark (case ids as "target/case").
struct BaselineComparison {
  std::vector<std::string> regressions;     // passed (or non-strict) before, failing now
  std::vector<std::string> new_failures;    // not in the baseline (or skipped there), failing now
  std::vector<std::string> known_failures;  // failing before and now
  std::vector<std::string> improvements;    // failing before, passing or non-strict now
};

// Marks every case of run with its CaseResult::baseline value and sets run.baseline to
// `name`; a target down during the case the baseline names is marked known. Returns the
// lists for printing. A target missing from the baseline has only new failures.
BaselineComparison apply_baseline(RunResult& run, const Json& baseline, const std::string& name);

}  // namespace attestlab::reports
