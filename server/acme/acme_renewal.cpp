// ACME Renewal Information (RFC 9773): the renewalInfo resource (§4) and the newOrder
// "replaces" checks (§5).
//
// Suggested windows are spread across a fleet: every certificate gets a window of
// 1/24 of its lifetime placed at a deterministic, serial-derived offset inside the span
// from 2/3 of its lifetime to 1/12 before expiry. Devices enrolled together (and so
// expiring together) are told to renew at different times, and a device asking twice
// gets the same answer. A revoked certificate's window lies in the past: renew now.
#include "server/acme/acme_renewal.h"

#include <algorithm>

#include "core/ari_cert_id.h"
#include "core/bytes.h"
#include "server/acme/acme_context.h"
#include "server/acme/problem.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

// How often clients should ask again (RFC 9773 §4.3.1); six hours as in the RFC's example.
constexpr std::int64_t kRetryAfterSeconds = 6 * 3600;

std::uint64_t serial_hash(const std::string& serial_hex) {
  Bytes digest = sha256(serial_hex);
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < 8; ++i) h = (h << 8) | digest[i];
  return h;
}

// The stored certificate an ARI identifier names, or nullopt: the serial must be ours and
// the identifier must be exactly the stored leaf's (same AKI, canonical encoding).
Result<std::optional<CertificateRecord>> certificate_by_cert_id(AcmeContext& ctx,
                                                                const std::string& text,
                                                                const ari::CertId& id) {
  auto found = ctx.store->certificate_by_serial(ari::serial_hex(id));
  if (!found) return found.error();
  if (!found->has_value()) return std::optional<CertificateRecord>{};
  auto leaf = pki::Certificate::from_pem((*found)->chain_pem);
  if (!leaf) return std::optional<CertificateRecord>{};
  auto stored_id = ari::cert_id(*leaf);
  if (!stored_id || *stored_id != text) return std::optional<CertificateRecord>{};
  return found;
}

}  // namespace

RenewalWindow renewal_window(const CertificateRecord& record, std::int64_t now) {
  if (record.status == "revoked") {
    std::int64_t since = std::min(record.revoked_at ? record.revoked_at : now, now);
    return {since - 3600, now};
  }
  std::int64_t not_before = record.not_before ? record.not_before : record.issued;
  std::int64_t lifetime = std::max<std::int64_t>(record.not_after - not_before, 24);
  std::int64_t span_start = not_before + lifetime * 2 / 3;
  std::int64_t span_end = record.not_after - lifetime / 12;
  std::int64_t width = std::max<std::int64_t>(lifetime / 24, 1);
  std::int64_t room = std::max<std::int64_t>(span_end - span_start - width, 1);
  const std::uint64_t spread =
      ATTESTLAB_FAULT(same_renewal_window) ? 0 : serial_hash(record.serial_hex);
  std::int64_t start =
      span_start + static_cast<std::int64_t>(spread % static_cast<std::uint64_t>(room));
  return {start, start + width};
}

Result<http::Response> handle_renewal_info(AcmeContext& ctx, const http::Request& request,
                                           const std::string& id, RequestInfo&) {
  if (request.method != "GET") {
    auto response =
        problem_response(Error::make("methodNotAllowed", "use GET (RFC 9773 §4.1)", 405));
    response.set("Allow", "GET");
    return response;
  }
  auto parsed = ari::parse_cert_id(id);
  if (!parsed) return parsed.error();
  auto record = certificate_by_cert_id(ctx, id, *parsed);
  if (!record) return record.error();
  if (!record->has_value()) {
    return Error::make("malformed", "no certificate issued by this server has that identifier",
                       404);
  }
  RenewalWindow window = renewal_window(**record, ctx.now());
  Json body = {{"suggestedWindow",
                {{"start", format_rfc3339(window.start)}, {"end", format_rfc3339(window.end)}}}};
  auto response = json_response(200, body);
  response.set("Retry-After", std::to_string(kRetryAfterSeconds));
  return response;
}

Result<void> create_replacing_order(AcmeContext& ctx, const Order& order,
                                    const std::vector<Authorization>& authzs) {
  const std::string& replaces = order.replaces;
  auto parsed = ari::parse_cert_id(replaces);
  if (!parsed) return Error::make("malformed", "\"replaces\": " + parsed.error().detail);
  auto record = certificate_by_cert_id(ctx, replaces, *parsed);
  if (!record) return record.error();
  if (!record->has_value()) {
    return Error::make("malformed", "\"replaces\" names no certificate this server issued");
  }
  CertificateRecord cert = std::move(**record);
  if (cert.account_id != order.account_id) {
    return Error::make("unauthorized", "\"replaces\" names a certificate of another account");
  }
  auto predecessor_order = ctx.store->order_by_id(cert.order_id);
  if (!predecessor_order) return predecessor_order.error();
  bool shares = false;
  if (predecessor_order->has_value()) {
    for (const auto& id : (*predecessor_order)->identifiers) {
      shares = shares || std::find(order.identifiers.begin(), order.identifiers.end(), id) !=
                             order.identifiers.end();
    }
  }
  if (!shares) {
    return Error::make("malformed",
                       "the order shares no identifier with the certificate it replaces");
  }
  if (!cert.replaced_by.empty()) {
    auto successor = ctx.store->order_by_id(cert.replaced_by);
    if (!successor) return successor.error();
    if (successor->has_value()) {
      auto current = refresh_order(ctx, std::move(**successor));
      if (!current) return current.error();
      if (current->status != "invalid") {
        return Error::make("alreadyReplaced",
                           "the certificate was already replaced by another order", 409);
      }
    }
  }
  // The order, its authorizations and the claim (a compare-and-set of replaced_by on what was
  // read above) are one store transaction: of two orders racing for one certificate (in this
  // process or another on the same store) one is created, and the other leaves nothing behind
  // (no order, no pending authorization counting against the account's quota).
  auto created = ctx.store->create_replacing_order(order, authzs, cert.id, cert.replaced_by);
  if (!created && created.error().type == "changed") {
    return Error::make("alreadyReplaced", "the certificate was replaced by another order meanwhile",
                       409);
  }
  return created;
}

}  // namespace attestlab::server
