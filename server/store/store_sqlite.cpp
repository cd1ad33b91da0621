// SqliteStore: the embedded Store on SQLite 3 (C API).
//
// Durability: WAL with synchronous=NORMAL. A committed transaction is in the WAL file
// before the call returns, so it survives a crash (kill -9) of the process; only an OS
// crash or power loss can lose the last transactions before a checkpoint.
//
// Concurrency: one connection, one mutex around every call. Requests are tiny and SQLite
// answers them in microseconds, so a connection pool would add complexity for no gain;
// SQLite itself allows only one writer at a time anyway. Several processes may share the
// file: multi-statement writes take the write lock up front (BEGIN IMMEDIATE) and waits
// for a lock are bounded by busy_timeout.
//
// Checkpoints (copying the WAL back into the database file, two fsyncs) run on a background
// thread with its own connection, so requests never wait for them under the mutex. If
// writes outpace it, a commit checkpoints inline once the WAL is large, which bounds it.
//
// Every object is kept whole as JSON (model.cpp) next to the columns that are looked up
// or compared (ids, thumbprint, serial, device id, status).
#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>

#include "server/store/store.h"

namespace attestlab::server {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// A nonce older than every max_age a caller has used can never be accepted, so it may be
// purged. Until the first consume_nonce call, this is the assumed max_age.
constexpr std::int64_t kDefaultNonceRetentionSeconds = 24 * 3600;
constexpr int kPutsBetweenNoncePurges = 1000;
// WAL size (pages) that wakes the background checkpointer (SQLite's own default), and the
// size at which a commit stops relying on it and checkpoints inline.
constexpr int kBackgroundCheckpointPages = 1000;
constexpr int kInlineCheckpointPages = 8000;
// A WAL file that grew during a burst is cut back to this size when it restarts.
constexpr const char* kJournalSizeLimitPragma = "PRAGMA journal_size_limit=67108864;";

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
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

struct StatementFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DatabasePtr = std::unique_ptr<sqlite3, DatabaseCloser>;

// One use of a prepared statement: binds parameters in order, steps, reads columns, and
// resets the statement on destruction so it is ready for the next call on every path.
class Query {
 public:
  explicit Query(sqlite3_stmt* s) : s_(s) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& text(std::string_view v) {
    // A null pointer would bind SQL NULL, not the empty string.
    const char* data = v.empty() ? "" : v.data();
    return note(sqlite3_bind_text64(s_, ++index_, data, v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  // Empty strings are stored as NULL (columns where "absent" must not match anything).
  Query& text_or_null(std::string_view v) {
    if (v.empty()) return note(sqlite3_bind_null(s_, ++index_));
    return text(v);
  }
  Query& int64(std::int64_t v) { return note(sqlite3_bind_int64(s_, ++index_, v)); }

  // SQLITE_ROW, SQLITE_DONE or an (extended) error code.
  int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(s_); }

  std::string column_text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::int64_t column_int64(int col) const { return sqlite3_column_int64(s_, col); }

 private:
  Query& note(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }
  sqlite3_stmt* s_;
  int index_ = 0;
  int bind_rc_ = SQLITE_OK;
};

bool is_uniqueness_violation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

std::string dump(const Json& j) {
  // replace: invalid UTF-8 in a string must not throw out of the store.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

class SqliteStore final : public Store {
 public:
  SqliteStore() = default;
  ~SqliteStore() override { stop_checkpointer(); }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<void> open(const std::string& path);

  Result<void> put_nonce(const std::string& nonce, std::int64_t now) override;
  Result<bool> consume_nonce(const std::string& nonce, std::int64_t now,
                             std::int64_t max_age_seconds) override;

  Result<void> create_account(const Account& a) override;
  Result<std::optional<Account>> account_by_id(const std::string& id) override;
  Result<std::optional<Account>> account_by_thumbprint(const std::string& tp) override;
  Result<void> update_account(const Account& a) override;
  Result<bool> eab_kid_used(const std::string& kid) override;

  Result<void> create_order(const Order& o, const std::vector<Authorization>& authzs) override;
  Result<std::optional<Order>> order_by_id(const std::string& id) override;
  Result<std::vector<std::string>> order_ids_by_account(const std::string& account_id) override;
  Result<void> update_order(const Order& o, const std::string& expected_status) override;

  Result<std::optional<Authorization>> authz_by_id(const std::string& id) override;
  Result<std::optional<Authorization>> authz_by_challenge(const std::string& challenge_id) override;
  Result<void> update_authz(const Authorization& a, const std::string& expected_status) override;

  Result<void> put_certificate(const CertificateRecord& c) override;
  Result<std::optional<CertificateRecord>> certificate_by_id(const std::string& id) override;
  Result<std::optional<CertificateRecord>> certificate_by_serial(
      const std::string& serial_hex) override;
  Result<std::vector<CertificateRecord>> certificates_by_device(
      const std::string& device_id) override;
  Result<void> update_certificate(const CertificateRecord& c) override;

  Result<std::optional<std::string>> get_setting(const std::string& key) override;
  Result<void> set_setting(const std::string& key, const std::string& value) override;

  int schema_version() override;

 private:
  // A write transaction that rolls back unless committed.
  class Transaction {
   public:
    explicit Transaction(SqliteStore& store) : store_(store) {}
    ~Transaction() {
      if (open_) Query(store_.rollback_.get()).step();
    }
    Result<void> begin() {
      ATTESTLAB_TRY(store_.run(store_.begin_.get()));
      open_ = true;
      return ok();
    }
    Result<void> commit() {
      ATTESTLAB_TRY(store_.run(store_.commit_.get()));
      open_ = false;
      return ok();
    }

   private:
    SqliteStore& store_;
    bool open_ = false;
  };

  Error sqlite_error() const {
    return Error::make("serverInternal", std::string("sqlite: ") + sqlite3_errmsg(db_.get()));
  }
  Error step_error(int rc, const char* what_conflicts) const {
    if (is_uniqueness_violation(rc)) return Error::make("conflict", what_conflicts);
    return sqlite_error();
  }
  // Runs a statement without parameters that returns no rows.
  Result<void> run(sqlite3_stmt* s) {
    Query q(s);
    int rc = q.step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sqlite_error();
    return ok();
  }
  Result<void> exec_script(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return sqlite_error();
    }
    return ok();
  }
  Result<StatementPtr> prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
        SQLITE_OK) {
      return sqlite_error();
    }
    return StatementPtr(s);
  }
  Result<int> read_user_version();
  Result<void> migrate();
  Result<void> prepare_statements();

  // Steps a single-row SELECT of one JSON column keyed by one text parameter.
  Result<std::optional<Json>> fetch_json(sqlite3_stmt* s, const std::string& key);
  // 0 rows changed by a compare-and-set update: "conflict" if the row exists, else absent.
  Error missed_update(sqlite3_stmt* exists, const std::string& id, const std::string& expected,
                      const char* kind);
  Result<void> insert_challenges(const Authorization& a);
  // Names the uniqueness rule the last failed account/certificate write broke.
  Error account_conflict() const;
  Error certificate_conflict() const;

  void start_checkpointer(const std::string& path);
  void stop_checkpointer();
  void checkpoint_loop();
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages);

  DatabasePtr db_;  // declared first: destroyed after the statements below
  std::mutex mu_;
  // Purge horizon for nonces: the largest max_age consume_nonce has been called with.
  // All under mu_.
  std::int64_t nonce_retention_seconds_ = kDefaultNonceRetentionSeconds;
  bool nonce_max_age_seen_ = false;
  int puts_since_nonce_purge_ = 0;

  StatementPtr begin_, commit_, rollback_, user_version_;
  StatementPtr nonce_insert_, nonce_consume_, nonce_purge_;
  StatementPtr account_insert_, account_by_id_, account_by_thumbprint_, account_update_,
      eab_kid_used_;
  StatementPtr order_insert_, order_by_id_, order_ids_by_account_, order_update_, order_exists_;
  StatementPtr authz_insert_, authz_by_id_, authz_by_challenge_, authz_update_, authz_exists_,
      challenge_insert_, challenges_delete_;
  StatementPtr certificate_insert_, certificate_by_id_, certificate_by_serial_,
      certificates_by_device_, certificate_update_;
  StatementPtr setting_get_, setting_set_;

  // Background checkpointer. Lock order: mu_, then ckpt_run_mu_ or ckpt_mu_; the
  // checkpointer thread never takes mu_.
  DatabasePtr ckpt_db_;
  std::thread ckpt_thread_;
  std::mutex ckpt_run_mu_;  // held while a checkpoint of this store runs
  std::mutex ckpt_mu_;      // guards the two flags below
  std::condition_variable ckpt_cv_;
  bool ckpt_requested_ = false;
  bool ckpt_stop_ = false;
};

// now - age without overflow; negative ages count as 0.
std::int64_t cutoff(std::int64_t now, std::int64_t age) {
  if (age < 0) age = 0;
  if (now < std::numeric_limits<std::int64_t>::min() + age) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return now - age;
}

Result<Json> parse_stored(const std::string& text) {
  try {
    Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) return j;
  } catch (...) {
  }
  return Error::make("serverInternal", "store: a stored object is not readable JSON");
}

template <class T>
Result<std::optional<T>> decode(Result<std::optional<Json>> row, T (*from_json)(const Json&)) {
  if (!row) return row.error();
  if (!*row) return std::optional<T>();
  return std::optional<T>(from_json(**row));
}

Result<void> SqliteStore::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);
  if (!db_) return Error::make("serverInternal", "sqlite: out of memory opening " + path);
  if (rc != SQLITE_OK) {
    return Error::make("serverInternal",
                       "sqlite: " + std::string(sqlite3_errmsg(db_.get())) + " (" + path + ")");
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);

  std::string journal_mode;
  {
    // journal_mode answers with the mode in effect; anything but WAL would silently weaken
    // the durability and concurrency promises (":memory:" databases cannot have a WAL).
    auto stmt = prepare("PRAGMA journal_mode=WAL");
    if (!stmt) return stmt.error();
    Query q(stmt->get());
    if (q.step() != SQLITE_ROW) return sqlite_error();
    journal_mode = q.column_text(0);
    if (journal_mode != "wal" && !(path == ":memory:" && journal_mode == "memory")) {
      return Error::make("serverInternal", "sqlite: cannot use WAL journal mode for " + path +
                                               " (got " + journal_mode + ")");
    }
  }
  ATTESTLAB_TRY(exec_script("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  ATTESTLAB_TRY(exec_script(kJournalSizeLimitPragma));

  const std::pair<StatementPtr*, const char*> control[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&user_version_, "PRAGMA user_version"},
  };
  for (const auto& [slot, sql] : control) {
    auto s = prepare(sql);
    if (!s) return s.error();
    *slot = std::move(*s);
  }
  ATTESTLAB_TRY(migrate());
  ATTESTLAB_TRY(prepare_statements());
  if (journal_mode == "wal") start_checkpointer(path);
  return ok();
}

void SqliteStore::start_checkpointer(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  ckpt_db_.reset(raw);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(ckpt_db_.get(), kBusyTimeoutMs);
    // A connection only sees the WAL once it has read the database; until then its
    // checkpoints silently do nothing.
    rc = sqlite3_exec(ckpt_db_.get(), "SELECT count(*) FROM sqlite_schema", nullptr, nullptr,
                      nullptr);
  }
  if (rc != SQLITE_OK) {
    // Still correct without the helper: SQLite then checkpoints inline on commit.
    ckpt_db_.reset();
    return;
  }
  try {
    ckpt_thread_ = std::thread([this] { checkpoint_loop(); });
  } catch (const std::system_error&) {
    ckpt_db_.reset();
    return;
  }
  sqlite3_wal_hook(db_.get(), &SqliteStore::on_wal_commit, this);  // replaces autocheckpoint
}

void SqliteStore::stop_checkpointer() {
  if (!ckpt_thread_.joinable()) return;
  {
    std::lock_guard lock(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_one();
  ckpt_thread_.join();
  ckpt_db_.reset();
}

void SqliteStore::checkpoint_loop() {
  std::unique_lock lock(ckpt_mu_);
  for (;;) {
    ckpt_cv_.wait(lock, [this] { return ckpt_requested_ || ckpt_stop_; });
    if (ckpt_stop_) return;
    ckpt_requested_ = false;
    lock.unlock();
    // PASSIVE neither waits for nor blocks writers; frames it cannot reach now are picked
    // up by the next run. A failure (e.g. I/O) leaves the data safe in the WAL.
    {
      std::lock_guard run(ckpt_run_mu_);
      sqlite3_wal_checkpoint_v2(ckpt_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr);
    }
    lock.lock();
  }
}

// Runs inside every commit on the main connection, with mu_ held.
int SqliteStore::on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* store = static_cast<SqliteStore*>(self);
  if (wal_pages >= kInlineCheckpointPages) {
    // The background checkpointer cannot catch up while writes keep coming. Wait for its
    // current run, then checkpoint here: no writer of this process can run meanwhile, so
    // this one reaches the end of the WAL and the next write restarts it.
    std::lock_guard run(store->ckpt_run_mu_);
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (wal_pages >= kBackgroundCheckpointPages) {
    {
      std::lock_guard lock(store->ckpt_mu_);
      store->ckpt_requested_ = true;
    }
    store->ckpt_cv_.notify_one();
  }
  return SQLITE_OK;
}

Result<int> SqliteStore::read_user_version() {
  Query q(user_version_.get());
  if (q.step() != SQLITE_ROW) return sqlite_error();
  return static_cast<int>(q.column_int64(0));
}

Result<void> SqliteStore::migrate() {
  auto too_new = [](int found) {
    return Error::make("serverInternal", "store schema version " + std::to_string(found) +
                                             " is newer than this build supports (" +
                                             std::to_string(kSchemaVersion) +
                                             "); upgrade attestlab");
  };
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
      {&eab_kid_used_, "SELECT 1 FROM accounts WHERE eab_kid = ?"},

      {&order_insert_, "INSERT INTO orders(id, account_id, status, json) VALUES(?, ?, ?, ?)"},
      {&order_by_id_, "SELECT json FROM orders WHERE id = ?"},
      {&order_ids_by_account_, "SELECT id FROM orders WHERE account_id = ? ORDER BY rowid"},
      {&order_update_,
       "UPDATE orders SET status = ?1, json = ?2 WHERE id = ?3 AND (?4 = '' OR status = ?4)"},
      {&order_exists_, "SELECT 1 FROM orders WHERE id = ?"},

      {&authz_insert_,
       "INSERT INTO authzs(id, order_id, account_id, status, json) VALUES(?, ?, ?, ?, ?)"},
      {&authz_by_id_, "SELECT json FROM authzs WHERE id = ?"},
      {&authz_by_challenge_,
       "SELECT a.json FROM challenges c JOIN authzs a ON a.id = c.authz_id WHERE c.id = ?"},
      {&authz_update_,
       "UPDATE authzs SET status = ?1, json = ?2 WHERE id = ?3 AND (?4 = '' OR status = ?4)"},
      {&authz_exists_, "SELECT 1 FROM authzs WHERE id = ?"},
      {&challenge_insert_, "INSERT INTO challenges(id, authz_id) VALUES(?, ?)"},
      {&challenges_delete_, "DELETE FROM challenges WHERE authz_id = ?"},

      {&certificate_insert_,
       "INSERT INTO certificates(id, serial, device_id, account_id, order_id, status, json) "
       "VALUES(?, ?, ?, ?, ?, ?, ?)"},
      {&certificate_by_id_, "SELECT json FROM certificates WHERE id = ?"},
      {&certificate_by_serial_, "SELECT json FROM certificates WHERE serial = ?"},
      {&certificates_by_device_,
       "SELECT json FROM certificates WHERE device_id = ? ORDER BY rowid"},
      {&certificate_update_,
       "UPDATE certificates SET serial = ?, device_id = ?, account_id = ?, order_id = ?, "
       "status = ?, json = ? WHERE id = ?"},

      {&setting_get_, "SELECT value FROM settings WHERE key = ?"},
      {&setting_set_,
       "INSERT INTO settings(key, value) VALUES(?, ?) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
  };
  for (const auto& [slot, sql] : statements) {
    auto s = prepare(sql);
    if (!s) return s.error();
    *slot = std::move(*s);
  }
  return ok();
}

Result<std::optional<Json>> SqliteStore::fetch_json(sqlite3_stmt* s, const std::string& key) {
  Query q(s);
  int rc = q.text(key).step();
  if (rc == SQLITE_DONE) return std::optional<Json>();
  if (rc != SQLITE_ROW) return sqlite_error();
  auto j = parse_stored(q.column_text(0));
  if (!j) return j.error();
  return std::optional<Json>(std::move(*j));
}

Error SqliteStore::missed_update(sqlite3_stmt* exists, const std::string& id,
                                 const std::string& expected, const char* kind) {
  Query q(exists);
  int rc = q.text(id).step();
  if (rc == SQLITE_ROW) {
    return Error::make("conflict", std::string(kind) + " " + id + " is no longer " + expected);
  }
  if (rc == SQLITE_DONE) {
    return Error::make("serverInternal", std::string("store: no ") + kind + " " + id);
  }
  return sqlite_error();
}

// --- nonces -------------------------------------------------------------------------------

Result<void> SqliteStore::put_nonce(const std::string& nonce, std::int64_t now) {
  std::lock_guard lock(mu_);
  {
    Query q(nonce_insert_.get());
    int rc = q.text(nonce).int64(now).step();
    if (rc != SQLITE_DONE) return step_error(rc, "nonce already issued");
  }
  if (++puts_since_nonce_purge_ >= kPutsBetweenNoncePurges) {
    puts_since_nonce_purge_ = 0;
    // Housekeeping only: the nonce above is stored either way, and a failed purge is
    // simply retried after the next batch of puts.
    Query q(nonce_purge_.get());
    (void)q.int64(cutoff(now, nonce_retention_seconds_)).step();
  }
  return ok();
}

Result<bool> SqliteStore::consume_nonce(const std::string& nonce, std::int64_t now,
                                        std::int64_t max_age_seconds) {
  std::lock_guard lock(mu_);
  if (!nonce_max_age_seen_ || max_age_seconds > nonce_retention_seconds_) {
    nonce_retention_seconds_ = max_age_seconds < 0 ? 0 : max_age_seconds;
    nonce_max_age_seen_ = true;
  }
  Query q(nonce_consume_.get());
  int rc = q.text(nonce).int64(cutoff(now, max_age_seconds)).step();
  if (rc != SQLITE_DONE) return sqlite_error();
  return sqlite3_changes(db_.get()) == 1;
}

// --- accounts -----------------------------------------------------------------------------

Error SqliteStore::account_conflict() const {
  std::string_view msg = sqlite3_errmsg(db_.get());
  if (msg.find("accounts.thumbprint") != std::string_view::npos) {
    return Error::make("conflict", "an account with this key already exists");
  }
  if (msg.find("accounts.eab_kid") != std::string_view::npos) {
    return Error::make("conflict", "the external account binding key is already bound");
  }
  return Error::make("conflict", "account id already exists");
}

Result<void> SqliteStore::create_account(const Account& a) {
  const std::string json = dump(to_json(a));
  std::lock_guard lock(mu_);
  Query q(account_insert_.get());
  int rc = q.text(a.id).text(a.thumbprint).text_or_null(a.eab_kid).text(json).step();
  if (rc == SQLITE_DONE) return ok();
  return is_uniqueness_violation(rc) ? account_conflict() : sqlite_error();
}

Result<std::optional<Account>> SqliteStore::account_by_id(const std::string& id) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(account_by_id_.get(), id), &account_from_json);
}

Result<std::optional<Account>> SqliteStore::account_by_thumbprint(const std::string& tp) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(account_by_thumbprint_.get(), tp), &account_from_json);
}

Result<void> SqliteStore::update_account(const Account& a) {
  const std::string json = dump(to_json(a));
  std::lock_guard lock(mu_);
  Query q(account_update_.get());
  int rc = q.text(a.thumbprint).text_or_null(a.eab_kid).text(json).text(a.id).step();
  if (rc != SQLITE_DONE) return is_uniqueness_violation(rc) ? account_conflict() : sqlite_error();
  if (sqlite3_changes(db_.get()) == 0) {
    return Error::make("serverInternal", "store: no account " + a.id);
  }
  return ok();
}

Result<bool> SqliteStore::eab_kid_used(const std::string& kid) {
  std::lock_guard lock(mu_);
  Query q(eab_kid_used_.get());
  int rc = q.text(kid).step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error();
}

// --- orders and authorizations ------------------------------------------------------------

Result<void> SqliteStore::insert_challenges(const Authorization& a) {
  for (const auto& c : a.challenges) {
    Query q(challenge_insert_.get());
    int rc = q.text(c.id).text(a.id).step();
    if (rc != SQLITE_DONE) return step_error(rc, "challenge id already exists");
  }
  return ok();
}

Result<void> SqliteStore::create_order(const Order& o, const std::vector<Authorization>& authzs) {
  const std::string order_json = dump(to_json(o));
  std::vector<std::string> authz_json;
  authz_json.reserve(authzs.size());
  for (const auto& a : authzs) authz_json.push_back(dump(to_json(a)));

  std::lock_guard lock(mu_);
  Transaction tx(*this);
  ATTESTLAB_TRY(tx.begin());
  {
    Query q(order_insert_.get());
    int rc = q.text(o.id).text(o.account_id).text(o.status).text(order_json).step();
    if (rc != SQLITE_DONE) return step_error(rc, "order id already exists");
  }
  for (std::size_t i = 0; i < authzs.size(); ++i) {
    const Authorization& a = authzs[i];
    Query q(authz_insert_.get());
    int rc = q.text(a.id).text(o.id).text(a.account_id).text(a.status).text(authz_json[i]).step();
    if (rc != SQLITE_DONE) return step_error(rc, "authorization id already exists");
    ATTESTLAB_TRY(insert_challenges(a));
  }
  return tx.commit();
}

Result<std::optional<Order>> SqliteStore::order_by_id(const std::string& id) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(order_by_id_.get(), id), &order_from_json);
}

Result<std::vector<std::string>> SqliteStore::order_ids_by_account(const std::string& account_id) {
  std::lock_guard lock(mu_);
  Query q(order_ids_by_account_.get());
  q.text(account_id);
  std::vector<std::string> ids;
  for (;;) {
    int rc = q.step();
    if (rc == SQLITE_DONE) return ids;
    if (rc != SQLITE_ROW) return sqlite_error();
    ids.push_back(q.column_text(0));
  }
}

Result<void> SqliteStore::update_order(const Order& o, const std::string& expected_status) {
  const std::string json = dump(to_json(o));
  std::lock_guard lock(mu_);
  Query q(order_update_.get());
  int rc = q.text(o.status).text(json).text(o.id).text(expected_status).step();
  if (rc != SQLITE_DONE) return sqlite_error();
  if (sqlite3_changes(db_.get()) == 0) {
    return missed_update(order_exists_.get(), o.id, expected_status, "order");
  }
  return ok();
}

Result<std::optional<Authorization>> SqliteStore::authz_by_id(const std::string& id) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(authz_by_id_.get(), id), &authorization_from_json);
}

Result<std::optional<Authorization>> SqliteStore::authz_by_challenge(
    const std::string& challenge_id) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(authz_by_challenge_.get(), challenge_id), &authorization_from_json);
}

Result<void> SqliteStore::update_authz(const Authorization& a, const std::string& expected_status) {
  const std::string json = dump(to_json(a));
  std::lock_guard lock(mu_);
  Transaction tx(*this);
  ATTESTLAB_TRY(tx.begin());
  {
    Query q(authz_update_.get());
    int rc = q.text(a.status).text(json).text(a.id).text(expected_status).step();
    if (rc != SQLITE_DONE) return sqlite_error();
    if (sqlite3_changes(db_.get()) == 0) {
      return missed_update(authz_exists_.get(), a.id, expected_status, "authorization");
    }
  }
  // The challenge index follows the authorization's current challenge list.
  {
    Query q(challenges_delete_.get());
    if (q.text(a.id).step() != SQLITE_DONE) return sqlite_error();
  }
  ATTESTLAB_TRY(insert_challenges(a));
  return tx.commit();
}

// --- certificates -------------------------------------------------------------------------

Error SqliteStore::certificate_conflict() const {
  std::string_view msg = sqlite3_errmsg(db_.get());
  if (msg.find("certificates.serial") != std::string_view::npos) {
    return Error::make("conflict", "a certificate with this serial already exists");
  }
  return Error::make("conflict", "certificate id already exists");
}

Result<void> SqliteStore::put_certificate(const CertificateRecord& c) {
  const std::string json = dump(to_json(c));
  std::lock_guard lock(mu_);
  Query q(certificate_insert_.get());
  int rc = q.text(c.id)
               .text(c.serial_hex)
               .text_or_null(c.device_id)
               .text(c.account_id)
               .text_or_null(c.order_id)
               .text(c.status)
               .text(json)
               .step();
  if (rc == SQLITE_DONE) return ok();
  return is_uniqueness_violation(rc) ? certificate_conflict() : sqlite_error();
}

Result<std::optional<CertificateRecord>> SqliteStore::certificate_by_id(const std::string& id) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(certificate_by_id_.get(), id), &certificate_from_json);
}

Result<std::optional<CertificateRecord>> SqliteStore::certificate_by_serial(
    const std::string& serial_hex) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(certificate_by_serial_.get(), serial_hex), &certificate_from_json);
}

Result<std::vector<CertificateRecord>> SqliteStore::certificates_by_device(
    const std::string& device_id) {
  std::lock_guard lock(mu_);
  Query q(certificates_by_device_.get());
  q.text(device_id);
  std::vector<CertificateRecord> out;
  for (;;) {
    int rc = q.step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return sqlite_error();
    auto j = parse_stored(q.column_text(0));
    if (!j) return j.error();
    out.push_back(certificate_from_json(*j));
  }
}

Result<void> SqliteStore::update_certificate(const CertificateRecord& c) {
  const std::string json = dump(to_json(c));
  std::lock_guard lock(mu_);
  Query q(certificate_update_.get());
  int rc = q.text(c.serial_hex)
               .text_or_null(c.device_id)
               .text(c.account_id)
               .text_or_null(c.order_id)
               .text(c.status)
               .text(json)
               .text(c.id)
               .step();
  if (rc != SQLITE_DONE) {
    return is_uniqueness_violation(rc) ? certificate_conflict() : sqlite_error();
  }
  if (sqlite3_changes(db_.get()) == 0) {
    return Error::make("serverInternal", "store: no certificate " + c.id);
  }
  return ok();
}

// --- settings -----------------------------------------------------------------------------

Result<std::optional<std::string>> SqliteStore::get_setting(const std::string& key) {
  std::lock_guard lock(mu_);
  Query q(setting_get_.get());
  int rc = q.text(key).step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return sqlite_error();
  return std::optional<std::string>(q.column_text(0));
}

Result<void> SqliteStore::set_setting(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  Query q(setting_set_.get());
  if (q.text(key).text(value).step() != SQLITE_DONE) return sqlite_error();
  return ok();
}

int SqliteStore::schema_version() {
  std::lock_guard lock(mu_);
  auto v = read_user_version();
  return v ? *v : -1;
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  auto store = std::make_unique<SqliteStore>();
  if (auto r = store->open(path); !r) return r.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace attestlab::server
