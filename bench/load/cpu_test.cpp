#include "bench/load/cpu.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

namespace attestlab::load {
namespace {

TEST(Cpu, ParsesProcStatEvenWithOddCommandNames) {
  // Fields after "(comm) state": ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime ...
  const std::string stat =
      "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
  auto ms = parse_proc_stat_cpu_ms(stat, 100);
  ASSERT_TRUE(ms.has_value());
  EXPECT_DOUBLE_EQ(*ms, 3000.0);  // (250 + 50) ticks at 100 a second
  EXPECT_FALSE(parse_proc_stat_cpu_ms("1234 (x) S 1 2", 100).has_value());
  EXPECT_FALSE(parse_proc_stat_cpu_ms("garbage", 100).has_value());
  EXPECT_FALSE(parse_proc_stat_cpu_ms(stat, 0).has_value());
}

TEST(Cpu, OwnProcessIsReadableAndMissingOnesAreNot) {
  EXPECT_TRUE(process_cpu_ms(getpid()).has_value());
  EXPECT_FALSE(process_cpu_ms(0x3fffffff).has_value());
  // Burn a little CPU: the process and thread figures do not go backwards.
  const double before = self_cpu_ms();
  const double thread_before = thread_cpu_ms();
  volatile double x = 0;
  for (int i = 0; i < 5000000; ++i) x = x + std::sqrt(static_cast<double>(i));
  EXPECT_GE(self_cpu_ms(), before);
  EXPECT_GE(thread_cpu_ms(), thread_before);
  EXPECT_GE(self_cpu_ms(), thread_cpu_ms() - 1);
}

}  // namespace
}  // namespace attestlab::load
