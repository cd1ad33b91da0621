// The command line a result JSON records ("command"), rebuilt from what CLI11 parsed:
// prefix, the positional argument (if any), then every given option with its values.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace attestlab::cli {

// A given flag is written by its name alone ("--embedded"), so the line can be run again.
std::string command_line_of(const std::string& prefix, const CLI::App& command,
                            const std::string& positional = "");

}  // namespace attestlab::cli
