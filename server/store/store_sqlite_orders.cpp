// SqliteStore: orders, authorizations and the challenge index.
#include "server/store/sqlite_internal.h"

namespace attestlab::server::sqlite_internal {

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
  return insert_order(o, authzs, nullptr, "");
}

Result<void> SqliteStore::create_replacing_order(const Order& o,
                                                 const std::vector<Authorization>& authzs,
                                                 const std::string& certificate_id,
                                                 const std::string& expected_replaced_by) {
  return insert_order(o, authzs, &certificate_id, expected_replaced_by);
}

Result<void> SqliteStore::insert_order(const Order& o, const std::vector<Authorization>& authzs,
                                       const std::string* replaced_certificate_id,
                                       const std::string& expected_replaced_by) {
  const std::string order_json = stored_text(o);
  std::vector<std::string> authz_json;
  authz_json.reserve(authzs.size());
  for (const auto& a : authzs) authz_json.push_back(stored_text(a));

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
  if (replaced_certificate_id != nullptr) {
    Query q(certificate_set_replaced_by_.get());
    if (q.text(o.id).text(*replaced_certificate_id).text(expected_replaced_by).step() !=
        SQLITE_DONE) {
      return sqlite_error();
    }
    if (sqlite3_changes(db_.get()) == 0) {
      return Error::make("changed", "store: certificate " + *replaced_certificate_id +
                                        " was claimed by another order");
    }
  }
  ATTESTLAB_TRY(tx.commit());
  parsed_orders_.remember_written(o.id, order_json, o);
  for (std::size_t i = 0; i < authzs.size(); ++i)
    parsed_authzs_.remember_written(authzs[i].id, authz_json[i], authzs[i]);
  return ok();
}

Result<std::optional<Order>> SqliteStore::order_by_id(const std::string& id) {
  std::lock_guard lock(mu_);
  return fetch_model(order_by_id_.get(), id, parsed_orders_, &order_from_json);
}

Result<std::vector<std::string>> SqliteStore::order_ids_by_account(const std::string& account_id) {
  return order_ids_where(order_ids_by_account_.get(), &account_id);
}

Result<std::vector<std::string>> SqliteStore::processing_order_ids() {
  return order_ids_where(processing_order_ids_.get(), nullptr);
}

Result<std::vector<std::string>> SqliteStore::order_ids_where(sqlite3_stmt* statement,
                                                              const std::string* value) {
  std::lock_guard lock(mu_);
  Query q(statement);
  if (value != nullptr) q.text(*value);
  std::vector<std::string> ids;
  for (;;) {
    int rc = q.step();
    if (rc == SQLITE_DONE) return ids;
    if (rc != SQLITE_ROW) return sqlite_error();
    ids.push_back(q.column_text(0));
  }
}

Result<void> SqliteStore::update_order(const Order& o, const std::string& expected_status) {
  const std::string json = stored_text(o);
  std::lock_guard lock(mu_);
  return update_order_locked(o, json, expected_status);
}

Result<void> SqliteStore::update_order_locked(const Order& o, const std::string& json,
                                              const std::string& expected_status) {
  Query q(order_update_.get());
  int rc = q.text(o.status).text(json).text(o.id).text(expected_status).step();
  if (rc != SQLITE_DONE) return sqlite_error();
  if (sqlite3_changes(db_.get()) == 0) {
    return missed_update(order_exists_.get(), o.id, expected_status, "order");
  }
  parsed_orders_.remember_written(o.id, json, o);
  return ok();
}

Result<std::optional<Authorization>> SqliteStore::authz_by_id(const std::string& id) {
  std::lock_guard lock(mu_);
  return fetch_model(authz_by_id_.get(), id, parsed_authzs_, &authorization_from_json);
}

Result<std::int64_t> SqliteStore::count_authzs(const std::string& account_id,
                                               const std::string& status) {
  std::lock_guard lock(mu_);
  Query q(authz_count_.get());
  if (q.text(account_id).text(status).step() != SQLITE_ROW) return sqlite_error();
  return q.column_int64(0);
}

Result<std::optional<Authorization>> SqliteStore::authz_by_challenge(
    const std::string& challenge_id) {
  std::lock_guard lock(mu_);
  return fetch_model(authz_by_challenge_.get(), challenge_id, parsed_authzs_,
                     &authorization_from_json);
}

Result<void> SqliteStore::update_authz(const Authorization& a, const std::string& expected_status) {
  return write_authz(a, authz_update_.get(), expected_status);
}

// The row's json compared whole compares every member at once. The text compared is the one
// this store last read or wrote for the row when that holds `expected` (the writer's read),
// else `expected` written as to_json writes it.
Result<void> SqliteStore::update_authz_if(const Authorization& updated,
                                          const Authorization& expected) {
  return write_authz(updated, authz_update_if_.get(), "", &expected);
}

Result<void> SqliteStore::write_authz(const Authorization& a, sqlite3_stmt* update,
                                      std::string expected, const Authorization* expected_row) {
  const std::string json = stored_text(a);
  std::lock_guard lock(mu_);
  if (expected_row != nullptr)
    expected = parsed_authzs_.text_to_compare(expected_row->id, *expected_row);
  Transaction tx(*this);
  ATTESTLAB_TRY(tx.begin());
  {
    Query q(update);
    int rc = q.text(a.status).text(json).text(a.id).text(expected).step();
    if (rc != SQLITE_DONE) return sqlite_error();
    if (sqlite3_changes(db_.get()) == 0) {
      if (update == authz_update_if_.get()) {
        return Error::make("changed", "store: authorization " + a.id + " changed or is missing");
      }
      return missed_update(authz_exists_.get(), a.id, expected, "authorization");
    }
  }
  // The challenge index follows the authorization's current challenge list, rewritten
  // only when that list changed (challenge ids are normally fixed at creation, and a
  // read of the index is far cheaper than deleting and inserting its rows).
  std::vector<std::string> indexed;
  {
    Query q(challenge_ids_of_authz_.get());
    q.text(a.id);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) indexed.push_back(q.column_text(0));
    if (rc != SQLITE_DONE) return sqlite_error();
  }
  if (indexed != sorted_challenge_ids(a)) {
    Query q(challenges_delete_.get());
    if (q.text(a.id).step() != SQLITE_DONE) return sqlite_error();
    ATTESTLAB_TRY(insert_challenges(a));
  }
  ATTESTLAB_TRY(tx.commit());
  parsed_authzs_.remember_written(a.id, json, a);
  return ok();
}

}  // namespace attestlab::server::sqlite_internal
