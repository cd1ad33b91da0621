// Time as seconds since the Unix epoch. Everything that makes time-dependent decisions
// (expiry, attestation freshness windows, Apple's 7-day throttle) takes a Clock so that
// scenarios can run in virtual time. Implementations are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace attestlab {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;  // seconds since epoch
};

// Milliseconds since the epoch, system time (for what needs finer than Clock's seconds and
// never virtual time: the time prefix of ids and serials).
std::int64_t system_millis();

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
  static std::shared_ptr<Clock> instance();
};

// Starts at `start` (or system time when 0) and moves only when advanced... plus the
// real time elapsed since construction, so that short real waits still make progress.
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(std::int64_t start = 0);
  std::int64_t now() const override;
  void advance(std::int64_t seconds) { offset_ += seconds; }
  void set(std::int64_t t);

 private:
  std::int64_t base_;
  std::atomic<std::int64_t> offset_{0};
};

// RFC 3339 UTC ("2026-11-25T16:00:00Z") and back.
std::string format_rfc3339(std::int64_t t);
// The same appended to `out`, with `millis` (0-999) as three decimals when it is not negative
// ("2026-11-25T16:00:00.123Z"); false, and nothing appended, for a time gmtime cannot give.
bool append_rfc3339(std::string& out, std::int64_t t, int millis = -1);
// `value` (0 <= value < 10^width) as exactly `width` decimal digits, zero-padded: the fields
// of a written time, without snprintf's cost on paths every request takes.
void append_zero_padded(std::string& out, long value, int width);
// `out` is whole seconds (a fraction is truncated); `fraction_nanos`, when given, receives the
// fraction in nanoseconds (digits past the ninth are dropped), so two times within one second
// can still be ordered.
bool parse_rfc3339(const std::string& s, std::int64_t& out, std::int64_t* fraction_nanos = nullptr);

}  // namespace attestlab
