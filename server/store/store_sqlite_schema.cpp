// SqliteStore's schema: the migration history and the prepared statements.
#include <iterator>
#include <string>

#include "server/store/sqlite_internal.h"

namespace attestlab::server::sqlite_internal {
namespace {

// Schema history. Step i takes the database from version i to i + 1 (PRAGMA user_version)
// inside one transaction. Never edit a step that has shipped; append a new one.
constexpr const char* kMigrations[] = {
    // 1: initial schema.
    R"sql(
CREATE TABLE nonces(
  nonce TEXT PRIMARY KEY,
  created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX nonces_by_created ON nonces(created);

CREATE TABLE accounts(
  id TEXT PRIMARY KEY,
  thumbprint TEXT NOT NULL UNIQUE,
  eab_kid TEXT UNIQUE,            -- NULL when the account has no EAB binding
  json TEXT NOT NULL
);

-- account_id is deliberately not a foreign key: the Store contract lets an order or a
-- certificate be written without requiring its account row.
CREATE TABLE orders(
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  status TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX orders_by_account ON orders(account_id);

CREATE TABLE authzs(
  id TEXT PRIMARY KEY,
  order_id TEXT REFERENCES orders(id),
  account_id TEXT NOT NULL,
  status TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX authzs_by_order ON authzs(order_id);

-- Index from challenge id to its authorization (the challenge itself lives in the
-- authorization's JSON).
CREATE TABLE challenges(
  id TEXT PRIMARY KEY,
  authz_id TEXT NOT NULL REFERENCES authzs(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX challenges_by_authz ON challenges(authz_id);

CREATE TABLE certificates(
  id TEXT PRIMARY KEY,
  serial TEXT NOT NULL UNIQUE,
  device_id TEXT,                 -- NULL for certificates that are not device certificates
  account_id TEXT NOT NULL,
  order_id TEXT,
  status TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX certificates_by_device ON certificates(device_id);
CREATE INDEX certificates_by_account ON certificates(account_id);

CREATE TABLE settings(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    // 2: one order, one certificate (a second finalize of an order must fail here even if
    // it got past the order's compare-and-set). NULL order ids do not collide.
    R"sql(
CREATE UNIQUE INDEX certificates_by_order ON certificates(order_id);
)sql",
    // 3: the pending-authorizations quota counts an account's authorizations by status.
    R"sql(
CREATE INDEX authzs_by_account_status ON authzs(account_id, status);
)sql",
    // 4: a new device certificate supersedes the device's valid ones; the index holds only
    // those, so the lookup does not grow with the device's revoked history (and
    // certificates that are not device certificates are not indexed at all).
    R"sql(
CREATE INDEX certificates_valid_by_device ON certificates(device_id)
  WHERE status = 'valid' AND device_id IS NOT NULL;
DROP INDEX certificates_by_device;
)sql",
    // 5: start-up looks for finalizations a crash interrupted; the index holds only those.
    R"sql(
CREATE INDEX orders_processing ON orders(status) WHERE status = 'processing';
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
static_assert(kSchemaVersion == kStoreSchemaVersion);

}  // namespace

Result<int> SqliteStore::read_user_version() {
  Query q(user_version_.get());
  if (q.step() != SQLITE_ROW) return sqlite_error();
  return static_cast<int>(q.column_int64(0));
}

Result<void> SqliteStore::migrate() {
  auto too_new = [](int found) { return schema_too_new(found, kSchemaVersion); };
  auto version = read_user_version();
  if (!version) return version.error();
  if (*version > kSchemaVersion) return too_new(*version);
  if (*version == kSchemaVersion) return ok();

  Transaction tx(*this);
  ATTESTLAB_TRY(tx.begin());
  // Another process may have migrated between the read above and taking the write lock.
  version = read_user_version();
  if (!version) return version.error();
  if (*version > kSchemaVersion) return too_new(*version);
  for (int v = *version; v < kSchemaVersion; ++v) ATTESTLAB_TRY(exec_script(kMigrations[v]));
  ATTESTLAB_TRY(exec_script(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str()));
  return tx.commit();
}

Result<void> SqliteStore::prepare_statements() {
  const std::pair<StatementPtr*, const char*> statements[] = {
      {&nonce_insert_, "INSERT INTO nonces(nonce, created) VALUES(?, ?)"},
      {&nonce_consume_, "DELETE FROM nonces WHERE nonce = ? AND created >= ?"},
      {&nonce_purge_, "DELETE FROM nonces WHERE created < ?"},

      {&account_insert_, "INSERT INTO accounts(id, thumbprint, eab_kid, json) VALUES(?, ?, ?, ?)"},
      {&account_by_id_, "SELECT json FROM accounts WHERE id = ?"},
      {&account_by_thumbprint_, "SELECT json FROM accounts WHERE thumbprint = ?"},
      {&account_update_, "UPDATE accounts SET thumbprint = ?, eab_kid = ?, json = ? WHERE id = ?"},
      {&account_update_if_,
       "UPDATE accounts SET thumbprint = ?, eab_kid = ?, json = ? WHERE id = ? AND json = ?"},
      {&eab_kid_used_, "SELECT 1 FROM accounts WHERE eab_kid = ?"},

      {&order_insert_, "INSERT INTO orders(id, account_id, status, json) VALUES(?, ?, ?, ?)"},
      {&order_by_id_, "SELECT json FROM orders WHERE id = ?"},
      {&order_ids_by_account_, "SELECT id FROM orders WHERE account_id = ? ORDER BY rowid"},
      {&processing_order_ids_, "SELECT id FROM orders WHERE status = 'processing' ORDER BY rowid"},
      {&order_update_,
       "UPDATE orders SET status = ?1, json = ?2 WHERE id = ?3 AND (?4 = '' OR status = ?4)"},
      {&order_exists_, "SELECT 1 FROM orders WHERE id = ?"},

      {&authz_insert_,
       "INSERT INTO authzs(id, order_id, account_id, status, json) VALUES(?, ?, ?, ?, ?)"},
      {&authz_by_id_, "SELECT json FROM authzs WHERE id = ?"},
      {&authz_count_, "SELECT count(*) FROM authzs WHERE account_id = ? AND status = ?"},
      {&authz_by_challenge_,
       "SELECT a.json, a.id FROM challenges c JOIN authzs a ON a.id = c.authz_id WHERE c.id = ?"},
      {&authz_update_,
       "UPDATE authzs SET status = ?1, json = ?2 WHERE id = ?3 AND (?4 = '' OR status = ?4)"},
      {&authz_update_if_, "UPDATE authzs SET status = ?1, json = ?2 WHERE id = ?3 AND json = ?4"},
      {&authz_exists_, "SELECT 1 FROM authzs WHERE id = ?"},
      {&challenge_insert_, "INSERT INTO challenges(id, authz_id) VALUES(?, ?)"},
      {&challenges_delete_, "DELETE FROM challenges WHERE authz_id = ?"},
      {&challenge_ids_of_authz_, "SELECT id FROM challenges WHERE authz_id = ? ORDER BY id"},

      {&certificate_insert_,
       "INSERT INTO certificates(id, serial, device_id, account_id, order_id, status, json) "
       "VALUES(?, ?, ?, ?, ?, ?, ?)"},
      {&certificate_by_id_, "SELECT json FROM certificates WHERE id = ?"},
      {&certificate_by_serial_, "SELECT json FROM certificates WHERE serial = ?"},
      {&valid_certificates_by_device_,
       "SELECT json FROM certificates WHERE device_id = ? AND status = 'valid' ORDER BY rowid"},
      {&certificate_revoke_if_valid_,
       "UPDATE certificates SET status = 'revoked', json = json_set(json, '$.status', 'revoked', "
       "'$.revocation_reason', ?, '$.revoked_at', ?) WHERE id = ? AND status = 'valid'"},
      {&certificate_set_replaced_by_,
       "UPDATE certificates SET json = json_set(json, '$.replaced_by', ?) "
       "WHERE id = ? AND coalesce(json_extract(json, '$.replaced_by'), '') = ?"},
      {&certificate_update_,
       "UPDATE certificates SET serial = ?, device_id = ?, account_id = ?, order_id = ?, "
       "status = ?, json = ? WHERE id = ?"},

      {&setting_get_, "SELECT value FROM settings WHERE key = ?"},
      {&setting_set_,
       "INSERT INTO settings(key, value) VALUES(?, ?) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
      {&setting_add_, "INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO NOTHING"},
  };
  for (const auto& [slot, sql] : statements) {
    auto s = prepare(sql);
    if (!s) return s.error();
    *slot = std::move(*s);
  }
  return ok();
}

int SqliteStore::schema_version() {
  std::lock_guard lock(mu_);
  auto v = read_user_version();
  return v ? *v : -1;
}

}  // namespace attestlab::server::sqlite_internal
