// Server CPU in a benchmark that runs the server in its own process: the CPU time of the
// whole process minus that of the benchmark (client) thread, i.e. the server's threads.
// Reported as the counters process_cpu, client_cpu and server_cpu, in seconds per iteration
// (bench/run_micro.sh takes server_cpu as the figure of such a benchmark).
#pragma once

#include <benchmark/benchmark.h>
#include <time.h>

namespace attestlab::bench {

inline double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU seconds of the process and of the calling thread since construction; the server's
// share is the difference (everything but the client thread).
class CpuSplit {
 public:
  CpuSplit()
      : process0_(cpu_seconds(CLOCK_PROCESS_CPUTIME_ID)),
        thread0_(cpu_seconds(CLOCK_THREAD_CPUTIME_ID)) {}
  double process() const { return cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0_; }
  double thread() const { return cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - thread0_; }

 private:
  double process0_, thread0_;
};

// Counters in seconds per iteration (the console prints them with SI prefixes).
inline void set_cpu_counters(benchmark::State& state, double process_cpu, double client_cpu) {
  constexpr auto kPerIteration = benchmark::Counter::kAvgIterations;
  state.counters["process_cpu"] = benchmark::Counter(process_cpu, kPerIteration);
  state.counters["client_cpu"] = benchmark::Counter(client_cpu, kPerIteration);
  state.counters["server_cpu"] = benchmark::Counter(process_cpu - client_cpu, kPerIteration);
}

inline void set_cpu_counters(benchmark::State& state, const CpuSplit& split) {
  set_cpu_counters(state, split.process(), split.thread());
}

}  // namespace attestlab::bench
