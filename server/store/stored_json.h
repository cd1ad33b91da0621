// How both stores keep model objects: whole, as JSON text (model.cpp), next to the columns
// that are looked up or compared.
#pragma once

#include <optional>
#include <string>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::server::stored_json {

inline std::string dump(const Json& j) {
  // replace: invalid UTF-8 in a string must not throw out of the store.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A stored JSON column parsed back; Error("serverInternal") when it is not JSON.
Result<Json> parse_stored(const std::string& text);

// A row fetched as JSON turned into a model object (absent stays absent).
template <class T>
Result<std::optional<T>> decode(Result<std::optional<Json>> row, T (*from_json)(const Json&)) {
  if (!row) return row.error();
  if (!*row) return std::optional<T>();
  return std::optional<T>(from_json(**row));
}

}  // namespace attestlab::server::stored_json
