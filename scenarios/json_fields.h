// Strict reading of one JSON object, member by member, so that every error names the file
// and the JSON path of the member at fault ("x.json: steps[2].expect.error: must be a
// string"). Used by the scenario parser; members whose name starts with "_" are comments.
//
// The first error wins: once one is recorded, later reads return nullopt and record
// nothing, so a parser can read a whole object and check the error once at the end.
// Not thread-safe; one FieldErrors per parse.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::scenarios {

// Where errors of one parse go.
class FieldErrors {
 public:
  explicit FieldErrors(std::string file) : file_(std::move(file)) {}
  // Records "FILE: PATH: message" unless an error is already recorded.
  void fail(const std::string& path, const std::string& message);
  bool failed() const { return error_.has_value(); }
  // Error("malformed", "FILE: PATH: message").
  const Error& error() const { return *error_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::optional<Error> error_;
};

// One object under a path ("" for the document root).
class Fields {
 public:
  Fields(const Json& object, std::string path, FieldErrors& errors);

  const std::string& path() const { return path_; }
  // "path.key" (or "key" at the root).
  std::string at(const std::string& key) const;
  bool has(const char* key) const;
  void fail(const std::string& key, const std::string& message) { errors_.fail(at(key), message); }
  FieldErrors& errors() { return errors_; }

  // Each returns nullopt when the member is absent (recording "is required" when
  // required) or of the wrong type (recording "must be ...").
  std::optional<std::string> string(const char* key, bool required = false);
  std::optional<bool> boolean(const char* key, bool required = false);
  std::optional<std::int64_t> integer(const char* key, bool required = false,
                                      std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  // A string from a fixed set ("must be one of a, b, c").
  std::optional<std::string> choice(const char* key, const std::vector<std::string>& allowed,
                                    bool required = false);
  // An array of strings (an empty array is allowed unless non_empty).
  std::optional<std::vector<std::string>> strings(const char* key, bool required = false,
                                                  bool non_empty = false);
  // A string, or an array of at least one string: the accepted alternatives.
  std::optional<std::vector<std::string>> string_or_strings(const char* key, bool required = false);
  // The raw member, checked to be an object / array.
  const Json* object(const char* key, bool required = false);
  const Json* array(const char* key, bool required = false);

  // Records "unknown member" for every member not read above and not starting with "_";
  // `context` completes the message ("is not a member of acme_enroll steps").
  void reject_unknown(const std::string& context = "is not a known member");

 private:
  const Json* find(const char* key, bool required);

  const Json& object_;
  std::string path_;
  FieldErrors& errors_;
  std::set<std::string> seen_;
};

// "steps[2]"-style child path.
std::string index_path(const std::string& path, std::size_t index);

}  // namespace attestlab::scenarios
