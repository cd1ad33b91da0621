#include "core/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>
#include <utility>

namespace attestlab {
namespace {

TEST(ClockRfc3339, FormatsUtc) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1795694400), "2026-11-26T12:00:00Z");
  EXPECT_EQ(format_rfc3339(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_rfc3339(4102444799), "2099-12-31T23:59:59Z");
}

// format_rfc3339 writes its fields digit by digit: the text snprintf's "%04d-%02d-…" gave,
// years past 9999 and before 0 included.
TEST(ClockRfc3339, WritesWhatSnprintfWrote) {
  const std::int64_t times[] = {0,
                                -1,
                                59,
                                86399,
                                951782400,
                                1795694400,
                                2524607999,
                                2524608000,
                                4102444799,
                                253402300799,
                                253402300800,
                                -62167219200,
                                -62167219201,
                                1234567890123};
  for (std::int64_t t : times) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr) << t;
    char expected[64];
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    EXPECT_EQ(format_rfc3339(t), expected) << t;
  }
}

TEST(ClockRfc3339, AppendsWithMilliseconds) {
  std::string out = "at ";
  ASSERT_TRUE(append_rfc3339(out, 1795694400, 7));
  EXPECT_EQ(out, "at 2026-11-26T12:00:00.007Z");
  out.clear();
  ASSERT_TRUE(append_rfc3339(out, 951782400, 999));
  EXPECT_EQ(out, "2000-02-29T00:00:00.999Z");
  out.clear();
  ASSERT_TRUE(append_rfc3339(out, 0));
  EXPECT_EQ(out, "1970-01-01T00:00:00Z");
  std::string padded;
  append_zero_padded(padded, 42, 4);
  append_zero_padded(padded, 0, 2);
  append_zero_padded(padded, 9999, 4);
  EXPECT_EQ(padded, "0042009999");
}

TEST(ClockRfc3339, ParsesZuluFractionsAndOffsets) {
  const std::pair<const char*, std::int64_t> cases[] = {
      {"2026-11-26T12:00:00Z", 1795694400},
      {"2026-11-26T12:00:00.999999Z", 1795694400},
      {"2026-11-26T12:00:00+00:00", 1795694400},
      {"2026-11-26T12:00:00.5-00:00", 1795694400},
      {"2026-11-26T14:30:00+02:30", 1795694400},
      {"2026-11-26t12:00:00z", 1795694400},
      {"1969-12-31T23:59:59Z", -1},
      {"2000-02-29T00:00:00Z", 951782400},
  };
  std::int64_t t = 0;
  for (const auto& [text, expected] : cases) {
    ASSERT_TRUE(parse_rfc3339(text, t)) << text;
    EXPECT_EQ(t, expected) << text;
  }
}

TEST(ClockRfc3339, FractionInNanoseconds) {
  const std::pair<const char*, std::int64_t> cases[] = {
      {"2026-11-26T12:00:00Z", 0},
      {"2026-11-26T12:00:00.1Z", 100'000'000},
      {"2026-11-26T12:00:00.9Z", 900'000'000},
      {"2026-11-26T12:00:00.000000001Z", 1},
      {"2026-11-26T12:00:00.1234567891234+01:00", 123'456'789},
  };
  for (const auto& [text, expected] : cases) {
    std::int64_t t = 0, nanos = -1;
    ASSERT_TRUE(parse_rfc3339(text, t, &nanos)) << text;
    EXPECT_EQ(nanos, expected) << text;
    std::int64_t whole = 0;
    ASSERT_TRUE(parse_rfc3339(text, whole));
    EXPECT_EQ(t, whole) << "the seconds do not depend on asking for the fraction";
  }
}

TEST(ClockRfc3339, RoundTrip) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1795000000},
                         std::int64_t{2147483648}, std::int64_t{253402300799}}) {
    std::int64_t back = -5;
    ASSERT_TRUE(parse_rfc3339(format_rfc3339(v), back)) << v;
    EXPECT_EQ(back, v);
  }
}

TEST(ClockRfc3339, RefusesMalformed) {
  std::int64_t t = 42;
  for (const char* bad :
       {"", "2026-11-26", "2026-11-26T12:00:00", "2026-11-26 12:00:00Z", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T12:60:00Z", "2026-11-26T12:00:00.Z", "2026-11-26T12:00:00+0000",
        "2026-11-26T12:00:00Zjunk", "26-11-26T12:00:00Z", "2026-11-26T12:00:00+24:00",
        "2026-1a-26T12:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad, t)) << bad;
  }
  EXPECT_EQ(t, 42);  // untouched on failure
}

TEST(ClockSystem, CloseToWallClock) {
  const auto wall = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  EXPECT_LE(std::llabs(SystemClock().now() - wall), 2);
  EXPECT_EQ(SystemClock::instance(), SystemClock::instance());
}

TEST(ClockVirtual, StartsAtStartAndAdvances) {
  VirtualClock clock(1000000);
  EXPECT_GE(clock.now(), 1000000);
  EXPECT_LE(clock.now(), 1000001);
  clock.advance(7 * 86400);
  EXPECT_GE(clock.now(), 1000000 + 7 * 86400);
  EXPECT_LE(clock.now(), 1000001 + 7 * 86400);
  clock.set(5);
  EXPECT_GE(clock.now(), 5);
  EXPECT_LE(clock.now(), 6);
  clock.set(2000000000);
  EXPECT_GE(clock.now(), 2000000000);
  EXPECT_LE(clock.now(), 2000000001);
}

TEST(ClockVirtual, ZeroStartMeansSystemTime) {
  VirtualClock clock;
  EXPECT_LE(std::llabs(clock.now() - SystemClock().now()), 2);
}

TEST(ClockVirtual, RealTimeKeepsMoving) {
  VirtualClock clock(1000);
  const std::int64_t before = clock.now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_GE(clock.now(), before + 1);
}

}  // namespace
}  // namespace attestlab
