// The check every option naming an input file makes while the command line is parsed:
// a missing or unreadable file is a usage error (exit 2) whose one line names the option
// and the path once ("--trust-ca: /x.pem: No such file or directory").
#pragma once

#include <CLI/CLI.hpp>

namespace attestlab::cli {

// A CLI11 validator: passes when the value is a regular file this process can read.
CLI::Validator readable_file();

}  // namespace attestlab::cli
