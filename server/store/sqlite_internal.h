// SqliteStore: the embedded Store on SQLite 3 (C API). Internal to the SQLite store: the
// class and the statement and connection helpers its files share. Everyone else uses
// store.h (open_sqlite_store). The files, by concern: store_sqlite.cpp (connection,
// checkpoints, row helpers), store_sqlite_schema.cpp (migrations, prepared statements),
// store_sqlite_accounts.cpp (nonces, accounts, settings), store_sqlite_orders.cpp (orders,
// authorizations, challenges) and store_sqlite_certificates.cpp.
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
// System calls: both connections open the file through sqlite_wal_vfs.h, which writes each
// WAL frame (header and page) with one pwrite instead of two.
//
// Checkpoints (copying the WAL back into the database file, two fsyncs) run on a background
// thread with its own connection, so requests do not wait for the copy under the mutex;
// only the frames committed while it ran are copied with the mutex held, so that the next
// write starts the WAL over. If writes outpace it, a commit checkpoints inline once the WAL
// is large, which bounds it.
//
// Every object is kept whole as JSON (model.cpp) next to the columns that are looked up
// or compared (ids, thumbprint, serial, device id, status).
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/store/nonce_purge.h"
#include "server/store/store.h"
#include "server/store/stored_json.h"

namespace attestlab::server::sqlite_internal {

// Since the process started, over every SQLite store (tests and benchmarks): background
// checkpoint runs, checkpoints a commit made inline (the WAL past its bound), and commits
// that found the WAL started over.
struct CheckpointStats {
  std::uint64_t background_runs = 0;
  std::uint64_t inline_runs = 0;
  std::uint64_t wal_restarts = 0;
};
CheckpointStats checkpoint_stats();

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

inline bool is_uniqueness_violation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

using stored_json::decode;
using stored_json::dump;
using stored_json::parse_stored;

// Rows of each kind whose parse a store keeps (ParsedRows): a few hundred KiB at most.
constexpr std::size_t kParsedRowsKept = 256;

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
  Result<void> update_account_if(const Account& updated, const Account& expected) override;
  Result<bool> eab_kid_used(const std::string& kid) override;

  Result<void> create_order(const Order& o, const std::vector<Authorization>& authzs) override;
  Result<void> create_replacing_order(const Order& o, const std::vector<Authorization>& authzs,
                                      const std::string& certificate_id,
                                      const std::string& expected_replaced_by) override;
  Result<std::optional<Order>> order_by_id(const std::string& id) override;
  Result<std::vector<std::string>> order_ids_by_account(const std::string& account_id) override;
  Result<std::vector<std::string>> processing_order_ids() override;
  // Ids from a "SELECT id FROM orders WHERE ..." statement; `value`, unless null, is bound
  // to its one parameter.
  Result<std::vector<std::string>> order_ids_where(sqlite3_stmt* statement,
                                                   const std::string* value);
  Result<void> update_order(const Order& o, const std::string& expected_status) override;

  Result<std::optional<Authorization>> authz_by_id(const std::string& id) override;
  Result<std::optional<Authorization>> authz_by_challenge(const std::string& challenge_id) override;
  Result<void> update_authz(const Authorization& a, const std::string& expected_status) override;
  Result<void> update_authz_if(const Authorization& updated,
                               const Authorization& expected) override;
  Result<std::int64_t> count_authzs(const std::string& account_id,
                                    const std::string& status) override;

  Result<void> put_certificate(const CertificateRecord& c) override;
  Result<std::vector<std::string>> put_certificate_superseding(
      const CertificateRecord& issued, const Supersede& supersede, const Order* completes,
      const std::string& completes_from) override;
  // valid_certificates_by_device, mu_ held by the caller.
  Result<std::vector<CertificateRecord>> valid_certificates_by_device_locked(
      const std::string& device_id);
  // The statements behind put_certificate / update_certificate, mu_ held by the caller.
  Result<void> insert_certificate_locked(const CertificateRecord& c, const std::string& json);
  // The statement behind update_order (compare-and-set on the status), mu_ held by the caller.
  Result<void> update_order_locked(const Order& o, const std::string& json,
                                   const std::string& expected_status);
  Result<void> update_certificate_locked(const CertificateRecord& c, const std::string& json);
  Result<std::optional<CertificateRecord>> certificate_by_id(const std::string& id) override;
  Result<std::optional<CertificateRecord>> certificate_by_serial(
      const std::string& serial_hex) override;
  Result<std::vector<CertificateRecord>> valid_certificates_by_device(
      const std::string& device_id) override;
  Result<void> update_certificate(const CertificateRecord& c) override;
  Result<bool> revoke_certificate_if_valid(const std::string& certificate_id, int reason,
                                           std::int64_t revoked_at) override;

  Result<std::optional<std::string>> get_setting(const std::string& key) override;
  Result<void> set_setting(const std::string& key, const std::string& value) override;
  Result<bool> add_setting(const std::string& key, const std::string& value) override;

  int schema_version() override;
  std::optional<std::string> machine_local_path() const override { return local_path_; }

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

  // machine_local_path(): the file's path, "" for ":memory:", nothing for a "file:" URI.
  std::optional<std::string> local_path_;

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

  // Steps a single-row SELECT of one text column keyed by one text parameter.
  Result<std::optional<std::string>> fetch_text(sqlite3_stmt* s, const std::string& key);
  // The same SELECT's text and the key of the row it came from: its second column when it
  // selects two (a lookup by another column: authz_by_challenge), else `lookup`.
  struct KeyedText {
    std::string text, key;
  };
  Result<std::optional<KeyedText>> fetch_keyed_text(sqlite3_stmt* s, const std::string& lookup);
  // The same SELECT of a JSON column, parsed.
  Result<std::optional<Json>> fetch_json(sqlite3_stmt* s, const std::string& key);
  // The same SELECT as a model object, its parse reused from `memo` when the row's text is
  // the one parsed before.
  template <class T>
  Result<std::optional<T>> fetch_model(sqlite3_stmt* s, const std::string& lookup,
                                       stored_json::ParsedRows<T>& memo,
                                       T (*from_json)(const Json&)) {
    auto row = fetch_keyed_text(s, lookup);
    if (!row) return row.error();
    if (!*row) return std::optional<T>();
    const std::string& text = (*row)->text;
    const std::string& key = (*row)->key;
    if (auto known = memo.find(key, text)) return known;
    auto j = stored_json::parse_stored(text);
    if (!j) return j.error();
    T value = from_json(*j);
    memo.remember(key, text, value);
    return std::optional<T>(std::move(value));
  }
  // 0 rows changed by a compare-and-set update: "conflict" if the row exists, else absent.
  Error missed_update(sqlite3_stmt* exists, const std::string& id, const std::string& expected,
                      const char* kind);
  Result<void> insert_challenges(const Authorization& a);
  // create_order (replaced_certificate_id null) and create_replacing_order.
  Result<void> insert_order(const Order& o, const std::vector<Authorization>& authzs,
                            const std::string* replaced_certificate_id,
                            const std::string& expected_replaced_by);
  // update_authz and update_authz_if: `update` is authz_update_ (expected: a status) or
  // authz_update_if_ (expected: the whole stored JSON, the text of `expected_row` as this
  // store read it, or written anew), both bound (status, json, id, expected); the challenge
  // index follows in the same transaction.
  Result<void> write_authz(const Authorization& a, sqlite3_stmt* update, std::string expected,
                           const Authorization* expected_row = nullptr);
  // Names the uniqueness rule the last failed account/certificate write broke.
  Error account_conflict() const;
  Error certificate_conflict() const;

  void start_checkpointer(const std::string& path);
  void stop_checkpointer();
  void checkpoint_loop();
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages);

  DatabasePtr db_;  // declared first: destroyed after the statements below
  std::mutex mu_;
  // Parses of the rows read by id (under mu_): authorizations are polled, orders re-read;
  // a row this store wrote is remembered as written (remember_written).
  stored_json::ParsedRows<Order> parsed_orders_{kParsedRowsKept};
  stored_json::ParsedRows<Authorization> parsed_authzs_{kParsedRowsKept};
  stored_json::ParsedRows<CertificateRecord> parsed_certificates_{kParsedRowsKept};
  NoncePurgePolicy nonce_purge_policy_;  // under mu_

  StatementPtr begin_, commit_, rollback_, user_version_;
  StatementPtr nonce_insert_, nonce_consume_, nonce_purge_;
  StatementPtr account_insert_, account_by_id_, account_by_thumbprint_, account_update_,
      account_update_if_, eab_kid_used_;
  StatementPtr order_insert_, order_by_id_, order_ids_by_account_, order_update_, order_exists_,
      processing_order_ids_;
  StatementPtr authz_insert_, authz_by_id_, authz_by_challenge_, authz_update_, authz_update_if_,
      authz_exists_, authz_count_, challenge_insert_, challenges_delete_, challenge_ids_of_authz_;
  StatementPtr certificate_insert_, certificate_by_id_, certificate_by_serial_,
      valid_certificates_by_device_, certificate_update_, certificate_set_replaced_by_,
      certificate_revoke_if_valid_;
  StatementPtr setting_get_, setting_set_, setting_add_;

  // Background checkpointer. Lock order: mu_, then ckpt_run_mu_ or ckpt_mu_; the
  // checkpointer thread takes mu_ for a run's last few frames, never while it holds
  // ckpt_mu_ or ckpt_run_mu_.
  DatabasePtr ckpt_db_;
  std::thread ckpt_thread_;
  std::mutex ckpt_run_mu_;  // held while a checkpoint of this store runs
  std::mutex ckpt_mu_;      // guards the two flags below
  std::condition_variable ckpt_cv_;
  bool ckpt_requested_ = false;
  bool ckpt_stop_ = false;
  int last_wal_pages_ = 0;  // the WAL's size at the last commit (under mu_)
};

}  // namespace attestlab::server::sqlite_internal
