// The options of `attestlab load` (cli/load_cmd.cpp): as given on the command line
// (LoadArgs, filled by CLI11) and checked (LoadSettings: parsed quantities, the plan, the
// thresholds). Every bad combination is one usage line.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/schedule.h"
#include "bench/load/threshold.h"
#include "core/result.h"

namespace attestlab::cli {

struct LoadArgs {
  // Target.
  std::vector<std::string> targets;
  std::string profile;
  bool embedded = false;
  std::string trust_ca;
  std::string eab_kid, eab_hmac_key;
  std::string http01_listen;
  std::string dns01_management;
  std::string attestation_ca;
  // Flow.
  std::string flow = "plain";
  std::string challenge;
  std::optional<int> accounts;
  bool ari = false;  // renewal: through ACME Renewal Information (RFC 9773)
  std::optional<std::size_t> devices;
  double fault_share = 0.1;
  std::vector<std::string> faults;
  // Load.
  std::string rate, ramp, duration, warmup, drain = "30s", stall_timeout = "10s";
  std::optional<int> concurrency;
  std::optional<std::uint64_t> count;
  std::optional<int> workers;
  std::string shard;
  std::string poll_interval = "50ms", poll_timeout = "30s", http_timeout = "10s";
  bool honor_retry_after = false;
  // Output.
  std::vector<std::string> thresholds;
  std::string report_dir;
  std::string jsonl;
  std::optional<pid_t> server_pid;
  bool quiet = false;
  std::string command_line;
};

struct LoadSettings {
  load::LoadPlan plan;
  int workers = 0;          // open model
  std::size_t devices = 0;  // device pools
  std::vector<load::Threshold> thresholds;
  std::chrono::milliseconds drain{}, stall_timeout{}, poll_interval{}, poll_timeout{},
      http_timeout{};
};

void add_load_options(CLI::App& cmd, LoadArgs& args);
// Error("malformed", one line) for anything that cannot run.
Result<LoadSettings> check_load_args(const LoadArgs& args);

}  // namespace attestlab::cli
