// What the engine (bench/load/engine.h) asks of an enrollment flow, and what it hands the
// flow for one enrollment.
//
// A Flow is set up before the clock starts (accounts, device pools, primed identifiers:
// everything that should not be measured) and makes one FlowWorker per worker thread;
// a FlowWorker owns its clients (one client::AcmeClient per target URL) and runs one
// enrollment at a time on its thread. Enrollment k of the whole load goes to target URL
// k mod (number of URLs), so several URLs of one service share the load round-robin.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "bench/load/load_stats.h"
#include "client/wire_log.h"
#include "core/result.h"

namespace attestlab::load {

// Error type of an enrollment cut short because the run is stopping (Ctrl-C, the end of
// the drain); such enrollments are counted as interrupted, never as the target's errors.
inline constexpr const char* kErrorInterrupted = "interrupted";

// True for failures where the target did not answer at all (transport, poll deadline).
bool is_transport_error(const Error& error);

// The run's stop switch, with a sleep that it cuts short. Thread-safe.
class StopSignal {
 public:
  void stop();
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }
  // Sleeps d unless stopped meanwhile; false when stopped.
  bool sleep_for(std::chrono::nanoseconds d) const;

 private:
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
};

// How an enrollment ended.
struct EnrollmentOutcome {
  enum class Kind { Completed, Failed, FaultRefused, FaultAccepted, Interrupted };
  Kind kind = Kind::Completed;
  std::string step;   // Failed / FaultRefused: the step that failed
  Error error;        // Failed / FaultRefused / Interrupted
  std::string fault;  // mix flow: the ClientFaults knob of a fault enrollment
};

// One enrollment as the flow sees it: the step clock and the stop switch. Time spent in
// a step accumulates (a step may be entered more than once); only steps that completed
// are reported. Not thread-safe: used by the worker running the enrollment.
class EnrollmentContext {
 public:
  using Clock = std::chrono::steady_clock;
  // on_step_end (optional) is told each step that completed, when it completes.
  EnrollmentContext(const StopSignal& stop, std::function<void(Step)> on_step_end = nullptr)
      : stop_(stop), on_step_end_(std::move(on_step_end)) {}

  // Ends the current step (as completed) and starts `step`.
  void begin(Step step);
  // Ends the current step (as completed); the enrollment is over.
  void end();
  // Drops the current step without counting it (it failed).
  void abandon() { active_ = false; }

  bool stopping() const { return stop_.stopped(); }
  // Sleeps unless the run stops; false when it stopped.
  bool sleep_for(std::chrono::nanoseconds d) const { return stop_.sleep_for(d); }
  const StopSignal& stop_signal() const { return stop_; }

  // Completed steps and their accumulated time.
  bool completed(Step step) const { return completed_[static_cast<std::size_t>(step)]; }
  std::chrono::nanoseconds spent(Step step) const { return spent_[static_cast<std::size_t>(step)]; }
  // The step running when the enrollment stopped, if any.
  bool has_active() const { return active_; }
  Step active() const { return current_; }

 private:
  const StopSignal& stop_;
  std::function<void(Step)> on_step_end_;
  std::array<std::chrono::nanoseconds, kStepCount> spent_{};
  std::array<bool, kStepCount> completed_{};
  Step current_ = Step::Directory;
  bool active_ = false;
  Clock::time_point started_;
};

// Counters of a worker's clients (all its AcmeClients, all enrollments so far).
struct ClientCounters {
  std::uint64_t requests = 0;
  std::uint64_t bad_nonce_retries = 0;
  std::uint64_t polls = 0;
};

class FlowWorker {
 public:
  virtual ~FlowWorker() = default;
  // Runs enrollment k of the whole load; never throws.
  virtual EnrollmentOutcome enroll(std::uint64_t k, EnrollmentContext& ctx) = 0;
  virtual ClientCounters counters() const = 0;
};

class Flow {
 public:
  virtual ~Flow() = default;
  virtual std::string name() const = 0;       // plain | renewal | device | mix
  virtual std::string challenge() const = 0;  // http-01 | dns-01 | device-attest-01
  // Worker `index`'s state: its own clients, recording into log (nullptr: none). No I/O.
  // Called from the engine's thread before the clock starts; the worker is then used on
  // its own thread only.
  virtual std::unique_ptr<FlowWorker> make_worker(int index, client::WireLog* log) = 0;
};

}  // namespace attestlab::load
