#include "core/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace attestlab {
namespace {

std::int64_t steady_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n decimal digits at s[pos].
bool read_digits(const std::string& s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(const std::string& s, std::size_t& pos, char a, char b = '\0') {
  if (pos >= s.size() || (s[pos] != a && (b == '\0' || s[pos] != b))) return false;
  ++pos;
  return true;
}

}  // namespace

std::int64_t system_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<Clock> SystemClock::instance() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

// base_ holds (start in milliseconds - steady clock at construction), so that
// base_ + steady_millis() is the start plus the real time elapsed since construction.
VirtualClock::VirtualClock(std::int64_t start)
    : base_((start != 0 ? start : SystemClock().now()) * 1000 - steady_millis()) {}

std::int64_t VirtualClock::now() const {
  const std::int64_t millis = base_ + steady_millis();
  return millis / 1000 + offset_.load();
}

void VirtualClock::set(std::int64_t t) {
  offset_ = t - (base_ + steady_millis()) / 1000;
}

void append_zero_padded(std::string& out, long value, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

bool append_rfc3339(std::string& out, std::int64_t t, int millis) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return false;
  const long year = tm.tm_year + 1900L;
  if (year < 0 || year > 9999) {  // five digits or a sign: as snprintf's %04d writes them
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04ld-%02d-%02dT%02d:%02d:%02d", year, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    out += buf;
  } else {
    append_zero_padded(out, year, 4);
    out += '-';
    append_zero_padded(out, tm.tm_mon + 1, 2);
    out += '-';
    append_zero_padded(out, tm.tm_mday, 2);
    out += 'T';
    append_zero_padded(out, tm.tm_hour, 2);
    out += ':';
    append_zero_padded(out, tm.tm_min, 2);
    out += ':';
    append_zero_padded(out, tm.tm_sec, 2);
  }
  if (millis >= 0) {
    out += '.';
    append_zero_padded(out, millis % 1000, 3);
  }
  out += 'Z';
  return true;
}

std::string format_rfc3339(std::int64_t t) {
  std::string out;
  out.reserve(20);
  append_rfc3339(out, t);
  return out;
}

// date-time per RFC 3339 §5.6; fractional seconds are truncated, offsets are applied,
// a leap second (:60) counts as the following second.
bool parse_rfc3339(const std::string& s, std::int64_t& out, std::int64_t* fraction_nanos) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, pos, 4, year) || !expect(s, pos, '-') || !read_digits(s, pos, 2, month) ||
      !expect(s, pos, '-') || !read_digits(s, pos, 2, day) || !expect(s, pos, 'T', 't') ||
      !read_digits(s, pos, 2, hour) || !expect(s, pos, ':') || !read_digits(s, pos, 2, minute) ||
      !expect(s, pos, ':') || !read_digits(s, pos, 2, second))
    return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60)
    return false;
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0) return false;
    for (std::size_t d = digits; d < 9; ++d) nanos *= 10;
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_digits(s, pos, 2, oh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, om) ||
        oh > 23 || om > 59)
      return false;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  out = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
        hour * 3600 + minute * 60 + second - offset;
  if (fraction_nanos != nullptr) *fraction_nanos = nanos;
  return true;
}

}  // namespace attestlab
