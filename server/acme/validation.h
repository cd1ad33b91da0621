// Challenge validation off the request path: a fixed pool of worker threads fed by a
// FIFO queue, and the network checks of http-01 (RFC 8555 §8.3, RFC 8738 §3) and dns-01
// (RFC 8555 §8.4). The checks block on the network, so they only ever run on a worker.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "server/store/model.h"

namespace attestlab::server {

// Thread-safe. Jobs run in submission order per worker; stop() lets running jobs finish,
// drops queued ones and joins the threads (idempotent; the destructor calls it).
class ValidationPool {
 public:
  // At most max_queued jobs wait; more are refused (the caller answers rateLimited).
  explicit ValidationPool(int threads, std::size_t max_queued = kDefaultMaxQueued);
  static constexpr std::size_t kDefaultMaxQueued = 10000;
  ~ValidationPool();
  ValidationPool(const ValidationPool&) = delete;
  ValidationPool& operator=(const ValidationPool&) = delete;

  // false once stopped or when max_queued jobs already wait (the job is dropped).
  bool submit(std::function<void()> job);
  void stop();
  bool stopped() const;
  std::size_t queued() const;

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::size_t max_queued_;
  std::vector<std::thread> threads_;
};

struct ValidationOptions {
  std::string dns_server;          // HOST:PORT; empty = system resolver
  std::uint16_t http01_port = 80;  // where the http-01 request connects
  // Networks (CIDR, IPv4 or IPv6) validation never connects to (`--validation-deny`).
  std::vector<std::string> deny_cidrs;
  // An http-01 response body larger than this fails the challenge unread (a key
  // authorization is ~90 bytes).
  std::size_t http01_max_body = 4096;
  int timeout_ms = 10000;
};

// http-01: resolves the identifier (an ip identifier is its own address), fetches
// http://VALUE/.well-known/acme-challenge/TOKEN from that address on http01_port and
// compares the body, trailing whitespace removed, to key_authorization.
// Errors: "dns" (resolution), "connection" (connect/timeout), "unauthorized" (non-200),
// "incorrectResponse" (body mismatch).
// "10.0.0.0/8", "fd00::/8", "192.0.2.1" (a single address): whether `cidr` is a network
// in that form, and whether the address `ip` lies in it (false for anything unparsable).
bool valid_cidr(const std::string& cidr);
bool ip_in_cidr(const std::string& ip, const std::string& cidr);

Result<void> check_http01(const Identifier& identifier, const std::string& token,
                          const std::string& key_authorization, const ValidationOptions& options);

// dns-01: a TXT record at _acme-challenge.VALUE must equal
// base64url(SHA-256(key_authorization)). Errors: "dns" (resolver failure),
// "unauthorized" (no TXT record), "incorrectResponse" (records, none matching).
Result<void> check_dns01(const Identifier& identifier, const std::string& key_authorization,
                         const ValidationOptions& options);

}  // namespace attestlab::server
