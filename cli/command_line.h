// The command line a result JSON records ("command"), rebuilt from what CLI11 parsed:
// prefix, the positional argument (if any), then every given option with its values.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace attestlab::cli {

// How a given flag is written: its name alone ("--embedded", a line one can run again), or
// with the value CLI11 recorded for it ("--embedded true", as conform and scenario record it).
enum class FlagValues { Omit, Keep };

std::string command_line_of(const std::string& prefix, const CLI::App& command,
                            FlagValues flags = FlagValues::Omit,
                            const std::string& positional = "");

}  // namespace attestlab::cli
