// How both stores keep model objects: whole, as JSON text (model.cpp), next to the columns
// that are looked up or compared.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::server::stored_json {

inline std::string dump(const Json& j) {
  // replace: invalid UTF-8 in a string must not throw out of the store.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A stored JSON column parsed back; Error("serverInternal") when it is not JSON.
Result<Json> parse_stored(const std::string& text);

// The model objects last read back from their stored text, or last written as it, by row
// key: a row read again with the same text (an authorization a client polls, the order
// finalize reads after the validation wrote it) is copied instead of parsed. The text itself
// is always read from the database, so a row another connection or process changed is
// parsed anew. Bounded: at `capacity` entries the memo starts over. Not thread-safe: used
// under a lock of the store's.
template <class T>
class ParsedRows {
 public:
  explicit ParsedRows(std::size_t capacity) : capacity_(capacity) {}
  std::optional<T> find(const std::string& key, const std::string& text) const {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.text != text) return std::nullopt;
    return it->second.value;
  }
  void remember(const std::string& key, const std::string& text, const T& value) {
    if (capacity_ == 0) return;
    if (entries_.size() >= capacity_ && entries_.find(key) == entries_.end()) entries_.clear();
    entries_.insert_or_assign(key, Entry{text, value});
  }
  // After a write of `value` as `text` (stored_text(value)): the next read of that text
  // is a copy of `value`, as a parse of it would give, except where dump replaced invalid
  // UTF-8 by U+FFFD: then the parse differs from `value` and nothing is remembered. (A
  // write that is rolled back is harmless: a read finds the memo only with the same text.)
  void remember_written(const std::string& key, const std::string& text, const T& value) {
    if (text.find("\xef\xbf\xbd") != std::string::npos) return;
    remember(key, text, value);
  }
  // The text last read or written for `key` when what it holds is `value`, else null: the
  // row as a writer that holds `value` saw it (a compare-and-set compares that text).
  const std::string* text_holding(const std::string& key, const T& value) const {
    auto it = entries_.find(key);
    return it != entries_.end() && it->second.value == value ? &it->second.text : nullptr;
  }
  // What a compare-and-set of the row `key` compares when the writer holds `value`: the
  // text_holding it, else `value` as stored_text writes it.
  std::string text_to_compare(const std::string& key, const T& value) const {
    const std::string* held = text_holding(key, value);
    return held != nullptr ? *held : stored_text(value);
  }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string text;
    T value;
  };
  std::unordered_map<std::string, Entry> entries_;
  std::size_t capacity_;
};

// A row fetched as JSON turned into a model object (absent stays absent).
template <class T>
Result<std::optional<T>> decode(Result<std::optional<Json>> row, T (*from_json)(const Json&)) {
  if (!row) return row.error();
  if (!*row) return std::optional<T>();
  return std::optional<T>(from_json(**row));
}

}  // namespace attestlab::server::stored_json
