// A case's wire log (client/wire_log.h JSON) as a person reads HTTP: one block an exchange,
// "> " request lines and "< " response lines with their headers, the JWS of a signed request
// decoded (protected header and payload, pretty-printed), and a JSON body pretty-printed.
// What the HTML report's drill-down shows instead of the raw JSON.
#pragma once

#include <string>

#include "core/json.h"

namespace attestlab::reports {

// Tolerates any JSON (a saved report may be old or hand-edited): members that are missing
// or of another type are left out, never an error.
std::string wire_log_as_http(const Json& wire_log);

}  // namespace attestlab::reports
