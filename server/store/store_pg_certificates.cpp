// PgStore: issued certificates.
#include <algorithm>
#include <utility>

#include "server/store/pg_internal.h"

namespace attestlab::server::pg_internal {

Result<void> PgStore::put_certificate(const CertificateRecord& c) {
  const std::string json = stored_text(c);
  return remember_written(
      parsed_certificates_, c, json, one([&](pqxx::transaction_base& t) -> Result<void> {
        t.exec_prepared0("certificate_insert", c.id, c.serial_hex, or_null(c.device_id),
                         c.account_id, or_null(c.order_id), c.status, json);
        return ok();
      }));
}

// One transaction: the new certificate, the revocation of those it supersedes and its
// order's new state are written together or not at all. Read committed does not stop two
// transactions from each missing the other's new certificate of the same device, so each
// first takes a transaction-scoped advisory lock per device id (in sorted order: no
// deadlock between two issuances that name the same ids): the later one waits for the
// earlier's commit and then finds, and revokes, its certificate.
Result<std::vector<std::string>> PgStore::put_certificate_superseding(
    const CertificateRecord& issued, const Supersede& supersede, const Order* completes,
    const std::string& completes_from) {
  const std::string json = stored_text(issued);
  const std::string order_json = completes ? stored_text(*completes) : std::string();
  std::vector<std::string> lock_order = supersede.device_ids;
  std::sort(lock_order.begin(), lock_order.end());
  lock_order.erase(std::unique(lock_order.begin(), lock_order.end()), lock_order.end());
  // The rows this transaction writes, remembered once it has committed.
  std::vector<std::pair<CertificateRecord, std::string>> revoked_rows;
  auto revoked = many([&](pqxx::transaction_base& t) -> Result<std::vector<std::string>> {
    revoked_rows.clear();
    for (const auto& device_id : lock_order) t.exec_prepared("device_certificates_lock", device_id);
    std::vector<std::string> ids;
    for (const auto& device_id : supersede.device_ids) {
      for (const auto& row : t.exec_prepared("valid_certificates_by_device", device_id)) {
        auto j = parse_stored(row[0].as<std::string>());
        if (!j) return j.error();
        CertificateRecord c = certificate_from_json(*j);
        c.revoke(supersede.reason, supersede.revoked_at);
        std::string revoked_json = stored_text(c);
        t.exec_prepared0("certificate_update", c.serial_hex, or_null(c.device_id), c.account_id,
                         or_null(c.order_id), c.status, revoked_json, c.id);
        ids.push_back(c.id);
        revoked_rows.emplace_back(std::move(c), std::move(revoked_json));
      }
    }
    t.exec_prepared0("certificate_insert", issued.id, issued.serial_hex, or_null(issued.device_id),
                     issued.account_id, or_null(issued.order_id), issued.status, json);
    if (completes) ATTESTLAB_TRY(update_order_in(t, *completes, order_json, completes_from));
    return ids;
  });
  if (!revoked) return revoked;
  std::lock_guard lock(memo_mu_);
  parsed_certificates_.remember_written(issued.id, json, issued);
  for (const auto& [c, text] : revoked_rows) parsed_certificates_.remember_written(c.id, text, c);
  if (completes) parsed_orders_.remember_written(completes->id, order_json, *completes);
  return revoked;
}

Result<std::optional<CertificateRecord>> PgStore::certificate_by_id(const std::string& id) {
  return fetch_remembered("certificate_by_id", id, parsed_certificates_, &certificate_from_json);
}

Result<std::optional<CertificateRecord>> PgStore::certificate_by_serial(
    const std::string& serial_hex) {
  return decode(fetch_json("certificate_by_serial", serial_hex), &certificate_from_json);
}

Result<std::vector<CertificateRecord>> PgStore::valid_certificates_by_device(
    const std::string& device_id) {
  return one([&](pqxx::transaction_base& t) -> Result<std::vector<CertificateRecord>> {
    std::vector<CertificateRecord> out;
    for (const auto& row : t.exec_prepared("valid_certificates_by_device", device_id)) {
      auto j = parse_stored(row[0].as<std::string>());
      if (!j) return j.error();
      out.push_back(certificate_from_json(*j));
    }
    return out;
  });
}

Result<void> PgStore::update_certificate(const CertificateRecord& c) {
  const std::string json = stored_text(c);
  return remember_written(
      parsed_certificates_, c, json, one([&](pqxx::transaction_base& t) -> Result<void> {
        auto r = t.exec_prepared("certificate_update", c.serial_hex, or_null(c.device_id),
                                 c.account_id, or_null(c.order_id), c.status, json, c.id);
        if (r.affected_rows() == 0) {
          return Error::make("serverInternal", "store: no certificate " + c.id);
        }
        return ok();
      }));
}

Result<bool> PgStore::revoke_certificate_if_valid(const std::string& certificate_id, int reason,
                                                  std::int64_t revoked_at) {
  return one([&](pqxx::transaction_base& t) -> Result<bool> {
    return t.exec_prepared("certificate_revoke_if_valid", reason, revoked_at, certificate_id)
               .affected_rows() == 1;
  });
}

}  // namespace attestlab::server::pg_internal
