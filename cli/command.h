// Subcommand registry of the `attestlab` executable: one file a subcommand, each
// defining a registration function listed in main.cpp. While CLI11 parses, the callback
// of the subcommand the command line chose stores what it will do in the Runner; main()
// then runs it and returns its exit code: 0 success, 1 failures found
// (conformance/scenario), 2 usage, 3 internal error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <string>

namespace attestlab::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailures = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;

// Prints "attestlab WHO: MESSAGE" to stderr (WHO is the subcommand, e.g. "scenario run")
// and returns `code`, so a failing branch reads `return complain("load", kExitUsage, why);`.
inline int complain(const std::string& who, int code, const std::string& message) {
  std::cerr << "attestlab " << who << ": " << message << "\n";
  return code;
}

// The chosen subcommand's work, returning the exit code; empty until a callback ran.
using Runner = std::function<int()>;

// Each adds its subcommand to `app`; `runner` must outlive the parse.
void register_serve(CLI::App& app, Runner& runner);
void register_ca(CLI::App& app, Runner& runner);
void register_conform(CLI::App& app, Runner& runner);
void register_mdm(CLI::App& app, Runner& runner);
void register_profile(CLI::App& app, Runner& runner);
void register_scenario(CLI::App& app, Runner& runner);
void register_demo(CLI::App& app, Runner& runner);
void register_report(CLI::App& app, Runner& runner);
void register_load(CLI::App& app, Runner& runner);

}  // namespace attestlab::cli
