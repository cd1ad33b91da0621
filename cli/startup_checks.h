// Checks a server subcommand (`serve`, `mdm serve`) makes before it starts, so that a
// wrong flag is a usage error (exit 2, one line naming the flag and the path or address)
// and not a start-up failure found half-way through (exit 3).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "core/host_port.h"

namespace attestlab::cli {

// nullopt when `dir` exists or can be created and a file can be written in it; else why
// not, e.g. "--data-dir /proc/x: Permission denied".
// keep_created false: directories the check had to create are removed again (a report
// directory appears only when reports are written).
std::optional<std::string> check_writable_dir(const std::string& flag, const std::string& dir,
                                              bool keep_created = true);

// nullopt when `where.port` is 0 or nothing listens there yet (a bind succeeds); else
// "--listen 127.0.0.1:80: Address already in use".
std::optional<std::string> check_can_listen(const std::string& flag, const HostPort& where);

// Every option of `app` and its subcommands (recursively) that names an input file
// (--target-profile, --trust-ca, --inventory, --policy, --eab-keys, --attestation-roots,
// --tls-cert, --tls-key, --pubkey, --baseline) must name a readable file (readable_file()):
// a parse error (exit 2) with the flag and the path, before any subcommand starts its work.
void require_existing_input_files(CLI::App& app);

// Every --report-dir option (recursively) must name a directory that exists or can be
// created and written: checked when the command line is parsed, so a run never does all its
// work and then fails to write its reports.
void require_writable_report_dirs(CLI::App& app);

}  // namespace attestlab::cli
