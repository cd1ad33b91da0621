#include "bench/load/cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace attestlab::load {
namespace {

double ms_of(const struct rusage& u) {
  const auto tv_ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
  };
  return tv_ms(u.ru_utime) + tv_ms(u.ru_stime);
}

}  // namespace

std::optional<double> parse_proc_stat_cpu_ms(const std::string& stat, long ticks_per_second) {
  // "pid (comm) state ppid ...": comm may contain anything, so fields are counted from
  // the last ')'. utime and stime are fields 14 and 15 (1-based), i.e. the 12th and 13th
  // after the state.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || ticks_per_second <= 0) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> fields;
  std::string field;
  while (rest >> field && fields.size() < 13) fields.push_back(field);
  if (fields.size() < 13) return std::nullopt;
  const auto number = [](const std::string& s) -> std::optional<double> {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::strtod(s.c_str(), nullptr);
  };
  const auto utime = number(fields[11]);
  const auto stime = number(fields[12]);
  if (!utime || !stime) return std::nullopt;
  return (*utime + *stime) * 1000.0 / static_cast<double>(ticks_per_second);
}

std::optional<double> process_cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return parse_proc_stat_cpu_ms(text.str(), sysconf(_SC_CLK_TCK));
}

double self_cpu_ms() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return ms_of(u);
}

double thread_cpu_ms() {
  struct rusage u {};
  getrusage(RUSAGE_THREAD, &u);
  return ms_of(u);
}

}  // namespace attestlab::load
