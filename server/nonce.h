// Anti-replay nonces (RFC 8555 §6.5). Nonces live in the Store so that a nonce is
// accepted at most once across every server process sharing it. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "server/store.h"

namespace attestlab::server {

class NonceService {
 public:
  // store and clock must outlive the service. lifetime: seconds a nonce stays usable.
  NonceService(Store& store, std::shared_ptr<Clock> clock, std::int64_t lifetime_seconds);

  // A fresh nonce, recorded in the store. Error only when the store fails.
  Result<std::string> issue();

  // true exactly once for a nonce issue() returned within its lifetime; false for
  // unknown, reused, expired or syntactically impossible nonces (no store access then).
  Result<bool> consume(const std::string& nonce);

 private:
  Store& store_;
  std::shared_ptr<Clock> clock_;
  std::int64_t lifetime_;
};

}  // namespace attestlab::server
