// PgStore: the Store on PostgreSQL (libpqxx), for several `attestlab serve` processes
// sharing one database. Internal to the PostgreSQL store; everyone else uses store.h
// (open_pg_store / open_store). The files, by concern: store_pg.cpp (connection pool,
// error mapping), store_pg_schema.cpp (migrations, prepared statements),
// store_pg_accounts.cpp (nonces, accounts, settings), store_pg_orders.cpp (orders,
// authorizations, challenges) and store_pg_certificates.cpp.
//
// Semantics are SqliteStore's, kept by the database rather than by a process-local mutex,
// since other processes write the same rows:
// - consume_nonce is one DELETE ... WHERE nonce = $1: of two racing deletes (any process)
//   exactly one removes the row, the other sees 0 rows (READ COMMITTED re-checks the row).
// - update_order / update_authz with an expected status are one UPDATE ... WHERE status =
//   expected (update_account_if / update_authz_if: WHERE json = expected): the loser of a
//   race waits for the winner's commit, re-evaluates and changes nothing, so exactly one
//   transition wins across processes.
// - Uniqueness (thumbprint, EAB kid, serial, one certificate per order, ids) is enforced by
//   unique constraints; a violation becomes Error("conflict") naming the rule.
// - Multi-statement writes (create_order, update_authz) run in one transaction.
//
// Concurrency inside a process: a small pool of connections; each call borrows one for
// its duration. A connection that broke is dropped and replaced on a later call.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "server/store/nonce_purge.h"
#include "server/store/store.h"
#include "server/store/stored_json.h"

namespace attestlab::server::pg_internal {

constexpr std::size_t kPoolSize = 8;

// Empty strings are stored as NULL (columns where "absent" must not match anything).
inline std::optional<std::string> or_null(const std::string& v) {
  return v.empty() ? std::nullopt : std::optional<std::string>(v);
}

using stored_json::decode;
using stored_json::dump;
using stored_json::parse_stored;

// Connections to one database, created on demand up to kPoolSize, each with every
// prepared statement of the store.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<pqxx::connection> c)
        : pool_(&pool), conn_(std::move(c)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->give_back(std::move(conn_));
    }
    pqxx::connection& operator*() { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  void configure(std::string url, std::vector<std::pair<std::string, std::string>> statements) {
    url_ = std::move(url);
    statements_ = std::move(statements);
  }
  // A connection (an idle one, or a new one while fewer than kPoolSize exist).
  Result<Lease> acquire();

 private:
  void give_back(std::unique_ptr<pqxx::connection> c);

  std::string url_;
  std::vector<std::pair<std::string, std::string>> statements_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;  // idle + leased
};

// The message of a unique-constraint violation, by constraint name.
Error conflict_error(const pqxx::unique_violation& e);

class PgStore final : public Store {
 public:
  Result<void> open(const std::string& url);

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

 private:
  // Runs fn(txn) on a pooled connection inside a transaction of type Txn
  // (pqxx::nontransaction for one statement, pqxx::work for several), committing when fn
  // succeeds. Every libpqxx exception becomes an Error here: none leaves the store.
  template <class Txn, class F>
  auto run(F&& fn) -> decltype(fn(std::declval<Txn&>())) {
    auto lease = pool_.acquire();
    if (!lease) return lease.error();
    try {
      Txn txn(**lease);
      auto result = fn(txn);
      if (result) txn.commit();
      return result;
    } catch (const pqxx::unique_violation& e) {
      return conflict_error(e);
    } catch (const std::exception& e) {
      return Error::make("serverInternal", std::string("postgresql: ") + e.what());
    }
  }
  template <class F>
  auto one(F&& fn) {
    return run<pqxx::nontransaction>(std::forward<F>(fn));
  }
  template <class F>
  auto many(F&& fn) {
    return run<pqxx::work>(std::forward<F>(fn));
  }

  // A single-row SELECT of one JSON column by a prepared statement and one key.
  Result<std::optional<Json>> fetch_json(const char* statement, const std::string& key);
  // The same SELECT as a model object (the row's id in a second column when the lookup is
  // by another one: authz_by_challenge), its parse reused from `memo` when the row's text is
  // the one parsed or written before. The parse runs outside memo_mu_: concurrent readers
  // are not serialised on it.
  template <class T>
  Result<std::optional<T>> fetch_remembered(const char* statement, const std::string& lookup,
                                            stored_json::ParsedRows<T>& memo,
                                            T (*from_json)(const Json&)) {
    struct Row {
      std::string text, key;
    };
    auto row = one([&](pqxx::transaction_base& t) -> Result<std::optional<Row>> {
      auto rows = t.exec_prepared(statement, lookup);
      if (rows.empty()) return std::optional<Row>();
      const auto& r = rows[0];
      return std::optional<Row>(
          Row{r[0].as<std::string>(), r.size() > 1 ? r[1].as<std::string>() : lookup});
    });
    if (!row) return row.error();
    if (!*row) return std::optional<T>();
    {
      std::lock_guard lock(memo_mu_);
      if (auto known = memo.find((*row)->key, (*row)->text)) return known;
    }
    auto j = stored_json::parse_stored((*row)->text);
    if (!j) return j.error();
    T value = from_json(*j);
    std::lock_guard lock(memo_mu_);
    memo.remember((*row)->key, (*row)->text, value);
    return std::optional<T>(std::move(value));
  }
  // After a write of `value` as `json`: `written`, and `value` remembered in `memo` when the
  // write succeeded (committed).
  template <class T, class R>
  R remember_written(stored_json::ParsedRows<T>& memo, const T& value, const std::string& json,
                     R written) {
    if (written) {
      std::lock_guard lock(memo_mu_);
      memo.remember_written(value.id, json, value);
    }
    return written;
  }
  // 0 rows changed by a compare-and-set update: "conflict" if the row exists, else absent.
  static Error missed_update(pqxx::transaction_base& t, const char* exists, const std::string& id,
                             const std::string& expected, const char* kind);
  static void insert_challenges(pqxx::transaction_base& t, const Authorization& a);
  // create_order (replaced_certificate_id null) and create_replacing_order.
  Result<void> insert_order(const Order& o, const std::vector<Authorization>& authzs,
                            const std::string* replaced_certificate_id,
                            const std::string& expected_replaced_by);
  // The challenge index of `a` made to follow its challenge list, inside the caller's
  // transaction (update_authz, update_authz_if).
  static void reindex_challenges(pqxx::transaction_base& t, const Authorization& a);
  // update_order's compare-and-set on the status, inside the caller's transaction.
  static Result<void> update_order_in(pqxx::transaction_base& t, const Order& o,
                                      const std::string& json, const std::string& expected_status);

  Result<void> migrate(const std::string& url);

  ConnectionPool pool_;
  // Orders, authorizations and certificates this store last read by id or wrote, as the
  // SQLite store keeps them (stored_json::ParsedRows): a read of the same text is a copy,
  // and the text an authorization's compare-and-set compares is the one read.
  static constexpr std::size_t kParsedRowsKept = 256;
  std::mutex memo_mu_;
  stored_json::ParsedRows<Order> parsed_orders_{kParsedRowsKept};                    // memo_mu_
  stored_json::ParsedRows<Authorization> parsed_authzs_{kParsedRowsKept};            // memo_mu_
  stored_json::ParsedRows<CertificateRecord> parsed_certificates_{kParsedRowsKept};  // memo_mu_
  std::mutex nonce_mu_;
  NoncePurgePolicy nonce_purge_policy_;  // under nonce_mu_
};

}  // namespace attestlab::server::pg_internal
