// One load run as the result JSON records it (the "load" member of a target in an
// attestlab.result/1 document of kind "load"): what was asked, what was measured
// (LoadStats), CPU per enrollment, how the run ended, and the thresholds with their
// measured values. merge_load_runs() combines the shards of one load exactly.
//
// Value type; parsing never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/crypto_floor.h"
#include "bench/load/load_stats.h"
#include "bench/load/schedule.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::load {

struct ThresholdOutcome {
  std::string expression;  // as given, e.g. "p99<300ms"
  std::string measured;    // e.g. "212.4ms", "0.00%", "49.8/s", "n/a"
  bool passed = false;
  bool operator==(const ThresholdOutcome&) const = default;
};

struct LoadRun {
  // What was asked.
  std::string target_name;
  std::vector<std::string> urls;  // round-robin
  std::string flow;               // plain | device | renewal | mix
  std::string challenge;          // http-01 | dns-01 | device-attest-01
  LoadPlan plan;                  // shard_index unused here: see shards
  int workers = 0;                // per generator
  std::vector<int> shards;        // 0-based shard indexes this result holds
  int shard_count = 1;

  // When, and what was measured.
  std::string started_at;                 // RFC 3339, the clock start
  std::int64_t window_start_unix_ms = 0;  // the end of the warm-up
  double elapsed_s = 0;         // window start → last measured enrollment ended (or the end)
  std::uint64_t scheduled = 0;  // measured enrollments offered (open: due in the window)
  LoadStats stats;

  // CPU time spent during the measured window (milliseconds), when known.
  std::optional<double> server_cpu_ms;
  std::optional<double> generator_cpu_ms;
  std::string cpu_note;  // how it was measured
  // The crypto floor per enrollment for this flow, timed in the same run (with the CPU).
  std::optional<CryptoFloor> floor;
  // Certificates the target reports having issued during the run (embedded target).
  std::optional<std::uint64_t> target_issued;

  std::string stopped;       // why the run stopped early ("" = it ran its course)
  bool interrupted = false;  // Ctrl-C
  std::vector<ThresholdOutcome> thresholds;

  // Derived figures.
  std::uint64_t fault_enrollments() const;  // measured fault enrollments that finished
  // Offered measured enrollments that neither completed nor failed (still running at the
  // end of the drain, interrupted, or never started).
  std::uint64_t unfinished() const;
  double throughput() const;   // completed per second of the window
  double error_share() const;  // (failed + unfinished) / (completed + failed + unfinished)
  std::optional<double> server_cpu_ms_per_enrollment() const;
  std::optional<double> generator_cpu_ms_per_enrollment() const;

  // The "load" object (with a derived "summary"); from_json ignores the summary.
  Json to_json() const;
  static Result<LoadRun> from_json(const Json& j);
};

// Combines shards of one load (same flow, plan and shard count; disjoint shard indexes):
// counts and histograms add, timelines are aligned on the wall clock, the window is the
// union. Thresholds are cleared (evaluate them on the result). Error("malformed", why)
// when the runs are not shards of one load.
Result<LoadRun> merge_load_runs(const std::vector<LoadRun>& runs);

// "open" | "closed".
const char* model_name(Model model);

}  // namespace attestlab::load
