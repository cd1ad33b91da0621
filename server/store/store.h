// Durable state of the ACME server. Implementations: SqliteStore (embedded, WAL) and
// PgStore (PostgreSQL, for several server processes on one database). All methods are thread-safe.
// Writes are atomic per call; update_* calls are compare-and-set on the status the
// caller read when `expected_status` is non-empty (returns Error("conflict") when another
// writer moved it first), so concurrent validators cannot double-transition an object;
// update_*_if calls compare the whole stored object (Error("changed")), so concurrent
// writers of different members cannot undo each other's change either.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/store/model.h"

namespace attestlab::server {

class Store {
 public:
  virtual ~Store() = default;

  // Nonces: issue records a nonce; consume returns true exactly once per issued nonce
  // and deletes it. Nonces older than max_age_seconds are purged and never accepted.
  virtual Result<void> put_nonce(const std::string& nonce, std::int64_t now) = 0;
  virtual Result<bool> consume_nonce(const std::string& nonce, std::int64_t now,
                                     std::int64_t max_age_seconds) = 0;

  // Accounts. create_account fails with Error("conflict") if the thumbprint exists.
  virtual Result<void> create_account(const Account& a) = 0;
  virtual Result<std::optional<Account>> account_by_id(const std::string& id) = 0;
  virtual Result<std::optional<Account>> account_by_thumbprint(const std::string& tp) = 0;
  virtual Result<void> update_account(const Account& a) = 0;  // thumbprint may change
  // Compare-and-set: writes `updated` only if the stored account still equals `expected`
  // (every member), else Error("changed") and nothing is written; Error("conflict") when
  // the new thumbprint belongs to another account.
  virtual Result<void> update_account_if(const Account& updated, const Account& expected) = 0;
  // EAB key ids may bind at most one account.
  virtual Result<bool> eab_kid_used(const std::string& kid) = 0;

  // Orders and authorizations are created together.
  virtual Result<void> create_order(const Order& o, const std::vector<Authorization>& authzs) = 0;
  // create_order for an order that replaces a certificate (RFC 9773 §5: a certificate has
  // one successor): in the same transaction the certificate's replaced_by is set to o.id
  // while it is still `expected_replaced_by` ("" = none), a compare-and-set of that member
  // only (no other member of the certificate is written, so a racing change to the record is
  // not undone). When it is not (another order claimed it first, or there is no such
  // certificate), Error("changed") and nothing is written: the loser of a race leaves no
  // order and no authorization behind.
  virtual Result<void> create_replacing_order(const Order& o,
                                              const std::vector<Authorization>& authzs,
                                              const std::string& certificate_id,
                                              const std::string& expected_replaced_by) = 0;
  virtual Result<std::optional<Order>> order_by_id(const std::string& id) = 0;
  virtual Result<std::vector<std::string>> order_ids_by_account(const std::string& account_id) = 0;
  // Ids of the orders in "processing" (finalizations a crash interrupted; read at start-up),
  // oldest first. A partial index holds only those, so start-up does not read the store's
  // history (a scan of every order took 8.9 s from a cold cache at a million orders).
  virtual Result<std::vector<std::string>> processing_order_ids() = 0;
  virtual Result<void> update_order(const Order& o, const std::string& expected_status = "") = 0;

  virtual Result<std::optional<Authorization>> authz_by_id(const std::string& id) = 0;
  // Finds the authorization that owns challenge id.
  virtual Result<std::optional<Authorization>> authz_by_challenge(
      const std::string& challenge_id) = 0;
  virtual Result<void> update_authz(const Authorization& a,
                                    const std::string& expected_status = "") = 0;
  // Compare-and-set on the whole row: writes `updated` only if the stored authorization
  // still equals `expected` (every member, its challenges too), else Error("changed") and
  // nothing is written (also when it is missing). Writers of different members of one
  // authorization (two of its challenges answered at once) cannot undo each other's change.
  virtual Result<void> update_authz_if(const Authorization& updated,
                                       const Authorization& expected) = 0;
  // How many of an account's authorizations are in `status` (the pending-authorizations
  // quota); an index on (account, status) keeps it a range count.
  virtual Result<std::int64_t> count_authzs(const std::string& account_id,
                                            const std::string& status) = 0;

  // Stores `issued` in one transaction with: the revocation of every certificate that is
  // still valid under one of `supersede.device_ids` (one active certificate per device; each
  // gets status "revoked", `supersede.reason` and `supersede.revoked_at`), looked up inside
  // that transaction, so two issuances for one device that race leave exactly the later one
  // valid; and, with `completes`, that order if its status is still `completes_from` (a
  // finalize's certificate and its order's new state are written together). All or none:
  // Error("conflict") and nothing written for a duplicate id or serial or an order that has
  // moved on. Returns the ids of the certificates it revoked, oldest first.
  virtual Result<std::vector<std::string>> put_certificate_superseding(
      const CertificateRecord& issued, const Supersede& supersede, const Order* completes,
      const std::string& completes_from) = 0;
  virtual Result<void> put_certificate(const CertificateRecord& c) = 0;
  virtual Result<std::optional<CertificateRecord>> certificate_by_id(const std::string& id) = 0;
  virtual Result<std::optional<CertificateRecord>> certificate_by_serial(
      const std::string& serial_hex) = 0;
  // The device's certificates whose status is "valid", oldest first: what a new one
  // supersedes. Revoked ones are not read, so a device's renewal costs the same after a
  // thousand renewals as after one (a partial index holds only valid device certificates).
  virtual Result<std::vector<CertificateRecord>> valid_certificates_by_device(
      const std::string& device_id) = 0;
  virtual Result<void> update_certificate(const CertificateRecord& c) = 0;
  // Revokes the certificate only while its status is "valid": status, reason and time are
  // the only members written, so two racing revocations cannot both succeed (nor overwrite
  // the first one's reason) and a concurrent replaced_by claim is kept. True when revoked.
  virtual Result<bool> revoke_certificate_if_valid(const std::string& certificate_id, int reason,
                                                   std::int64_t revoked_at) = 0;

  // Key/value settings (e.g. schema facts, CA metadata).
  virtual Result<std::optional<std::string>> get_setting(const std::string& key) = 0;
  virtual Result<void> set_setting(const std::string& key, const std::string& value) = 0;
  // Writes the setting only when it has no value yet; true when this call wrote it. Several
  // processes starting together on one empty store agree on the first value written.
  virtual Result<bool> add_setting(const std::string& key, const std::string& value) = 0;

  virtual int schema_version() = 0;

  // The database file's path when every process using this store runs on this machine, so
  // that they may share other files beside it (SQLite; "" for an in-memory database);
  // nothing when processes on other machines may share the store (PostgreSQL).
  virtual std::optional<std::string> machine_local_path() const { return std::nullopt; }
};

// The schema version this build writes. Both stores migrate older databases up to it on
// open, one versioned step at a time, and refuse newer ones (schema_too_new).
inline constexpr int kStoreSchemaVersion = 5;

// The error for a database whose schema is newer than this build (names both versions).
Error schema_too_new(int found, int supported);
// The ids of a's challenges in byte order (how both stores' challenge index lists them),
// to tell whether update_authz must rewrite the index.
std::vector<std::string> sorted_challenge_ids(const Authorization& a);
// Whether an error (possibly with context prepended) is schema_too_new's.
bool is_schema_too_new(const Error& e);

// Opens (and migrates) the SQLite store at path; creates the file if missing.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);
// Opens (and migrates) the PostgreSQL store at a libpq URL (postgresql://...).
Result<std::unique_ptr<Store>> open_pg_store(const std::string& url);
// Opens a store from a --store spec: "sqlite:PATH" or "postgresql://..." ("postgres://").
Result<std::unique_ptr<Store>> open_store(const std::string& spec);

}  // namespace attestlab::server
