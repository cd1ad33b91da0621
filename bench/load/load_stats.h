// What one load run measured, in a form that merges exactly: counts add, histograms add
// bucket by bucket (bench/load/histogram.h), error tallies add, timelines add slot by slot.
// So shards of one load (`attestlab load --shard i/n`), merged, equal a single generator
// that saw the same enrollments.
//
// Units: latencies in microseconds. "Measured" enrollments are those due after the warm-up
// (bench/load/schedule.h); warm-up ones are only counted.
//
// Value type; not synchronized (the engine keeps one per worker and merges them).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bench/load/histogram.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::load {

// The steps of an enrollment whose latency is kept apart. kAttest is on the generator's
// side (the mock Apple CA signs the device's attestation leaf, which must answer the
// challenge token and so cannot be made in advance); every other step is a wait on the
// target.
enum class Step : std::uint8_t {
  Directory,
  Nonce,
  Account,
  Order,
  Challenge,   // fetch the authorization, publish the answer, POST the challenge
  Attest,      // device flows: the mock Apple CA issues the leaf for this token
  Validation,  // poll the authorization until the target decided
  Finalize,    // finalize and poll the order until valid
  Download,
};
inline constexpr std::size_t kStepCount = 9;
const char* step_name(Step step);
std::optional<Step> step_from_name(const std::string& name);

// Failures are tallied by the step that failed, the error type (the ACME short name, or
// the client's own: "connection", "timeout", "unexpectedResponse") and the HTTP status
// (0 without a response).
struct ErrorKey {
  std::string step;
  std::string type;
  int status = 0;
  auto operator<=>(const ErrorKey&) const = default;
};

// Enrollments with a ClientFaults knob on (the mix flow): the target is meant to refuse
// them, so they are never counted as the target's errors, nor in the latency figures.
struct FaultCounts {
  std::uint64_t started = 0;
  std::uint64_t refused = 0;   // the target refused (what a correct target does)
  std::uint64_t accepted = 0;  // the target issued a certificate anyway
  bool operator==(const FaultCounts&) const = default;
};

// Enrollments that finished in one interval of the measured window.
struct TimelineSlot {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  Histogram latency;  // of the completed ones, from their intended start
  bool operator==(const TimelineSlot&) const = default;
};

struct LoadStats {
  // Measured enrollments.
  std::uint64_t started = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t interrupted = 0;  // stopped mid-way by Ctrl-C or the end of the drain
  // Warm-up enrollments (not in any figure below).
  std::uint64_t warmup_completed = 0;
  std::uint64_t warmup_failed = 0;
  // Client counters over all enrollments (warm-up included).
  std::uint64_t requests = 0;
  std::uint64_t bad_nonce_retries = 0;
  std::uint64_t polls = 0;

  Histogram latency;                        // completed: intended start → certificate downloaded
  Histogram service;                        // completed: actual start → certificate downloaded
  std::array<Histogram, kStepCount> steps;  // by Step, every step that completed
  std::map<ErrorKey, std::uint64_t> errors;
  std::map<ErrorKey, std::string> error_examples;  // the first detail of each
  std::map<std::string, FaultCounts> faults;       // by knob name

  double timeline_interval_s = 1;
  std::vector<TimelineSlot> timeline;  // by finish time since the window start

  // One failure (measured).
  void count_error(const ErrorKey& key, const std::string& detail);
  // One measured enrollment that ended at `at_s` after the window start.
  void record_in_timeline(double at_s, bool completed, std::uint64_t latency_us);
  // Adds other's figures. other's timeline slot i goes to slot i + timeline_shift (shards
  // that opened their window later). Intervals must agree (Error otherwise).
  Result<void> merge(const LoadStats& other, std::int64_t timeline_shift = 0);

  Json to_json() const;
  static Result<LoadStats> from_json(const Json& j);  // strict, Error("malformed")
  bool operator==(const LoadStats&) const = default;
};

}  // namespace attestlab::load
