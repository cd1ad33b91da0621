// The http-01 side of a harness (RFC 8555 §8.3): a plain-HTTP server the target connects
// to for validation, answering GET /.well-known/acme-challenge/TOKEN with what the caller
// provided for that token (404 otherwise), whatever the Host header says. Used by the
// conformance suite and the load generator.
//
// Thread-safety: every method may be called from any thread concurrently. Copying is
// deleted; the destructor stops the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/http.h"
#include "core/result.h"

namespace attestlab::client {

class Http01Responder {
 public:
  // listen: "HOST:PORT"; port 0 lets the system pick a free one (port() tells which: the
  // way to get a port nobody else can take before the responder listens). Error("malformed")
  // when it is not HOST:PORT; Error("connection") when the port cannot be bound.
  static Result<std::unique_ptr<Http01Responder>> start(const std::string& listen);
  ~Http01Responder();
  Http01Responder(const Http01Responder&) = delete;
  Http01Responder& operator=(const Http01Responder&) = delete;

  // Serves body for token; delay holds the answer back that long (to keep a validation
  // in flight while a case polls).
  void provide(const std::string& token, std::string body,
               std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  void withdraw(const std::string& token);
  // How many GETs for token arrived so far (0 once withdrawn).
  int hits(const std::string& token) const;
  std::uint16_t port() const;

 private:
  struct Answer {
    std::string body;
    std::chrono::milliseconds delay{0};
    int hits = 0;
  };
  Http01Responder() = default;
  http::Response handle(const http::Request& request);

  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  std::map<std::string, Answer> answers_;  // by token
};

}  // namespace attestlab::client
