// SqliteStore: issued certificates.
#include <string_view>

#include "server/store/sqlite_internal.h"

namespace attestlab::server::sqlite_internal {

// --- certificates -------------------------------------------------------------------------

namespace {

// A certificate row's columns after its id, in the order the insert and the update list them.
Query& bind_columns(Query& q, const CertificateRecord& c, const std::string& json) {
  return q.text(c.serial_hex)
      .text_or_null(c.device_id)
      .text(c.account_id)
      .text_or_null(c.order_id)
      .text(c.status)
      .text(json);
}

}  // namespace

Error SqliteStore::certificate_conflict() const {
  std::string_view msg = sqlite3_errmsg(db_.get());
  if (msg.find("certificates.serial") != std::string_view::npos) {
    return Error::make("conflict", "a certificate with this serial already exists");
  }
  if (msg.find("certificates.order_id") != std::string_view::npos) {
    return Error::make("conflict", "the order already has a certificate");
  }
  return Error::make("conflict", "certificate id already exists");
}

Result<void> SqliteStore::put_certificate(const CertificateRecord& c) {
  const std::string json = stored_text(c);
  std::lock_guard lock(mu_);
  return insert_certificate_locked(c, json);
}

Result<std::vector<std::string>> SqliteStore::put_certificate_superseding(
    const CertificateRecord& issued, const Supersede& supersede, const Order* completes,
    const std::string& completes_from) {
  const std::string json = stored_text(issued);
  const std::string order_json = completes ? stored_text(*completes) : std::string();
  std::lock_guard lock(mu_);
  // BEGIN IMMEDIATE takes the database's write lock: no other connection (or process) writes
  // between the lookup of the device's valid certificates and this commit.
  Transaction tx(*this);
  ATTESTLAB_TRY(tx.begin());
  std::vector<std::string> revoked;
  for (const auto& device_id : supersede.device_ids) {
    auto valid = valid_certificates_by_device_locked(device_id);
    if (!valid) return valid.error();
    for (auto& c : *valid) {
      c.revoke(supersede.reason, supersede.revoked_at);
      ATTESTLAB_TRY(update_certificate_locked(c, stored_text(c)));
      revoked.push_back(c.id);
    }
  }
  ATTESTLAB_TRY(insert_certificate_locked(issued, json));
  if (completes) ATTESTLAB_TRY(update_order_locked(*completes, order_json, completes_from));
  ATTESTLAB_TRY(tx.commit());
  return revoked;
}

Result<void> SqliteStore::insert_certificate_locked(const CertificateRecord& c,
                                                    const std::string& json) {
  Query q(certificate_insert_.get());
  q.text(c.id);
  int rc = bind_columns(q, c, json).step();
  if (rc == SQLITE_DONE) {
    parsed_certificates_.remember_written(c.id, json, c);
    return ok();
  }
  return is_uniqueness_violation(rc) ? certificate_conflict() : sqlite_error();
}

Result<std::optional<CertificateRecord>> SqliteStore::certificate_by_id(const std::string& id) {
  std::lock_guard lock(mu_);
  return fetch_model(certificate_by_id_.get(), id, parsed_certificates_, &certificate_from_json);
}

Result<std::optional<CertificateRecord>> SqliteStore::certificate_by_serial(
    const std::string& serial_hex) {
  std::lock_guard lock(mu_);
  return decode(fetch_json(certificate_by_serial_.get(), serial_hex), &certificate_from_json);
}

Result<std::vector<CertificateRecord>> SqliteStore::valid_certificates_by_device(
    const std::string& device_id) {
  std::lock_guard lock(mu_);
  return valid_certificates_by_device_locked(device_id);
}

Result<std::vector<CertificateRecord>> SqliteStore::valid_certificates_by_device_locked(
    const std::string& device_id) {
  Query q(valid_certificates_by_device_.get());
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
  const std::string json = stored_text(c);
  std::lock_guard lock(mu_);
  return update_certificate_locked(c, json);
}

Result<bool> SqliteStore::revoke_certificate_if_valid(const std::string& certificate_id, int reason,
                                                      std::int64_t revoked_at) {
  std::lock_guard lock(mu_);
  Query q(certificate_revoke_if_valid_.get());
  if (q.int64(reason).int64(revoked_at).text(certificate_id).step() != SQLITE_DONE) {
    return sqlite_error();
  }
  return sqlite3_changes(db_.get()) == 1;
}

Result<void> SqliteStore::update_certificate_locked(const CertificateRecord& c,
                                                    const std::string& json) {
  Query q(certificate_update_.get());
  int rc = bind_columns(q, c, json).text(c.id).step();
  if (rc != SQLITE_DONE) {
    return is_uniqueness_violation(rc) ? certificate_conflict() : sqlite_error();
  }
  if (sqlite3_changes(db_.get()) == 0) {
    return Error::make("serverInternal", "store: no certificate " + c.id);
  }
  parsed_certificates_.remember_written(c.id, json, c);
  return ok();
}

}  // namespace attestlab::server::sqlite_internal
