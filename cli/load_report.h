// `attestlab report render|merge` for results of kind "load": the shards of one load
// (`attestlab load --shard i/n`, same flow and plan) merge exactly into one target
// (bench/load/load_run.h merge_load_runs; histograms add), other loads stay side by side;
// thresholds are evaluated again on the merged figures.
#pragma once

#include <string>

#include "reports/run_result.h"

namespace attestlab::cli {

// Writes out_dir/result.json, summary.txt and report.html (bench/load/load_html.h) for run (kind
// "load"), prints the summaries on stdout, and returns the exit code: 0, 1 when a threshold fails
// on merged figures, 2 for results that are not load results or shards that do not fit, 3 for I/O
// errors.
int write_load_report(const reports::RunResult& run, const std::string& out_dir);

}  // namespace attestlab::cli
