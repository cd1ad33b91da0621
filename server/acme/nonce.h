// Anti-replay nonces (RFC 8555 §6.5), accepted at most once across every server process
// sharing a Store.
//
// A nonce is self-authenticating: base64url(issued-at (6 bytes) || random (6 bytes) ||
// HMAC-SHA256(key, first 12 bytes) truncated to 12 bytes), with the HMAC key kept in the
// store's settings so every process shares it. Issuing therefore costs an HMAC and no
// store write. Using one checks the MAC and age (by the verifying process's clock, with a
// stated skew margin of 60 s between processes), then records the use in the store with
// put_nonce(nonce, verifier's now), which refuses a duplicate with Error("conflict"): the
// first use wins, a replay finds the record, and the store purges records once they are
// older than lifetime + 2 margins, when the age check alone refuses them on every
// process. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/result.h"
#include "server/store/store.h"

namespace attestlab::server {

class NonceService {
 public:
  // Loads (or creates) the shared HMAC key. store and clock must outlive the service.
  // lifetime: seconds a nonce stays usable.
  static Result<std::unique_ptr<NonceService>> open(Store& store, std::shared_ptr<Clock> clock,
                                                    std::int64_t lifetime_seconds);

  // A fresh nonce. No store access.
  std::string issue();

  // true exactly once for a nonce some service on this store issued within its lifetime;
  // false for forged, expired, reused or malformed nonces (no store access for those
  // that fail the MAC or age check). Error only when the store fails.
  Result<bool> consume(const std::string& nonce);

  // The MAC and age checks of consume() alone, without recording a use.
  bool authentic(const std::string& nonce) const;

 private:
  NonceService(Store& store, std::shared_ptr<Clock> clock, std::int64_t lifetime, Bytes key);
  // The issue time of an authentic, unexpired nonce.
  std::optional<std::int64_t> issued_at(const std::string& nonce) const;

  Store& store_;
  std::shared_ptr<Clock> clock_;
  std::int64_t lifetime_;
  Bytes key_;
};

}  // namespace attestlab::server
