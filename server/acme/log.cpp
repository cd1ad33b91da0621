#include "server/acme/log.h"

#include <ctime>

namespace attestlab::server {

namespace {

void append_timestamp(std::string& out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ts.tv_nsec / 1000000) % 1000);
  out += buf;
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
  char dur[32];
  std::snprintf(dur, sizeof dur, "%.3f", dur_ms);
  line += ",\"dur_ms\":";
  line += dur;
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
