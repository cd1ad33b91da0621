// How much of the wire a report keeps (`--wire-logs all|failures|none`). Full logs of a
// passing 225-case run made a 7.9 MB report.html; a reader needs the wire of what went
// wrong, and the rest only when asked for. Applied to a RunResult before it is written, so
// result.json, JUnit and HTML agree.
#pragma once

#include <string>

#include "core/result.h"
#include "reports/run_result.h"

namespace attestlab::reports {

enum class WireLogs {
  All,       // every case's exchanges
  Failures,  // only cases that did not pass or skip (the default)
  None,      // none
};

// "all" | "failures" | "none"; Error("malformed") otherwise.
Result<WireLogs> wire_logs_from_string(const std::string& text);
const char* to_string(WireLogs policy);

// Drops the wire logs `policy` does not keep, then replaces every string of kMinShared bytes
// or more that an earlier kept exchange already holds (the same certificate chain, CSR or
// attestation sent or downloaded again) by a reference to the first, e.g. "(same as
// rfc8555-7.4.2-x #12.response.body: 2345 bytes, sha256 0123456789abcdef)", so each large
// blob is written once. Returns the bytes saved by the second step.
inline constexpr std::size_t kMinShared = 1024;
std::size_t apply_wire_log_policy(RunResult& run, WireLogs policy);

}  // namespace attestlab::reports
