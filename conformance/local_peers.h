// Local helper processes for zero-setup runs (`attestlab conform --embedded`): a child
// process runner and pebble-challtestsrv as the fake DNS the embedded target resolves
// through. The same recipe as sim/acme_pebble_fixture.h (test-only), for production
// code paths.
//
// Children get PR_SET_PDEATHSIG=SIGKILL, so they die with the harness even when it
// crashes; ~ChildProcess stops them (SIGTERM, then SIGKILL). Not thread-safe: start and
// stop from one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace attestlab::conformance {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  // program: absolute path; stdout and stderr go to log_path. false when fork fails.
  bool start(const std::string& program, const std::vector<std::string>& args,
             const std::string& log_path);
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

// pebble-challtestsrv with only its DNS server (every A query → 127.0.0.1, no AAAA) and
// management API on free loopback ports.
class FakeDns {
 public:
  // Error("serverInternal") when the program is missing or does not come up.
  Result<void> start(const std::string& log_path);
  std::string dns_address() const;     // "127.0.0.1:PORT"
  std::string management_url() const;  // "http://127.0.0.1:PORT"
  void stop() { process_.stop(); }

 private:
  ChildProcess process_;
  std::uint16_t dns_port_ = 0;
  std::uint16_t management_port_ = 0;
};

}  // namespace attestlab::conformance
