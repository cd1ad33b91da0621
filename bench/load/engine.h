// Runs a load: worker threads, each with its own FlowWorker (so its own AcmeClients),
// start enrollments as the Schedule says and record what happened.
//
// Open model: a dispatcher hands each enrollment, at its intended time, to the worker
// that became idle last (so a light load runs on few workers with warm keep-alive
// connections), or queues it while every worker is busy; latency is measured from the
// intended time, so a target that answers slowly shows up as latency from the intended
// start, never as a lower offered rate. Closed model: each worker starts its next
// enrollment when the previous one ends.
//
// The run ends when the schedule is done, when the drain after the schedule's end runs
// out (enrollments still in flight are interrupted and count as unfinished), when the
// interrupt flag is set (Ctrl-C: the partial result is returned), or when the target
// stops answering: no enrollment succeeded for stall_timeout while the target did not
// answer at all (transport errors or poll timeouts). Every wait is bounded.
//
// Threads: run_load blocks the calling thread, which also calls on_progress.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "bench/load/flow.h"
#include "bench/load/jsonl_writer.h"
#include "bench/load/load_run.h"
#include "bench/load/schedule.h"
#include "core/result.h"

namespace attestlab::load {

// A look at a running load, for the progress line.
struct Progress {
  double elapsed_s = 0;         // since the clock start
  std::optional<double> end_s;  // when the schedule ends, if known
  bool warming_up = false;
  std::uint64_t completed = 0;  // measured
  std::uint64_t failed = 0;     // measured
  std::uint64_t fault_enrollments = 0;
  std::uint64_t remaining = 0;  // closed model with a count: measured still to run
  double rate = 0;              // completions per second since the last look
  std::uint64_t p99_us = 0;     // measured so far
  bool draining = false;        // the schedule ended; in-flight enrollments finish
};

struct EngineOptions {
  LoadPlan plan;
  int workers = 16;  // open model: worker threads (closed: the plan's concurrency share)
  std::chrono::milliseconds drain{30000};
  std::chrono::milliseconds stall_timeout{10000};
  std::chrono::milliseconds progress_interval{1000};
  std::function<void(const Progress&)> on_progress;  // on the calling thread
  const std::atomic<bool>* interrupt = nullptr;      // set from a signal handler
  JsonlWriter* jsonl = nullptr;                      // per-request lines, optional
  // CPU: the target's process (its /proc/PID/stat), and whether it runs inside this
  // process (the embedded server): then the generator's CPU is its worker threads' and
  // the server's the rest of the process.
  std::optional<pid_t> server_pid;
  bool server_in_process = false;
};

// Runs flow as options say. The result has everything the engine knows (stats,
// scheduled, elapsed, CPU, how it ended, the plan, workers, shard); the caller adds the
// target's name, URLs and thresholds. Errors only for a plan it cannot run
// (Error("malformed")).
Result<LoadRun> run_load(Flow& flow, const EngineOptions& options);

}  // namespace attestlab::load
