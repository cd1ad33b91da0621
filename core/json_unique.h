// Strict JSON for protocol input: parse_json (core/json.h) that also refuses an object with
// two members of the same name (RFC 7515 §4, RFC 8259 §4 "SHOULD be unique"), where picking
// one silently would let a signed header say two things at once. (CBOR maps with a
// repeated key are always refused by parse_cbor, RFC 8949 §5.6.)
#pragma once

#include <string_view>

#include "core/json.h"

namespace attestlab {

Result<Json> parse_json_unique(std::string_view text);

}  // namespace attestlab
