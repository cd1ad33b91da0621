// Text checks shared by the device-attest modules: values that end up in JSON (evidence,
// decision log, problem details) must be valid UTF-8, or nlohmann's dump would throw.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/utf8.h"  // utf8_sequence_length, is_valid_utf8

namespace attestlab::server {

// Valid UTF-8 without control characters (C0, DEL, C1) and without ASCII whitespace.
bool is_printable_token(std::string_view s);

// s cut to at most max_bytes at a UTF-8 boundary, with "..." appended when cut; invalid
// UTF-8 sequences become '?'. For echoing untrusted text in details and logs.
std::string clip_text(std::string_view s, std::size_t max_bytes);

}  // namespace attestlab::server
