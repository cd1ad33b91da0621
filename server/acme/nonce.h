// Anti-replay nonces (RFC 8555 §6.5), accepted at most once across every server process
// sharing a Store.
//
// A nonce is self-authenticating: base64url(issued-at (6 bytes) || sequence (6 bytes) ||
// HMAC-SHA256(key, first 12 bytes) truncated to 12 bytes), with the HMAC key kept in the
// store's settings so every process shares it. The sequence is a 48-bit counter that
// starts at a random value in each service, scattered by a bijection, so nonces are
// unique within a process for 2^48 issues and across processes (the same second,
// overlapping counter ranges) except with probability about n/2^47 for n issues; the MAC
// makes them unpredictable to anyone without the key (RFC 8555 §6.5.1). Issuing therefore costs an HMAC (keyed once) and no
// store write. Using one checks the MAC and age (by the verifying process's clock, with a
// stated skew margin of 60 s between processes), then records the use in a NonceLedger
// (nonce_ledger.h): the first use wins, a replay finds the record, and records are kept
// lifetime + 2 margins, after which the age check alone refuses them on every process.
// The ledger is a table in a file beside the database when the store is one machine's
// (SQLite: DB-nonces), else the store itself (PostgreSQL: put_nonce, a duplicate is a
// conflict). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/result.h"
#include "server/acme/nonce_ledger.h"
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

  ~NonceService();

 private:
  NonceService(std::unique_ptr<NonceLedger> ledger, std::shared_ptr<Clock> clock,
               std::int64_t lifetime, Bytes key);
  // The issue time of an authentic, unexpired nonce.
  std::optional<std::int64_t> issued_at(const std::string& nonce, Bytes* raw = nullptr) const;

  std::unique_ptr<NonceLedger> ledger_;
  std::shared_ptr<Clock> clock_;
  std::int64_t lifetime_;
  struct Mac;  // HMAC-SHA256 with the key set once (nonce.cpp)
  std::unique_ptr<const Mac> mac_;
  std::atomic<std::uint64_t> sequence_;
};

}  // namespace attestlab::server
