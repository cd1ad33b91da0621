// The self-contained HTML report of load runs (report.html beside result.json): for each
// run the summary table, thresholds with their measured values, errors by step/type/HTTP
// status, fault enrollments, CPU per enrollment beside the crypto floor, and four inline
// SVG plots (bench/load/svg_chart.h): throughput over time (enrollments/s per timeline
// slot), p50/p99 latency over time (from each slot's histogram), the latency
// distribution (from the run's histogram) and p50/p99 per step. No script, no network:
// it opens offline.
//
// Pure function of its inputs; everything from the runs is escaped.
#pragma once

#include <string>
#include <vector>

#include "bench/load/load_run.h"

namespace attestlab::load {

// command: the command line that produced the runs (shown, escaped).
std::string render_load_html(const std::vector<LoadRun>& runs, const std::string& command);

// The distribution plot's columns: the histogram's buckets gathered into at most `bins`
// columns of equal width on a log scale between its min and max, in milliseconds. Counts
// add up to the histogram's count.
struct LatencyBin {
  double low_ms = 0;
  double high_ms = 0;
  std::uint64_t count = 0;
};
std::vector<LatencyBin> latency_bins(const Histogram& h, int bins = 40);

}  // namespace attestlab::load
