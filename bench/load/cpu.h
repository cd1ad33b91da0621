// CPU time of processes and threads, for the load generator's CPU-per-enrollment figures:
// the target's from /proc/PID/stat (utime + stime), the generator's from getrusage.
// Linux only. Thread-safe (no shared state).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace attestlab::load {

// utime + stime of process pid in milliseconds; nullopt when /proc/PID/stat cannot be
// read (no such process, not Linux).
std::optional<double> process_cpu_ms(pid_t pid);
// Parses the contents of a /proc/PID/stat file (the command name may hold spaces and
// parentheses); nullopt when malformed. ticks_per_second: sysconf(_SC_CLK_TCK).
std::optional<double> parse_proc_stat_cpu_ms(const std::string& stat, long ticks_per_second);

// User + system CPU of this whole process / the calling thread, in milliseconds.
double self_cpu_ms();
double thread_cpu_ms();

}  // namespace attestlab::load
