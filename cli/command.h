// Subcommand registry of the `attestlab` executable: one file a subcommand, each
// defining a registration function listed in main.cpp. A subcommand's callback returns
// the process exit code: 0 success, 1 failures found (conformance/scenario), 2 usage,
// 3 internal error.
#pragma once

#include <CLI/CLI.hpp>

namespace attestlab::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailures = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;

// Set by a subcommand's callback; main() returns it.
int& exit_code();

void register_serve(CLI::App& app);
void register_ca(CLI::App& app);
void register_conform(CLI::App& app);
void register_mdm(CLI::App& app);
void register_profile(CLI::App& app);
void register_scenario(CLI::App& app);
void register_demo(CLI::App& app);
void register_report(CLI::App& app);
void register_load(CLI::App& app);

}  // namespace attestlab::cli
