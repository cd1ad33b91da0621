// Where NonceService records that a nonce was used (RFC 8555 §6.5: "the server MUST ... reject
// the request ... if the nonce value has been used before"), so that a nonce is accepted at
// most once by every server process that shares the ledger.
//
// Two ledgers:
// - StoreNonceLedger: the store's nonce table (put_nonce: a write per use). For stores that
//   processes on several machines share (PostgreSQL).
// - SharedNonceTable: an open-addressing table in a file beside a SQLite database, mapped
//   MAP_SHARED by every process on that machine and guarded by a process-shared robust
//   mutex: a use costs a hash probe under that lock, no store write.
//
// The shared table has a fixed size and two halves. Uses are recorded in the current half;
// a lookup reads both. When the current half is 3/4 full, or older than the retention, the
// other half is cleared and becomes current, and a floor is raised: nonces issued before
// the half that is still kept began are refused from then on, so a use recorded only in the
// cleared half can never be accepted again (every process mapping the file reads the same
// machine's clock). Under a load
// beyond the table's size, nonces therefore stay usable for less than their lifetime (a
// refused client gets badNonce and retries with the fresh nonce of that answer); memory
// stays fixed (the file is mapped and populated once). A new table file starts with its
// floor at its creation time, so removing the file while no server runs is safe too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "server/store/store.h"

namespace attestlab::server {

class NonceLedger {
 public:
  virtual ~NonceLedger() = default;
  // Records the use of an authentic nonce: true the first time, false when it was used
  // before (or, for the shared table, when it was issued below the floor). `nonce` is the
  // nonce as sent; `tag` 16 bytes that identify it (its random part and MAC); `issued` its
  // issue time; `now` the verifier's time. Error only when the ledger fails.
  virtual Result<bool> first_use(const std::string& nonce, std::string_view tag,
                                 std::int64_t issued, std::int64_t now) = 0;
};

inline constexpr std::size_t kNonceTagBytes = 16;

// Records uses in the store (put_nonce; a duplicate is a replay). retention_seconds: how
// long records matter, passed to the store's purge.
std::unique_ptr<NonceLedger> make_store_nonce_ledger(Store& store, std::int64_t now,
                                                     std::int64_t retention_seconds);

struct SharedNonceTableOptions {
  // Slots per half, a power of two; a half takes 3/4 of them before it rotates.
  std::uint64_t slots_per_half = std::uint64_t{1} << 18;  // 2 x 4 MiB
  // Records are kept at least this long unless the table fills first (lifetime + margins).
  std::int64_t retention_seconds = 3720;
};

// Opens or creates the table file at `path` (mode 0600). An empty path maps anonymous
// memory (one process: an in-memory database). A file made with other options, or not a
// table at all, is refused with its path in the error, never overwritten.
Result<std::unique_ptr<NonceLedger>> open_shared_nonce_table(const std::string& path,
                                                             std::int64_t now,
                                                             const SharedNonceTableOptions& o);

}  // namespace attestlab::server
