// When each enrollment of a load run is meant to start, and which enrollments this
// generator (shard) runs.
//
// Open model (k6's arrival-rate executors, wrk2's constant throughput): enrollment k of
// the whole load (all shards) is due at offset t_k from the clock start, whether or not
// the target kept up; the rate grows linearly from 0 to `rate` over `ramp_s`, then stays.
// With N(t) the arrivals expected by t (r t²/2R during the ramp, rR/2 + r(t-R) after),
// t_k = N⁻¹(k). Latency is measured from t_k, so a stalled target shows up as latency,
// never as a lower offered rate (coordinated omission corrected).
//
// Closed model (fixed concurrency): each of `concurrency` workers starts its next
// enrollment when the previous one ends; the intended start is the actual start.
//
// Both: enrollments due before `warmup_s` are run but kept out of the figures; the
// measured ones are those due in [warmup, warmup + duration), or the first `count` after
// the warm-up. Shard i of n (0-based) runs the enrollments k ≡ i (mod n) of the whole
// load, so n shards together run exactly the single-generator schedule; in the closed
// model the concurrency is split between them.
//
// Value type; thread-safe for concurrent const use.
#pragma once

#include <cstdint>
#include <optional>

namespace attestlab::load {

enum class Model { Open, Closed };

struct LoadPlan {
  Model model = Model::Open;
  double rate = 10;                      // open: enrollments per second of the whole load
  double ramp_s = 0;                     // open: seconds to reach `rate` from 0
  int concurrency = 1;                   // closed: workers of the whole load
  double duration_s = 10;                // measured seconds (ignored when count is set)
  std::optional<std::uint64_t> count{};  // measured enrollments of the whole load
  double warmup_s = 0;
  int shard_index = 0;  // 0-based
  int shard_count = 1;
};

// One enrollment of the open model.
struct Slot {
  std::uint64_t index = 0;  // k, in the whole load
  double offset_s = 0;      // t_k
  bool measured = false;    // due after the warm-up
};

class Schedule {
 public:
  explicit Schedule(LoadPlan plan);
  const LoadPlan& plan() const { return plan_; }

  // Open model: the j-th enrollment (0-based) of this shard, or nullopt once this shard
  // has run its share (the schedule's end).
  std::optional<Slot> open_slot(std::uint64_t j) const;
  // t_k for any k (open model).
  double offset_of(std::uint64_t k) const;
  // Whole-load indexes [first_measured, end): k < first_measured is warm-up; end is
  // nullopt when unbounded (closed model with a duration).
  std::uint64_t first_measured() const { return first_measured_; }
  std::optional<std::uint64_t> end() const { return end_; }
  // Measured enrollments of this shard due before offset t (all of them when t is past
  // the end): the offered load when a run stops early. Open model only.
  std::uint64_t measured_due_before(double t) const;
  // When the schedule ends: open model, t of the end; closed with a duration,
  // warmup + duration; closed with a count: nullopt (ends when the count is done).
  std::optional<double> end_offset_s() const;

  // Closed model: this shard's workers, and its share of `count` (nullopt without one).
  int shard_concurrency() const;
  std::optional<std::uint64_t> shard_measured_count() const;

 private:
  double arrivals_by(double t) const;  // N(t)
  // #{k in [a, b) : k ≡ shard_index (mod shard_count)}
  std::uint64_t shard_share(std::uint64_t a, std::uint64_t b) const;

  LoadPlan plan_;
  std::uint64_t first_measured_ = 0;
  std::optional<std::uint64_t> end_;
};

}  // namespace attestlab::load
