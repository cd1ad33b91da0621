// JSON and CBOR both come from nlohmann/json; this header adds the few helpers the
// protocols need. CBOR decoding never throws: malformed input is an Error("malformed").
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace attestlab {

using Json = nlohmann::json;

// Parses JSON text; malformed input or trailing garbage gives Error("malformed").
Result<Json> parse_json(std::string_view text);

// Json::dump for files that must be written whatever a foreign server sent: a string
// that is not UTF-8 comes out with U+FFFD instead of throwing type_error.316. indent as
// in Json::dump (-1: compact).
std::string dump_lossy(const Json& value, int indent = -1);

// CBOR (RFC 8949) through nlohmann's CBOR support. Byte strings decode to Json binary
// values (Json::binary_t).
Bytes to_cbor(const Json& value);
Result<Json> parse_cbor(const Bytes& data);

// Returns a string member or nullptr when absent or of another type.
const std::string* get_string(const Json& obj, const char* key);

}  // namespace attestlab
