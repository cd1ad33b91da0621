// The fake DNS a harness runs targets against: pebble-challtestsrv (Let's Encrypt's test
// DNS server), started as a child process (FakeDns) for zero-setup runs, and its
// management API (DnsTxtClient) through which dns-01 TXT records are set and cleared.
// Used by the conformance suite and the load generator.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/child_process.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::client {

// pebble-challtestsrv with only its DNS server (every A query → 127.0.0.1, no AAAA) and
// management API on free loopback ports. Not thread-safe; the destructor stops the child.
class FakeDns {
 public:
  // log_path receives the child's output. Error("serverInternal") when the program is
  // missing or does not come up (the error then carries its log).
  Result<void> start(const std::string& log_path);
  std::string dns_address() const;     // "127.0.0.1:PORT"
  std::string management_url() const;  // "http://127.0.0.1:PORT"
  void stop() { process_.stop(); }

 private:
  ChildProcess process_;
  std::uint16_t dns_port_ = 0;
  std::uint16_t management_port_ = 0;
};

// pebble-challtestsrv's management API (set-txt / clear-txt), one request a call. Each
// call makes its own connection, so one DnsTxtClient may be used from several threads.
class DnsTxtClient {
 public:
  explicit DnsTxtClient(std::string management_url) : base_(std::move(management_url)) {}
  // name: the record name, with or without the trailing dot. Error("connection") when
  // challtestsrv cannot be reached or answers other than 200.
  Result<void> set_txt(const std::string& name, const std::string& value) const;
  Result<void> clear_txt(const std::string& name) const;

 private:
  Result<void> post(const std::string& path, const Json& body) const;
  std::string base_;
};

}  // namespace attestlab::client
