// The command line a result JSON records ("command"), rebuilt from what CLI11 parsed:
// prefix, then every given option with its values. (conform and scenario have their own
// copies of this; they can move here.)
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace attestlab::cli {

std::string command_line_of(const std::string& prefix, const CLI::App& command);

}  // namespace attestlab::cli
