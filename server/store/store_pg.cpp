// PgStore's connections: the pool, opening, and the helpers every part of the store uses.
// See pg_internal.h for the whole design.
#include <string_view>

#include "server/store/pg_internal.h"

namespace attestlab::server::pg_internal {

Result<ConnectionPool::Lease> ConnectionPool::acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !idle_.empty() || open_ < kPoolSize; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(c));
  }
  ++open_;
  lock.unlock();
  // Connecting takes a round trip or more: not under the lock.
  try {
    auto c = std::make_unique<pqxx::connection>(url_);
    for (const auto& [name, sql] : statements_) c->prepare(name, sql);
    return Lease(*this, std::move(c));
  } catch (const std::exception& e) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return Error::make("serverInternal", std::string("postgresql: ") + e.what());
  }
}

void ConnectionPool::give_back(std::unique_ptr<pqxx::connection> c) {
  std::lock_guard lock(mu_);
  if (c->is_open()) {
    idle_.push_back(std::move(c));
  } else {
    --open_;  // broken: a later acquire connects afresh
  }
  cv_.notify_one();
}

Error conflict_error(const pqxx::unique_violation& e) {
  static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
      {"\"nonces_pkey\"", "nonce already issued"},
      {"\"accounts_pkey\"", "account id already exists"},
      {"\"accounts_thumbprint_key\"", "an account with this key already exists"},
      {"\"accounts_eab_kid_key\"", "the external account binding key is already bound"},
      {"\"orders_pkey\"", "order id already exists"},
      {"\"authzs_pkey\"", "authorization id already exists"},
      {"\"challenges_pkey\"", "challenge id already exists"},
      {"\"certificates_pkey\"", "certificate id already exists"},
      {"\"certificates_serial_key\"", "a certificate with this serial already exists"},
      {"\"certificates_order_id_key\"", "the order already has a certificate"},
  };
  std::string_view what = e.what();
  for (const auto& [constraint, message] : kRules) {
    if (what.find(constraint) != std::string_view::npos) {
      return Error::make("conflict", std::string(message));
    }
  }
  return Error::make("conflict", "postgresql: " + std::string(what));
}

Result<void> PgStore::open(const std::string& url) {
  ATTESTLAB_TRY(migrate(url));
  // A connection to prove the URL works and the statements prepare, kept in the pool.
  auto first = pool_.acquire();
  if (!first) return first.error();
  return ok();
}

Result<std::optional<Json>> PgStore::fetch_json(const char* statement, const std::string& key) {
  return one([&](pqxx::transaction_base& t) -> Result<std::optional<Json>> {
    auto rows = t.exec_prepared(statement, key);
    if (rows.empty()) return std::optional<Json>();
    auto j = parse_stored(rows[0][0].as<std::string>());
    if (!j) return j.error();
    return std::optional<Json>(std::move(*j));
  });
}

Error PgStore::missed_update(pqxx::transaction_base& t, const char* exists, const std::string& id,
                             const std::string& expected, const char* kind) {
  if (!t.exec_prepared(exists, id).empty()) {
    return Error::make("conflict", std::string(kind) + " " + id + " is no longer " + expected);
  }
  return Error::make("serverInternal", std::string("store: no ") + kind + " " + id);
}

}  // namespace attestlab::server::pg_internal

namespace attestlab::server {

Result<std::unique_ptr<Store>> open_pg_store(const std::string& url) {
  auto store = std::make_unique<pg_internal::PgStore>();
  if (auto r = store->open(url); !r) return r.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace attestlab::server
