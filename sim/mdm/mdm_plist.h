// Property lists as JSON values: the in-memory form of every MDM message and
// configuration profile in attestlab (sim/mdm/mdm_messages.h, sim/mdm/profile.h). One tree type
// for both means the MDM code builds, compares and prints messages with nlohmann::json and
// touches libplist only here.
//
// Mapping (plist → JSON and back):
//   dict ↔ object            array ↔ array          string ↔ string
//   integer ↔ integer (signed 64-bit; libplist 2.2 keeps negatives as two's complement)
//   real ↔ float             boolean ↔ boolean      data ↔ binary (Json::binary_t)
//   date → string, RFC 3339 UTC (read only: attestlab writes no dates)
//   uid → integer (keyed archives only; never expected in MDM traffic)
// JSON null has no plist form: null members and null array items are left out when writing.
//
// Pure functions; thread-safe. Nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::sim {

// Deepest nesting plist_to_json() accepts; deeper input is Error("malformed") (it would be
// an attack, not an MDM message).
inline constexpr int kMaxPlistDepth = 64;

// Parses XML or binary plist text (detected by libplist). Error("malformed") for text that
// is empty, not a plist, or nested deeper than kMaxPlistDepth.
Result<Json> plist_to_json(std::string_view text);

// Writes a JSON value as plist text. XML is what Apple devices and MDMs send; binary is
// accepted by both and used in round-trip tests.
std::string json_to_plist_xml(const Json& value);
std::string json_to_plist_binary(const Json& value);

// A plist <data> value.
Json plist_data(const Bytes& bytes);
Json plist_data(std::string_view bytes);

// Typed member access on a plist dict held as JSON: nullptr when the member is absent or
// of another plist type.
const std::string* plist_string(const Json& dict, const char* key);
const Bytes* plist_bytes(const Json& dict, const char* key);  // a <data> member
const Json* plist_array(const Json& dict, const char* key);
const Json* plist_dict(const Json& dict, const char* key);
std::optional<std::int64_t> plist_integer(const Json& dict, const char* key);
std::optional<bool> plist_bool(const Json& dict, const char* key);

// The plist type name of a JSON value as an admin reads it in a profile ("string",
// "integer", "data", "dict", ...).
const char* plist_type_name(const Json& value);

}  // namespace attestlab::sim
