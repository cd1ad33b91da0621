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
  explicit ValidationPool(int threads);
  ~ValidationPool();
  ValidationPool(const ValidationPool&) = delete;
  ValidationPool& operator=(const ValidationPool&) = delete;

  // false once stopped (the job is dropped).
  bool submit(std::function<void()> job);
  void stop();
  std::size_t queued() const;

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

struct ValidationOptions {
  std::string dns_server;          // HOST:PORT; empty = system resolver
  std::uint16_t http01_port = 80;  // where the http-01 request connects
  int timeout_ms = 10000;
};

// http-01: resolves the identifier (an ip identifier is its own address), fetches
// http://VALUE/.well-known/acme-challenge/TOKEN from that address on http01_port and
// compares the body, trailing whitespace removed, to key_authorization.
// Errors: "dns" (resolution), "connection" (connect/timeout), "unauthorized" (non-200),
// "incorrectResponse" (body mismatch).
Result<void> check_http01(const Identifier& identifier, const std::string& token,
                          const std::string& key_authorization, const ValidationOptions& options);

// dns-01: a TXT record at _acme-challenge.VALUE must equal
// base64url(SHA-256(key_authorization)). Errors: "dns" (resolver failure),
// "unauthorized" (no TXT record), "incorrectResponse" (records, none matching).
Result<void> check_dns01(const Identifier& identifier, const std::string& key_authorization,
                         const ValidationOptions& options);

}  // namespace attestlab::server
