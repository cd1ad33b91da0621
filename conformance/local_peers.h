// Local helper processes for zero-setup runs (`attestlab conform --embedded`): a child
// process runner and pebble-challtestsrv as the fake DNS the embedded target resolves
// through (child processes: core/child_process.h). Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/child_process.h"
#include "core/result.h"

namespace attestlab::conformance {

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
