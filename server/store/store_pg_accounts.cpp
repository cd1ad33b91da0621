// PgStore: nonces, accounts and settings.
#include "server/store/pg_internal.h"

namespace attestlab::server::pg_internal {

// --- nonces -------------------------------------------------------------------------------

Result<void> PgStore::put_nonce(const std::string& nonce, std::int64_t now) {
  ATTESTLAB_TRY(one([&](pqxx::transaction_base& t) -> Result<void> {
    t.exec_prepared0("nonce_insert", nonce, now);
    return ok();
  }));
  std::optional<std::int64_t> purge_before;
  {
    std::lock_guard lock(nonce_mu_);
    purge_before = nonce_purge_policy_.after_put(now);
  }
  if (!purge_before) return ok();
  // Housekeeping only: the nonce above is stored either way, and a failed purge is simply
  // retried after the next batch of puts.
  (void)one([&](pqxx::transaction_base& t) -> Result<void> {
    t.exec_prepared0("nonce_purge", *purge_before);
    return ok();
  });
  return ok();
}

Result<bool> PgStore::consume_nonce(const std::string& nonce, std::int64_t now,
                                    std::int64_t max_age_seconds) {
  {
    std::lock_guard lock(nonce_mu_);
    nonce_purge_policy_.saw_max_age(max_age_seconds);
  }
  // One DELETE: of racing consumers (in any process) exactly one removes the row.
  return one([&](pqxx::transaction_base& t) -> Result<bool> {
    auto r =
        t.exec_prepared("nonce_consume", nonce, NoncePurgePolicy::cutoff(now, max_age_seconds));
    return r.affected_rows() == 1;
  });
}

// --- accounts -----------------------------------------------------------------------------

Result<void> PgStore::create_account(const Account& a) {
  const std::string json = stored_text(a);
  return one([&](pqxx::transaction_base& t) -> Result<void> {
    t.exec_prepared0("account_insert", a.id, a.thumbprint, or_null(a.eab_kid), json);
    return ok();
  });
}

Result<std::optional<Account>> PgStore::account_by_id(const std::string& id) {
  return decode(fetch_json("account_by_id", id), &account_from_json);
}

Result<std::optional<Account>> PgStore::account_by_thumbprint(const std::string& tp) {
  return decode(fetch_json("account_by_thumbprint", tp), &account_from_json);
}

Result<void> PgStore::update_account(const Account& a) {
  const std::string json = stored_text(a);
  return one([&](pqxx::transaction_base& t) -> Result<void> {
    auto r = t.exec_prepared("account_update", a.thumbprint, or_null(a.eab_kid), json, a.id);
    if (r.affected_rows() == 0) return Error::make("serverInternal", "store: no account " + a.id);
    return ok();
  });
}

// Compare-and-set on the whole stored row: only a writer that saw the current row wins.
Result<void> PgStore::update_account_if(const Account& updated, const Account& expected) {
  const std::string json = stored_text(updated);
  const std::string old_json = stored_text(expected);
  return one([&](pqxx::transaction_base& t) -> Result<void> {
    auto r = t.exec_prepared("account_update_if", updated.thumbprint, or_null(updated.eab_kid),
                             json, updated.id, old_json);
    if (r.affected_rows() == 0) {
      return Error::make("changed", "store: account " + updated.id + " changed or is missing");
    }
    return ok();
  });
}

Result<bool> PgStore::eab_kid_used(const std::string& kid) {
  return one([&](pqxx::transaction_base& t) -> Result<bool> {
    return !t.exec_prepared("eab_kid_used", kid).empty();
  });
}

// --- settings -----------------------------------------------------------------------------

Result<std::optional<std::string>> PgStore::get_setting(const std::string& key) {
  return one([&](pqxx::transaction_base& t) -> Result<std::optional<std::string>> {
    auto rows = t.exec_prepared("setting_get", key);
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows[0][0].as<std::string>());
  });
}

Result<void> PgStore::set_setting(const std::string& key, const std::string& value) {
  return one([&](pqxx::transaction_base& t) -> Result<void> {
    t.exec_prepared0("setting_set", key, value);
    return ok();
  });
}

Result<bool> PgStore::add_setting(const std::string& key, const std::string& value) {
  return one([&](pqxx::transaction_base& t) -> Result<bool> {
    return t.exec_prepared("setting_add", key, value).affected_rows() == 1;
  });
}

}  // namespace attestlab::server::pg_internal
