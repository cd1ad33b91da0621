// SqliteStore: nonces, accounts and settings.
#include <string_view>

#include "server/store/sqlite_internal.h"

namespace attestlab::server::sqlite_internal {

// --- nonces -------------------------------------------------------------------------------

Result<void> SqliteStore::put_nonce(const std::string& nonce, std::int64_t now) {
  std::lock_guard lock(mu_);
  {
    Query q(nonce_insert_.get());
    int rc = q.text(nonce).int64(now).step();
    if (rc != SQLITE_DONE) return step_error(rc, "nonce already issued");
  }
  if (auto purge_before = nonce_purge_policy_.after_put(now)) {
    // Housekeeping only: the nonce above is stored either way, and a failed purge is
    // simply retried after the next batch of puts.
    Query q(nonce_purge_.get());
    (void)q.int64(*purge_before).step();
  }
  return ok();
}

Result<bool> SqliteStore::consume_nonce(const std::string& nonce, std::int64_t now,
                                        std::int64_t max_age_seconds) {
  std::lock_guard lock(mu_);
  nonce_purge_policy_.saw_max_age(max_age_seconds);
  Query q(nonce_consume_.get());
  int rc = q.text(nonce).int64(NoncePurgePolicy::cutoff(now, max_age_seconds)).step();
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
  const std::string json = stored_text(a);
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
  const std::string json = stored_text(a);
  std::lock_guard lock(mu_);
  Query q(account_update_.get());
  int rc = q.text(a.thumbprint).text_or_null(a.eab_kid).text(json).text(a.id).step();
  if (rc != SQLITE_DONE) return is_uniqueness_violation(rc) ? account_conflict() : sqlite_error();
  if (sqlite3_changes(db_.get()) == 0) {
    return Error::make("serverInternal", "store: no account " + a.id);
  }
  return ok();
}

// The row's json is what to_json wrote, so comparing it compares every member at once.
Result<void> SqliteStore::update_account_if(const Account& updated, const Account& expected) {
  const std::string json = stored_text(updated);
  const std::string old_json = stored_text(expected);
  std::lock_guard lock(mu_);
  Query q(account_update_if_.get());
  int rc = q.text(updated.thumbprint)
               .text_or_null(updated.eab_kid)
               .text(json)
               .text(updated.id)
               .text(old_json)
               .step();
  if (rc != SQLITE_DONE) return is_uniqueness_violation(rc) ? account_conflict() : sqlite_error();
  if (sqlite3_changes(db_.get()) == 0) {
    return Error::make("changed", "store: account " + updated.id + " changed or is missing");
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

Result<bool> SqliteStore::add_setting(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  Query q(setting_add_.get());
  if (q.text(key).text(value).step() != SQLITE_DONE) return sqlite_error();
  return sqlite3_changes(db_.get()) == 1;
}

}  // namespace attestlab::server::sqlite_internal
