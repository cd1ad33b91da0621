// Text for people: the live progress line of a running load and the summary of a finished
// one (what `attestlab load` prints; the result JSON has the same figures).
#pragma once

#include <string>

#include "bench/load/engine.h"
#include "bench/load/load_run.h"

namespace attestlab::load {

// One line, e.g. "12.0/20.0 s  240 done  20.1/s  p99 45.2 ms  0 errors  ETA 8 s".
std::string format_progress(const Progress& progress);

// Several lines: the plan, counts and rates, latency percentiles (from the intended start
// and from the send), each step, errors by step/type/status, fault enrollments, badNonce
// retries, CPU per enrollment, how the run ended, and the thresholds with their values.
std::string format_summary(const LoadRun& run);

}  // namespace attestlab::load
