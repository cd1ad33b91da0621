// PgStore's schema: the migration history (table schema_version) and the prepared
// statements every pooled connection carries.
#include <iterator>
#include <string>

#include "server/store/pg_internal.h"

namespace attestlab::server::pg_internal {
namespace {

// Schema history. Step i takes the database from version i to i + 1 inside one
// transaction. Never edit a step that has shipped; append a new one. The versions count
// the same schema facts as the SQLite store's (store.h: kStoreSchemaVersion).
constexpr const char* kMigrations[] = {
    // 1: initial schema.
    R"sql(
CREATE TABLE nonces(
  nonce TEXT PRIMARY KEY,
  created BIGINT NOT NULL
);
CREATE INDEX nonces_by_created ON nonces(created);

CREATE TABLE accounts(
  id TEXT PRIMARY KEY,
  thumbprint TEXT NOT NULL UNIQUE,
  eab_kid TEXT UNIQUE,            -- NULL when the account has no EAB binding
  json TEXT NOT NULL
);

-- account_id is deliberately not a foreign key: the Store contract lets an order or a
-- certificate be written without requiring its account row. seq keeps insertion order.
CREATE TABLE orders(
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  status TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX orders_by_account ON orders(account_id, seq);

CREATE TABLE authzs(
  id TEXT PRIMARY KEY,
  order_id TEXT REFERENCES orders(id),
  account_id TEXT NOT NULL,
  status TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX authzs_by_order ON authzs(order_id);

CREATE TABLE challenges(
  id TEXT PRIMARY KEY,
  authz_id TEXT NOT NULL REFERENCES authzs(id) ON DELETE CASCADE
);
CREATE INDEX challenges_by_authz ON challenges(authz_id);

CREATE TABLE certificates(
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
  id TEXT PRIMARY KEY,
  serial TEXT NOT NULL UNIQUE,
  device_id TEXT,                 -- NULL for certificates that are not device certificates
  account_id TEXT NOT NULL,
  order_id TEXT,
  status TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX certificates_by_device ON certificates(device_id, seq);
CREATE INDEX certificates_by_account ON certificates(account_id);

CREATE TABLE settings(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
    // 2: one order, one certificate (a second finalize of an order must fail here even if
    // it got past the order's compare-and-set).
    R"sql(
ALTER TABLE certificates ADD CONSTRAINT certificates_order_id_key UNIQUE (order_id);
)sql",
    // 3: the pending-authorizations quota counts an account's authorizations by status.
    R"sql(
CREATE INDEX authzs_by_account_status ON authzs(account_id, status);
)sql",
    // 4: a new device certificate supersedes the device's valid ones; the index holds only
    // those (see the SQLite store's step 4).
    R"sql(
CREATE INDEX certificates_valid_by_device ON certificates(device_id, seq)
  WHERE status = 'valid' AND device_id IS NOT NULL;
DROP INDEX certificates_by_device;
)sql",
    // 5: start-up looks for finalizations a crash interrupted; the index holds only those.
    R"sql(
CREATE INDEX orders_processing ON orders(seq) WHERE status = 'processing';
)sql",
};
static_assert(std::size(kMigrations) == kStoreSchemaVersion);

// Serialises migrations of processes starting together (an arbitrary, fixed key).
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(4242015)";

}  // namespace

Result<void> PgStore::migrate(const std::string& url) {
  try {
    pqxx::connection c(url);
    pqxx::work t(c);
    t.exec(kMigrationLock);
    t.exec0("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    auto rows = t.exec("SELECT version FROM schema_version");
    int version = rows.empty() ? 0 : rows[0][0].as<int>();
    if (version > kStoreSchemaVersion) return schema_too_new(version, kStoreSchemaVersion);
    if (version < kStoreSchemaVersion) {
      for (int v = version; v < kStoreSchemaVersion; ++v) t.exec0(kMigrations[v]);
      if (rows.empty()) {
        t.exec_params0("INSERT INTO schema_version(version) VALUES($1)", kStoreSchemaVersion);
      } else {
        t.exec_params0("UPDATE schema_version SET version = $1", kStoreSchemaVersion);
      }
    }
    t.commit();
  } catch (const std::exception& e) {
    return Error::make("serverInternal", std::string("postgresql: ") + e.what());
  }

  pool_.configure(
      url,
      {
          {"nonce_insert", "INSERT INTO nonces(nonce, created) VALUES($1, $2)"},
          {"nonce_consume", "DELETE FROM nonces WHERE nonce = $1 AND created >= $2"},
          {"nonce_purge", "DELETE FROM nonces WHERE created < $1"},

          {"account_insert",
           "INSERT INTO accounts(id, thumbprint, eab_kid, json) VALUES($1, $2, $3, $4)"},
          {"account_by_id", "SELECT json FROM accounts WHERE id = $1"},
          {"account_by_thumbprint", "SELECT json FROM accounts WHERE thumbprint = $1"},
          {"account_update",
           "UPDATE accounts SET thumbprint = $1, eab_kid = $2, json = $3 WHERE id = $4"},
          {"account_update_if",
           "UPDATE accounts SET thumbprint = $1, eab_kid = $2, json = $3 WHERE id = $4 AND json = "
           "$5"},
          {"eab_kid_used", "SELECT 1 FROM accounts WHERE eab_kid = $1"},

          {"order_insert",
           "INSERT INTO orders(id, account_id, status, json) VALUES($1, $2, $3, $4)"},
          {"order_by_id", "SELECT json FROM orders WHERE id = $1"},
          {"order_ids_by_account", "SELECT id FROM orders WHERE account_id = $1 ORDER BY seq"},
          {"processing_order_ids",
           "SELECT id FROM orders WHERE status = 'processing' ORDER BY seq"},
          {"order_update",
           "UPDATE orders SET status = $1, json = $2 WHERE id = $3 AND ($4 = '' OR status = $4)"},
          {"order_exists", "SELECT 1 FROM orders WHERE id = $1"},

          {"authz_insert",
           "INSERT INTO authzs(id, order_id, account_id, status, json) VALUES($1, $2, $3, $4, $5)"},
          {"authz_by_id", "SELECT json FROM authzs WHERE id = $1"},
          {"authz_count", "SELECT count(*) FROM authzs WHERE account_id = $1 AND status = $2"},
          {"authz_by_challenge",
           "SELECT a.json, a.id FROM challenges c JOIN authzs a ON a.id = c.authz_id "
           "WHERE c.id = $1"},
          {"authz_update",
           "UPDATE authzs SET status = $1, json = $2 WHERE id = $3 AND ($4 = '' OR status = $4)"},
          {"authz_update_if",
           "UPDATE authzs SET status = $1, json = $2 WHERE id = $3 AND json = $4"},
          {"authz_exists", "SELECT 1 FROM authzs WHERE id = $1"},
          {"challenge_insert", "INSERT INTO challenges(id, authz_id) VALUES($1, $2)"},
          {"challenges_delete", "DELETE FROM challenges WHERE authz_id = $1"},
          {"challenge_ids_of_authz",
           "SELECT id FROM challenges WHERE authz_id = $1 ORDER BY id COLLATE \"C\""},

          {"certificate_insert",
           "INSERT INTO certificates(id, serial, device_id, account_id, order_id, status, json) "
           "VALUES($1, $2, $3, $4, $5, $6, $7)"},
          {"certificate_by_id", "SELECT json FROM certificates WHERE id = $1"},
          {"certificate_by_serial", "SELECT json FROM certificates WHERE serial = $1"},
          // Serialises issuances for one device (put_certificate_superseding); the two-key
          // form keeps these apart from the migration's one-key lock.
          {"device_certificates_lock", "SELECT pg_advisory_xact_lock(1684370531, hashtext($1))"},
          {"valid_certificates_by_device",
           "SELECT json FROM certificates WHERE device_id = $1 AND status = 'valid' ORDER BY seq"},
          {"certificate_revoke_if_valid",
           "UPDATE certificates SET status = 'revoked', json = (json::jsonb || "
           "jsonb_build_object('status', 'revoked', 'revocation_reason', $1::int, "
           "'revoked_at', $2::bigint))::text WHERE id = $3 AND status = 'valid'"},
          {"certificate_set_replaced_by",
           "UPDATE certificates SET json = jsonb_set(json::jsonb, '{replaced_by}', "
           "to_jsonb($1::text))::text "
           "WHERE id = $2 AND coalesce(json::jsonb ->> 'replaced_by', '') = $3"},
          {"certificate_update",
           "UPDATE certificates SET serial = $1, device_id = $2, account_id = $3, order_id = $4, "
           "status = $5, json = $6 WHERE id = $7"},

          {"setting_get", "SELECT value FROM settings WHERE key = $1"},
          {"setting_set",
           "INSERT INTO settings(key, value) VALUES($1, $2) "
           "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
          {"setting_add",
           "INSERT INTO settings(key, value) VALUES($1, $2) ON CONFLICT(key) DO NOTHING"},
          {"schema_version", "SELECT version FROM schema_version"},
      });
  return ok();
}

int PgStore::schema_version() {
  auto v = one([](pqxx::transaction_base& t) -> Result<int> {
    auto rows = t.exec_prepared("schema_version");
    if (rows.empty()) return Error::make("serverInternal", "store: no schema_version row");
    return rows[0][0].as<int>();
  });
  return v ? *v : -1;
}

}  // namespace attestlab::server::pg_internal
