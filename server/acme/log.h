// Structured logs of the ACME server: one JSON object per line on stderr (or another
// FILE*). Each line is written with a single fwrite so concurrent lines never interleave.
// Thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::server {

enum class LogLevel { Quiet = 0, Info = 1, Debug = 2 };

// "quiet" | "info" | "debug"; anything else is Error("malformed").
Result<LogLevel> parse_log_level(std::string_view text);

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::Info, std::FILE* out = stderr)
      : level_(level), out_(out) {}

  bool enabled(LogLevel level) const { return level != LogLevel::Quiet && level <= level_; }
  LogLevel level() const { return level_; }

  // {"ts","method","route","status","dur_ms","account"?,"detail"?} at Info. detail (the
  // problem detail of an error response) is only written at Debug.
  void request(std::string_view method, std::string_view route, int status, double dur_ms,
               std::string_view account, std::string_view detail = {}) const;

  // {"ts","level","msg", ...fields} when level is enabled.
  void event(LogLevel level, std::string_view msg, const Json& fields = Json::object()) const;

 private:
  void write_line(std::string& line) const;

  LogLevel level_;
  std::FILE* out_;
};

}  // namespace attestlab::server
