// One load run from checked options against a target profile: the flow the options name
// (plain, renewal, device, mix) on the target's URLs, the engine, the thresholds. What
// `attestlab load` (cli/load_cmd.cpp) and the Python module's attestlab.load() share; the
// command adds the profile, the signal handling, the printing and the report files.
//
// Threads: run_load_session blocks the calling thread (which also calls on_progress).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <ostream>
#include <string>

#include "bench/load/engine.h"
#include "bench/load/jsonl_writer.h"
#include "bench/load/load_run.h"
#include "cli/embedded_target.h"
#include "cli/load_options.h"
#include "client/target_profile.h"
#include "core/result.h"
#include "reports/run_result.h"

namespace attestlab::cli {

struct LoadSessionHooks {
  const std::atomic<bool>* interrupt = nullptr;  // set from a signal handler (Ctrl-C)
  std::chrono::milliseconds progress_interval{1000};
  std::function<void(const load::Progress&)> on_progress;  // none: no progress
  load::JsonlWriter* jsonl = nullptr;                      // per-request lines, optional
  std::ostream* notes = nullptr;  // one-line notes about the target (none: dropped)
  bool announce_setup = false;    // a note when the flow's set-up starts
};

// Runs the load `a` and `s` describe against `profile` (the URLs of --target beyond the
// profile's join the round-robin). embedded: the in-process server the profile describes,
// if any (its CPU and issued-certificate count are measured). Errors: Error("usage", one
// line) for a target that cannot take this load (checked before any load: missing
// challenge peers, mock CA, EAB), Error("internal", why) when the generator cannot run.
Result<load::LoadRun> run_load_session(const LoadArgs& a, const LoadSettings& s,
                                       const client::TargetProfile& profile,
                                       const EmbeddedTarget* embedded,
                                       const LoadSessionHooks& hooks);

// A result document (kind "load") holding one load run.
reports::RunResult load_result(const load::LoadRun& run, const std::string& command);

}  // namespace attestlab::cli
