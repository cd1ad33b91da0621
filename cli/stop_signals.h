// SIGINT and SIGTERM: StopSignals for the subcommands that serve until stopped (serve, mdm
// serve), InterruptGuard for those that stop early and still report what they have (conform,
// load).
#pragma once

#include <signal.h>

#include <atomic>

namespace attestlab::cli {

// Construct it before any thread exists: it blocks the stop signals, so every thread started
// afterwards inherits the mask and wait() is the only place they are delivered.
class StopSignals {
 public:
  StopSignals();
  // Returns once SIGINT or SIGTERM arrived: which one.
  int wait() const;

 private:
  sigset_t set_;
};

// While one lives (one at a time), the first SIGINT or SIGTERM sets flag() and
// signal_number(); the work polls the flag, stops starting new work and reports what it has.
// A second signal leaves at once with status 128 + signal. The previous handlers come back
// on destruction.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  static const std::atomic<bool>& flag();
  static int signal_number();  // 0 until a signal arrived

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace attestlab::cli
