// Child processes for the harness and its tests: real peers (pebble, pebble-challtestsrv)
// run as children on free loopback ports.
//
// Children get PR_SET_PDEATHSIG=SIGKILL, so they die with the parent even when it
// crashes; ~ChildProcess stops them (SIGTERM, then SIGKILL). Not thread-safe: start and
// stop from one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attestlab {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  // program: absolute path; stdout and stderr go to log_path. extra_env: "NAME=value"
  // entries overriding the inherited environment. false when fork fails.
  bool start(const std::string& program, const std::vector<std::string>& args,
             const std::string& log_path, const std::vector<std::string>& extra_env = {});
  bool running();
  void stop();

 private:
  pid_t pid_ = -1;
};

// A loopback port free right now (for TCP, and UDP too when also_udp); 0 when none found.
std::uint16_t free_loopback_port(bool also_udp = false);

// The absolute path of an installed program ("" when not found in /usr/bin,
// /usr/local/bin, /bin).
std::string find_program(const std::string& name);

}  // namespace attestlab
