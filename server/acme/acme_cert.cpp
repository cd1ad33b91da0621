// Certificates (RFC 8555 §7.4.2 download, §7.6 revocation).
#include <algorithm>
#include <cctype>
#include <set>

#include "core/bytes.h"
#include "server/acme/acme_context.h"
#include "server/acme/acme_syntax.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

constexpr int kMaxRevocationReason = 10;
constexpr int kReasonUnused = 7;  // RFC 5280 §5.3.1: value 7 is not used

// The certificate's identifiers in newOrder form (wildcard dns names keep their "*.").
std::set<std::pair<std::string, std::string>> identifiers_of(const pki::Certificate& certificate) {
  std::set<std::pair<std::string, std::string>> out;
  auto sans = certificate.subject_alt_names();
  for (auto dns : sans.dns) {
    std::transform(dns.begin(), dns.end(), dns.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.insert({"dns", dns});
  }
  for (const auto& ip : sans.ip) out.insert({"ip", canonical_ip(ip).value_or(ip)});
  for (const auto& id : sans.permanent_ids) {
    out.insert({"permanent-identifier", id.assigner ? id.value + "/" + *id.assigner : id.value});
  }
  for (const auto& hw : sans.hardware_modules)
    out.insert({"hardware-module", to_string(hw.serial) + "/" + hw.hw_type});
  return out;
}

// A device identifier authorized through User Enrollment (the attestation proved a key,
// not a serial or UDID) is the order's unverified claim: it grants no rights over the
// certificates of the device that really has that identifier.
bool proven_by_key_only(const Authorization& authz) {
  for (const auto& c : authz.challenges) {
    if (c.type == "device-attest-01" && c.status == "valid" && c.evidence.is_object() &&
        c.evidence.value("user_enrollment", false)) {
      return true;
    }
  }
  return false;
}

// RFC 8555 §7.6: an account that did not order the certificate may still revoke it when
// it holds valid authorizations for every identifier in it. Scans the account's orders,
// which is fine for a request as rare as revocation.
Result<bool> holds_authorizations_for(AcmeContext& ctx, const std::string& account_id,
                                      const pki::Certificate& certificate) {
  auto needed = identifiers_of(certificate);
  if (needed.empty()) return false;
  auto order_ids = ctx.store->order_ids_by_account(account_id);
  if (!order_ids) return order_ids.error();
  std::int64_t now = ctx.now();
  for (const auto& order_id : *order_ids) {
    auto order = ctx.store->order_by_id(order_id);
    if (!order) return order.error();
    if (!order->has_value()) continue;
    for (const auto& authz_id : (*order)->authorization_ids) {
      auto authz = ctx.store->authz_by_id(authz_id);
      if (!authz) return authz.error();
      if (!authz->has_value() || effective_authz_status(**authz, now) != "valid" ||
          proven_by_key_only(**authz)) {
        continue;
      }
      const Identifier& id = (*authz)->identifier;
      needed.erase({id.type, (*authz)->wildcard ? "*." + id.value : id.value});
      if (needed.empty()) return true;
    }
  }
  return false;
}

}  // namespace

Result<http::Response> handle_certificate(AcmeContext& ctx, const http::Request& request,
                                          const std::string& id, RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  auto record = ctx.store->certificate_by_id(id);
  if (!record) return record.error();
  if (!record->has_value()) return Error::make("notFound", "no such certificate", 404);
  ATTESTLAB_TRY(require_owner(*signed_request, (*record)->account_id));
  ATTESTLAB_TRY(require_post_as_get(*signed_request));
  http::Response response;
  response.status = 200;
  response.set("Content-Type", "application/pem-certificate-chain");
  response.body = (*record)->chain_pem;
  return response;
}

Result<http::Response> handle_revoke(AcmeContext& ctx, const http::Request& request,
                                     RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Either, info);
  if (!signed_request) return signed_request.error();
  if (!signed_request->payload)
    return Error::make("malformed", "revokeCert needs {\"certificate\": ...}");
  const Json& payload = *signed_request->payload;

  int reason = 0;
  if (payload.contains("reason")) {
    const auto& r = payload["reason"];
    if (!r.is_number_integer() || r.get<std::int64_t>() < 0 ||
        r.get<std::int64_t>() > kMaxRevocationReason || r.get<std::int64_t>() == kReasonUnused) {
      return Error::make("badRevocationReason",
                         "revocation reason must be an RFC 5280 CRLReason code (0-10, not 7)");
    }
    reason = r.get<int>();
  }
  const std::string* cert_text = get_string(payload, "certificate");
  if (!cert_text) return Error::make("malformed", "revokeCert needs a \"certificate\" string");
  auto der = base64url_decode(*cert_text);
  if (!der) return Error::make("malformed", "\"certificate\" is not base64url");
  auto certificate = pki::Certificate::from_der(*der);
  if (!certificate) return Error::make("malformed", "\"certificate\" is not a DER certificate");

  auto found = ctx.store->certificate_by_serial(certificate->serial_hex());
  if (!found) return found.error();
  // The serial must name a certificate this server issued, byte for byte.
  bool ours = false;
  if (found->has_value()) {
    auto stored_leaf = pki::Certificate::from_pem((*found)->chain_pem);
    ours = stored_leaf && stored_leaf->to_der() == *der;
  }
  if (!ours) return Error::make("notFound", "this server did not issue that certificate", 404);
  CertificateRecord record = std::move(**found);

  if (ATTESTLAB_FAULT(skip_revocation_authorization)) {
    // anyone may revoke
  } else if (signed_request->account) {
    if (record.account_id != signed_request->account->id) {
      auto authorized = holds_authorizations_for(ctx, signed_request->account->id, *certificate);
      if (!authorized) return authorized.error();
      if (!*authorized) {
        return Error::make("unauthorized",
                           "the certificate belongs to another account and this account lacks "
                           "authorizations for all its identifiers");
      }
    }
  } else if (!signed_request->key->key().equals(certificate->public_key())) {
    return Error::make("unauthorized", "the JWS key is not the certificate's key");
  }
  // Checked here for the common case and again in the store, where a racing revocation
  // that got there first makes this one alreadyRevoked too.
  auto already = [] { return Error::make("alreadyRevoked", "the certificate is already revoked"); };
  if (record.status == "revoked") return already();
  auto revoked = ctx.store->revoke_certificate_if_valid(record.id, reason, ctx.now());
  if (!revoked) return revoked.error();
  if (!*revoked) return already();
  http::Response response;
  response.status = 200;
  return response;
}

}  // namespace attestlab::server
