#include "server/acme/log.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/clock.h"

namespace attestlab::server {

namespace {

// The request's time, to the millisecond ("2026-11-25T16:00:00.123Z").
void append_timestamp(std::string& out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  append_rfc3339(out, ts.tv_sec, static_cast<int>(ts.tv_nsec / 1000000));
}

// Milliseconds with three decimals, as "%.3f" writes them (rounded to the microsecond).
void append_milliseconds(std::string& out, double ms) {
  if (!(ms >= 0 && ms < 1e12)) {  // negative, NaN or absurd: the general path
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", ms);
    out += buf;
    return;
  }
  const long long micros = std::llround(ms * 1000.0);
  out += std::to_string(micros / 1000);
  out += '.';
  append_zero_padded(out, static_cast<long>(micros % 1000), 3);
}

// JSON string escaping for the few free-text fields; keeps the line valid JSON whatever a
// client sent.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x80) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c < 0x80 ? c : '?');
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

Result<LogLevel> parse_log_level(std::string_view text) {
  if (text == "quiet") return LogLevel::Quiet;
  if (text == "info") return LogLevel::Info;
  if (text == "debug") return LogLevel::Debug;
  return Error::make("malformed", "log level must be quiet, info or debug");
}

void Logger::write_line(std::string& line) const {
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out_);
}

void Logger::request(std::string_view method, std::string_view route, int status, double dur_ms,
                     std::string_view account, std::string_view detail) const {
  if (!enabled(LogLevel::Info)) return;
  std::string line;
  line.reserve(160);
  line += "{\"ts\":\"";
  append_timestamp(line);
  line += "\",\"method\":";
  append_json_string(line, method);
  line += ",\"route\":";
  append_json_string(line, route);
  line += ",\"status\":" + std::to_string(status);
  line += ",\"dur_ms\":";
  append_milliseconds(line, dur_ms);
  if (!account.empty()) {
    line += ",\"account\":";
    append_json_string(line, account);
  }
  if (!detail.empty() && enabled(LogLevel::Debug)) {
    line += ",\"detail\":";
    append_json_string(line, detail);
  }
  line += '}';
  write_line(line);
}

void Logger::event(LogLevel level, std::string_view msg, const Json& fields) const {
  if (!enabled(level)) return;
  std::string line = "{\"ts\":\"";
  append_timestamp(line);
  line += level == LogLevel::Debug ? "\",\"level\":\"debug\",\"msg\":"
                                   : "\",\"level\":\"info\",\"msg\":";
  append_json_string(line, msg);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      line += ',';
      append_json_string(line, key);
      line += ':';
      line += value.dump(-1, ' ', true, Json::error_handler_t::replace);
    }
  }
  line += '}';
  write_line(line);
}

}  // namespace attestlab::server
