// PgStore: orders, authorizations and the challenge index.
#include "server/store/pg_internal.h"

namespace attestlab::server::pg_internal {

void PgStore::insert_challenges(pqxx::transaction_base& t, const Authorization& a) {
  for (const auto& c : a.challenges) t.exec_prepared0("challenge_insert", c.id, a.id);
}

Result<void> PgStore::create_order(const Order& o, const std::vector<Authorization>& authzs) {
  return insert_order(o, authzs, nullptr, "");
}

Result<void> PgStore::create_replacing_order(const Order& o,
                                             const std::vector<Authorization>& authzs,
                                             const std::string& certificate_id,
                                             const std::string& expected_replaced_by) {
  return insert_order(o, authzs, &certificate_id, expected_replaced_by);
}

Result<void> PgStore::insert_order(const Order& o, const std::vector<Authorization>& authzs,
                                   const std::string* replaced_certificate_id,
                                   const std::string& expected_replaced_by) {
  const std::string order_json = stored_text(o);
  std::vector<std::string> authz_json;
  authz_json.reserve(authzs.size());
  for (const auto& a : authzs) authz_json.push_back(stored_text(a));

  auto inserted = many([&](pqxx::transaction_base& t) -> Result<void> {
    t.exec_prepared0("order_insert", o.id, o.account_id, o.status, order_json);
    for (std::size_t i = 0; i < authzs.size(); ++i) {
      const Authorization& a = authzs[i];
      t.exec_prepared0("authz_insert", a.id, o.id, a.account_id, a.status, authz_json[i]);
      insert_challenges(t, a);
    }
    // Last, so that the certificate's row is locked only for the commit: a racing claim
    // waits for it, re-reads replaced_by and changes nothing.
    if (replaced_certificate_id != nullptr &&
        t.exec_prepared("certificate_set_replaced_by", o.id, *replaced_certificate_id,
                        expected_replaced_by)
                .affected_rows() == 0) {
      return Error::make("changed", "store: certificate " + *replaced_certificate_id +
                                        " was claimed by another order");
    }
    return ok();
  });
  if (!inserted) return inserted;
  std::lock_guard lock(memo_mu_);
  parsed_orders_.remember_written(o.id, order_json, o);
  for (std::size_t i = 0; i < authzs.size(); ++i)
    parsed_authzs_.remember_written(authzs[i].id, authz_json[i], authzs[i]);
  return ok();
}

Result<std::optional<Order>> PgStore::order_by_id(const std::string& id) {
  return fetch_remembered("order_by_id", id, parsed_orders_, &order_from_json);
}

Result<std::vector<std::string>> PgStore::order_ids_by_account(const std::string& account_id) {
  return one([&](pqxx::transaction_base& t) -> Result<std::vector<std::string>> {
    std::vector<std::string> ids;
    for (const auto& row : t.exec_prepared("order_ids_by_account", account_id)) {
      ids.push_back(row[0].as<std::string>());
    }
    return ids;
  });
}

Result<std::vector<std::string>> PgStore::processing_order_ids() {
  return one([&](pqxx::transaction_base& t) -> Result<std::vector<std::string>> {
    std::vector<std::string> ids;
    for (const auto& row : t.exec_prepared("processing_order_ids")) {
      ids.push_back(row[0].as<std::string>());
    }
    return ids;
  });
}

Result<void> PgStore::update_order_in(pqxx::transaction_base& t, const Order& o,
                                      const std::string& json, const std::string& expected_status) {
  auto r = t.exec_prepared("order_update", o.status, json, o.id, expected_status);
  if (r.affected_rows() == 0) {
    return missed_update(t, "order_exists", o.id, expected_status, "order");
  }
  return ok();
}

Result<void> PgStore::update_order(const Order& o, const std::string& expected_status) {
  const std::string json = stored_text(o);
  return remember_written(parsed_orders_, o, json,
                          one([&](pqxx::transaction_base& t) -> Result<void> {
                            return update_order_in(t, o, json, expected_status);
                          }));
}

Result<std::optional<Authorization>> PgStore::authz_by_id(const std::string& id) {
  return fetch_remembered("authz_by_id", id, parsed_authzs_, &authorization_from_json);
}

Result<std::int64_t> PgStore::count_authzs(const std::string& account_id,
                                           const std::string& status) {
  return one([&](pqxx::transaction_base& t) -> Result<std::int64_t> {
    return t.exec_prepared1("authz_count", account_id, status)[0].as<std::int64_t>();
  });
}

Result<std::optional<Authorization>> PgStore::authz_by_challenge(const std::string& challenge_id) {
  return fetch_remembered("authz_by_challenge", challenge_id, parsed_authzs_,
                          &authorization_from_json);
}

Result<void> PgStore::update_authz(const Authorization& a, const std::string& expected_status) {
  const std::string json = stored_text(a);
  return remember_written(
      parsed_authzs_, a, json, many([&](pqxx::transaction_base& t) -> Result<void> {
        auto r = t.exec_prepared("authz_update", a.status, json, a.id, expected_status);
        if (r.affected_rows() == 0) {
          return missed_update(t, "authz_exists", a.id, expected_status, "authorization");
        }
        reindex_challenges(t, a);
        return ok();
      }));
}

// Compare-and-set on the whole stored row: only a writer that saw the current row wins. The
// text compared is the one this store last read or wrote for the row when that holds
// `expected` (the writer's read), else `expected` written as to_json writes it.
Result<void> PgStore::update_authz_if(const Authorization& updated, const Authorization& expected) {
  const std::string json = stored_text(updated);
  const std::string old_json = [&] {
    std::lock_guard lock(memo_mu_);
    return parsed_authzs_.text_to_compare(expected.id, expected);
  }();
  return remember_written(
      parsed_authzs_, updated, json, many([&](pqxx::transaction_base& t) -> Result<void> {
        auto r = t.exec_prepared("authz_update_if", updated.status, json, updated.id, old_json);
        if (r.affected_rows() == 0) {
          return Error::make("changed",
                             "store: authorization " + updated.id + " changed or is missing");
        }
        reindex_challenges(t, updated);
        return ok();
      }));
}

// Rewritten only when the challenge list changed (challenge ids are normally fixed at
// creation).
void PgStore::reindex_challenges(pqxx::transaction_base& t, const Authorization& a) {
  std::vector<std::string> indexed;
  for (const auto& row : t.exec_prepared("challenge_ids_of_authz", a.id)) {
    indexed.push_back(row[0].as<std::string>());
  }
  if (indexed != sorted_challenge_ids(a)) {
    t.exec_prepared0("challenges_delete", a.id);
    insert_challenges(t, a);
  }
}

}  // namespace attestlab::server::pg_internal
