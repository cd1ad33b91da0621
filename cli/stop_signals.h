// SIGINT and SIGTERM for the subcommands that serve until stopped (serve, mdm serve).
#pragma once

#include <signal.h>

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

}  // namespace attestlab::cli
