// Serialises the head of a server response by hand into a reused buffer: cheaper than
// building beast::fields for every response, and the one place that decides which
// header fields a handler may send.
#include <algorithm>
#include <boost/beast/http/status.hpp>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/http_server_internal.h"

namespace attestlab::http::server_detail {
namespace {

namespace bhttp = boost::beast::http;

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_valid_field_value(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

// RFC 9110 §5.6.7 IMF-fixdate of the current second, cached per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local std::size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    int n = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                          kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                          tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    length = n > 0 ? static_cast<std::size_t>(n) : 0;
    cached_second = now;
  }
  return {text, length};
}

std::string_view reason_phrase(int status) {
  auto reason = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(status)));
  if (reason.empty() || reason.front() == '<') return "Unknown";
  return {reason.data(), reason.size()};
}

}  // namespace

bool append_response_head(std::string& out, const Response& response, bool keep_alive,
                          int request_version) {
  const int status = response.status;
  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  bool has_date = false;
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char) ||
        !is_valid_field_value(value)) {
      continue;  // never let a handler split the response
    }
    if (ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding")) continue;
    if (ascii_iequals(name, "connection")) {
      if (ascii_iequals(value, "close")) keep_alive = false;
      continue;
    }
    if (ascii_iequals(name, "date")) has_date = true;
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  if (!has_date) {
    out.append("Date: ");
    out.append(http_date());
    out.append("\r\n");
  }
  if (status_has_content(status)) {
    out.append("Content-Length: ");
    out.append(std::to_string(response.body.size()));
    out.append("\r\n");
  }
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (request_version < 11) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  return keep_alive;
}

}  // namespace attestlab::http::server_detail
