// Orders (RFC 8555 §7.4): newOrder, the order resource and finalize, with issuance done
// synchronously inside finalize (signing a leaf costs well under a millisecond).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>

#include "core/bytes.h"
#include "server/acme/acme_context.h"
#include "server/acme/acme_csr.h"
#include "server/acme/acme_renewal.h"
#include "server/acme/acme_syntax.h"
#include "server/acme/cert_profiles.h"
#include "server/acme/problem.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

constexpr std::size_t kMaxIdentifiers = 100;
constexpr std::size_t kMaxCommonName = 64;  // RFC 5280 ub-common-name
// Leaves start slightly in the past so that clients with a slow clock accept them.
constexpr std::int64_t kLeafBackdate = 300;

// Absent is nullopt (not 0: "1970-01-01T00:00:00Z" is a time like any other).
Result<std::optional<std::int64_t>> parse_time_member(const Json& payload, const char* name) {
  if (!payload.contains(name)) return std::optional<std::int64_t>();
  const auto& value = payload[name];
  std::int64_t t = 0;
  if (!value.is_string() || !parse_rfc3339(value.get<std::string>(), t)) {
    return Error::make("malformed", std::string(name) + " must be an RFC 3339 date-time");
  }
  return std::optional<std::int64_t>(t);
}

Result<Order> load_owned_order(AcmeContext& ctx, const SignedRequest& request,
                               const std::string& id) {
  auto order = ctx.store->order_by_id(id);
  if (!order) return order.error();
  if (!order->has_value()) return Error::make("notFound", "no such order", 404);
  ATTESTLAB_TRY(require_owner(request, (*order)->account_id));
  return std::move(**order);
}

http::Response order_response(const AcmeContext& ctx, int status, const Order& order) {
  auto response = json_response(status, order_json(ctx, order));
  if (order.status == "processing" && !ATTESTLAB_FAULT(no_retry_after)) {
    response.set("Retry-After", std::to_string(ctx.config.retry_after_seconds));
  }
  return response;
}

// The identifiers a leaf may name: all of the order's except device identifiers proven
// only by a key (User Enrollment: the attestation carries no serial or UDID, so the
// order's claim is unverified), and without OIDs (assigner, hw-type) that neither the
// attestation nor the operator (ServerConfig::vouched_device_oids) vouches for.
std::vector<Identifier> provable_identifiers(const std::vector<Identifier>& identifiers,
                                             const std::set<std::size_t>& unverified,
                                             const std::vector<std::string>& vouched_oids) {
  auto vouched = [&](const std::string& oid) {
    return std::find(vouched_oids.begin(), vouched_oids.end(), oid) != vouched_oids.end();
  };
  std::vector<Identifier> out;
  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    if (unverified.count(i) > 0) continue;
    Identifier id = identifiers[i];
    if (id.type == "permanent-identifier") {
      auto pid = permanent_identifier_of(id);
      if (pid.assigner && !vouched(*pid.assigner)) id.value = pid.value;
    } else if (id.type == "hardware-module") {
      // hwType is mandatory in a hardwareModuleName: without a vouched one, no such SAN.
      auto hw = hardware_module_of(id);
      if (!vouched(hw.hw_type)) id = Identifier{"hardware-serial", to_string(hw.serial)};
    }
    out.push_back(std::move(id));
  }
  return out;
}

// Subject CN of a leaf: the first dns identifier, else the first device identifier.
std::string leaf_common_name(const std::vector<Identifier>& identifiers) {
  for (const auto& id : identifiers) {
    if (id.type == "dns" && id.value.size() <= kMaxCommonName) return id.value;
  }
  for (const auto& id : identifiers) {
    if (id.type == "permanent-identifier") {
      auto value = permanent_identifier_of(id).value;
      if (!value.empty() && value.size() <= kMaxCommonName) return value;
    }
    if (id.type == "hardware-module" || id.type == "hardware-serial") {
      auto serial =
          id.type == "hardware-serial" ? id.value : to_string(hardware_module_of(id).serial);
      if (!serial.empty() && serial.size() <= kMaxCommonName) return serial;
    }
  }
  return {};
}

pki::SubjectAltNames leaf_sans(const std::vector<Identifier>& identifiers) {
  pki::SubjectAltNames sans;
  for (const auto& id : identifiers) {
    if (id.type == "dns")
      sans.dns.push_back(id.value);
    else if (id.type == "ip")
      sans.ip.push_back(id.value);
    else if (id.type == "permanent-identifier")
      sans.permanent_ids.push_back(permanent_identifier_of(id));
    else if (id.type == "hardware-module")
      sans.hardware_modules.push_back(hardware_module_of(id));
  }
  return sans;
}

struct DeviceEvidence {
  std::vector<Bytes> attested_spkis;
  std::string device_id;
  // Every identifier the device's certificates may be stored under (serial and UDID too):
  // what the new certificate supersedes is looked up under each.
  std::vector<std::string> device_ids;
  std::set<std::size_t> unverified;  // order.identifiers indices proven only by a key
};

// The attested keys (and device ids) recorded by the valid device-attest-01 challenges of
// the order's device authorizations (`authzs`: the order's, as effective_order read them).
Result<DeviceEvidence> device_evidence(const Order& order,
                                       const std::vector<Authorization>& authzs) {
  DeviceEvidence out;
  for (std::size_t i = 0; i < order.identifiers.size() && i < order.authorization_ids.size(); ++i) {
    if (!is_device_identifier(order.identifiers[i])) continue;
    if (i >= authzs.size() || authzs[i].id != order.authorization_ids[i])
      return Error::make("serverInternal", "authorization missing");
    bool found = false;
    for (const auto& c : authzs[i].challenges) {
      if (c.type != "device-attest-01" || c.status != "valid") continue;
      const std::string* spki = get_string(c.evidence, "spki");
      if (!spki) break;
      auto der = base64url_decode(*spki);
      if (!der) break;
      out.attested_spkis.push_back(std::move(*der));
      if (const std::string* device_id = get_string(c.evidence, "device_id")) {
        out.device_id = *device_id;
        add_attested_device_ids(*device_id, c.evidence, out.device_ids);
      }
      if (c.evidence.value("user_enrollment", false)) out.unverified.insert(i);
      found = true;
      break;
    }
    if (!found) {
      return Error::make("serverInternal",
                         "no attested key recorded for " + order.identifiers[i].value);
    }
  }
  return out;
}

}  // namespace

Result<http::Response> handle_new_order(AcmeContext& ctx, const http::Request& request,
                                        RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  if (!signed_request->payload) return Error::make("malformed", "newOrder needs a JSON payload");
  const Json& payload = *signed_request->payload;

  if (!payload.contains("identifiers") || !payload["identifiers"].is_array() ||
      payload["identifiers"].empty()) {
    return Error::make("malformed", "newOrder needs a non-empty \"identifiers\" array");
  }
  if (payload["identifiers"].size() > kMaxIdentifiers) {
    return Error::make("rejectedIdentifier",
                       "at most " + std::to_string(kMaxIdentifiers) + " identifiers per order");
  }
  std::vector<Identifier> identifiers;
  std::vector<Subproblem> problems;
  for (const auto& raw : payload["identifiers"]) {
    auto id = normalize_identifier(raw);
    if (!id) {
      Identifier named;
      if (raw.is_object()) {
        if (const auto* t = get_string(raw, "type")) named.type = *t;
        if (const auto* v = get_string(raw, "value")) named.value = *v;
      }
      problems.push_back({named, id.error()});
      continue;
    }
    if (std::find(identifiers.begin(), identifiers.end(), *id) == identifiers.end()) {
      identifiers.push_back(std::move(*id));
    }
  }
  if (!problems.empty()) {
    Error top = problems.front().error;
    for (const auto& p : problems) {
      if (p.error.type != top.type) top.type = "compound";
    }
    top.detail = problems.size() == 1
                     ? problems.front().error.detail
                     : std::to_string(problems.size()) + " identifiers were refused";
    return problem_response(top, problems);
  }

  // draft-ietf-acme-profiles §4: an unadvertised profile is invalidProfile; none = default.
  const CertProfile* profile = &cert_profiles(ctx.config).front();
  if (payload.contains("profile")) {
    const std::string* name = get_string(payload, "profile");
    if (!name) return Error::make("malformed", "\"profile\" must be a string");
    profile = find_cert_profile(ctx.config, *name);
    if (!profile)
      return Error::make("invalidProfile", "this server offers no profile \"" + *name + "\"");
  }
  std::string replaces;
  if (payload.contains("replaces")) {
    const std::string* text = get_string(payload, "replaces");
    if (!text) return Error::make("malformed", "\"replaces\" must be a string (RFC 9773 §5)");
    replaces = *text;
  }
  const std::int64_t now = ctx.now();
  auto not_before = parse_time_member(payload, "notBefore");
  if (!not_before) return not_before.error();
  auto not_after = parse_time_member(payload, "notAfter");
  if (!not_after) return not_after.error();
  const std::int64_t window = ctx.config.not_before_window;
  const std::optional<std::int64_t> requested_start = *not_before, requested_end = *not_after;
  if (requested_start && (*requested_start < now - window || *requested_start > now + window)) {
    return Error::make("malformed", "notBefore must lie within " + std::to_string(window) +
                                        " seconds of the server's time (" +
                                        format_rfc3339(now - window) + " to " +
                                        format_rfc3339(now + window) + ")");
  }
  const std::int64_t start = requested_start.value_or(now);
  if (requested_end) {
    if (*requested_end <= start || *requested_end <= now) {
      return Error::make("malformed", "notAfter must be later than notBefore and now");
    }
    if (*requested_end - start > profile->validity) {
      return Error::make("malformed", "requested validity exceeds the " + profile->name +
                                          " profile's maximum of " +
                                          std::to_string(profile->validity / 3600) + " hours");
    }
  } else if (requested_start && *requested_start + profile->validity <= now) {
    // The leaf would run from notBefore for the profile's validity: already over.
    return Error::make("malformed", "notBefore plus the " + profile->name + " profile's " +
                                        std::to_string(profile->validity / 3600) +
                                        " hours has already passed");
  }

  // Quotas, counted once the request is well formed: every check first, then the takes, so a
  // refused request consumes nothing (of its account's quota or of a device's).
  const RateLimits& limits = ctx.config.limits;
  const std::string& account_id = signed_request->account->id;
  if (auto wait = ctx.limiter.wait_for("orders-acct:" + account_id,
                                       limits.new_orders_per_account_per_hour, now)) {
    return rate_limited_response("new orders of this account",
                                 limits.new_orders_per_account_per_hour, wait);
  }
  for (const auto& id : identifiers) {
    if (!is_device_identifier(id)) continue;
    if (auto wait = ctx.limiter.wait_for("orders-device:" + id.value,
                                         limits.new_orders_per_identifier_per_hour, now)) {
      return rate_limited_response("new orders for " + id.value,
                                   limits.new_orders_per_identifier_per_hour, wait);
    }
  }
  if (limits.pending_authorizations_per_account > 0) {
    auto pending = ctx.store->count_authzs(account_id, "pending");
    if (!pending) return pending.error();
    const auto limit = static_cast<std::int64_t>(limits.pending_authorizations_per_account);
    if (*pending + static_cast<std::int64_t>(identifiers.size()) > limit) {
      // Settled (validated, failed, deactivated) authorizations make room; a pending one
      // lasts at most authz_lifetime.
      return rate_limited_response(
          "pending authorizations of this account (" + std::to_string(*pending) + " pending)",
          limits.pending_authorizations_per_account,
          std::min<std::int64_t>(ctx.config.authz_lifetime, RateLimiter::kWindow));
    }
  }
  (void)ctx.limiter.take("orders-acct:" + account_id, limits.new_orders_per_account_per_hour, now);
  for (const auto& id : identifiers) {
    if (!is_device_identifier(id)) continue;
    (void)ctx.limiter.take("orders-device:" + id.value, limits.new_orders_per_identifier_per_hour,
                           now);
  }

  Order order;
  order.id = sortable_id();
  order.account_id = signed_request->account->id;
  order.status = "pending";
  order.created = now;
  // An order cannot be finalized after the end of the validity it asked for.
  order.expires = std::min(now + ctx.config.order_lifetime,
                           requested_end.value_or(std::numeric_limits<std::int64_t>::max()));
  order.identifiers = identifiers;
  if (requested_start) order.not_before = payload["notBefore"].get<std::string>();
  if (requested_end) order.not_after = payload["notAfter"].get<std::string>();
  order.profile = profile->name;
  order.replaces = replaces;

  std::vector<Authorization> authzs;
  authzs.reserve(identifiers.size());
  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    Authorization authz;
    authz.id = order.id + "." + std::to_string(i);
    authz.account_id = order.account_id;
    authz.identifier = identifiers[i];
    if (authz.identifier.type == "dns" && authz.identifier.value.rfind("*.", 0) == 0) {
      authz.identifier.value.erase(0, 2);
      authz.wildcard = true;
    }
    authz.expires = std::min(now + ctx.config.authz_lifetime, order.expires);
    for (const auto& type : challenge_types_for(identifiers[i], authz.wildcard)) {
      Challenge challenge;
      challenge.id = sortable_id();
      challenge.type = type;
      challenge.token = random_token(32);
      authz.challenges.push_back(std::move(challenge));
    }
    order.authorization_ids.push_back(authz.id);
    authzs.push_back(std::move(authz));
  }
  if (replaces.empty()) {
    ATTESTLAB_TRY(ctx.store->create_order(order, authzs));
  } else {
    ATTESTLAB_TRY(create_replacing_order(ctx, order, authzs));
  }

  auto response = order_response(ctx, 201, order);
  if (!ATTESTLAB_FAULT(missing_location)) response.set("Location", ctx.urls.order(order.id));
  return response;
}

Result<http::Response> handle_order(AcmeContext& ctx, const http::Request& request,
                                    const std::string& id, RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  auto order = load_owned_order(ctx, *signed_request, id);
  if (!order) return order.error();
  ATTESTLAB_TRY(require_post_as_get(*signed_request));
  auto current = refresh_order(ctx, std::move(*order));
  if (!current) return current.error();
  return order_response(ctx, 200, *current);
}

Result<http::Response> handle_finalize(AcmeContext& ctx, const http::Request& request,
                                       const std::string& id, RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  auto loaded = load_owned_order(ctx, *signed_request, id);
  if (!loaded) return loaded.error();
  if (!signed_request->payload) return Error::make("malformed", "finalize needs {\"csr\": ...}");
  const std::string* csr_text = get_string(*signed_request->payload, "csr");
  if (!csr_text) return Error::make("malformed", "finalize needs a \"csr\" string");

  // The order's status now, computed (its authorizations may have become valid since it
  // was stored "pending") but not stored: the one write below moves it from what is stored.
  const std::string stored_status = loaded->status;
  std::vector<Authorization> authzs;
  auto current = effective_order(ctx, std::move(*loaded), &authzs);
  if (!current) return current.error();
  Order order = std::move(*current);
  bool early_allowed = order.status == "pending" && ATTESTLAB_FAULT(allow_finalize_before_ready);
  if (order.status != "ready" && !early_allowed) {
    return Error::make("orderNotReady", "order is \"" + order.status + "\", not \"ready\"");
  }

  auto der = base64url_decode(*csr_text);
  if (!der) return Error::make("badCSR", "\"csr\" is not base64url");
  CsrRequirements requirements;
  requirements.identifiers = order.identifiers;
  requirements.account_key = signed_request->key->key();
  auto evidence = device_evidence(order, authzs);
  if (!evidence) return evidence.error();
  requirements.attested_spkis = evidence->attested_spkis;
  auto csr = check_finalize_csr(*der, requirements);
  if (!csr) return csr.error();

  // Orders from before profiles carry none: they get the default.
  const CertProfile* profile = order.profile.empty() ? &cert_profiles(ctx.config).front()
                                                     : find_cert_profile(ctx.config, order.profile);
  if (!profile) {
    return Error::make("invalidProfile", "profile \"" + order.profile + "\" is no longer offered");
  }

  std::int64_t now = ctx.now();
  LeafRequest leaf;
  leaf.csr = &*csr;
  const auto named =
      provable_identifiers(order.identifiers, evidence->unverified, ctx.config.vouched_device_oids);
  leaf.sans = leaf_sans(named);
  leaf.common_name = leaf_common_name(named);
  if (leaf.common_name.empty() && !evidence->unverified.empty()) {
    // Name what was attested, the key, rather than the identity the order claimed.
    leaf.common_name =
        "attested-key " + base64url_encode(sha256(csr->public_key().spki_der())).substr(0, 22);
  }
  leaf.extended_key_usages = ctx.config.cert_ekus;
  // The window the order asked for (checked at newOrder, stored as sent), else from now: a
  // given notBefore starts the profile's validity, so the leaf never lives longer than it.
  std::int64_t requested_start = 0, requested_end = 0;
  const bool has_start =
      !order.not_before.empty() && parse_rfc3339(order.not_before, requested_start);
  const bool has_end = !order.not_after.empty() && parse_rfc3339(order.not_after, requested_end);
  leaf.not_before = has_start ? requested_start : now - kLeafBackdate;
  leaf.not_after = has_end     ? requested_end
                   : has_start ? requested_start + profile->validity
                               : now + profile->validity;

  // Everything is checked. The certificate is signed first and stored together with the
  // order's "valid" in one transaction that requires the order's stored status to be what
  // was read: only one finalize wins, a racing one stores nothing and is told so, and a
  // crash at any point leaves the order as it was (no "ready" or "processing" to write
  // first: one store write transaction per finalize).
  const std::string finalized_from = stored_status;
  auto fail = [&](const Error& error) -> Error {
    order.status = "invalid";
    order.error = problem_json(error);
    (void)ctx.store->update_order(order, finalized_from);
    return error;
  };
  if (leaf.not_after <= std::max(now, leaf.not_before)) {
    // Orders stored before their expiry followed notAfter, or a window that ran out since.
    return fail(Error::make("malformed", "the order's certificate window (notBefore " +
                                             format_rfc3339(leaf.not_before) + ", notAfter " +
                                             format_rfc3339(leaf.not_after) +
                                             ") has no time left; create a new order"));
  }
  auto certificate = ctx.ca->issue(leaf);
  if (!certificate)
    return fail(Error::make("serverInternal", "issuance failed: " + certificate.error().detail));

  CertificateRecord record;
  record.id = sortable_id();
  record.account_id = order.account_id;
  record.order_id = order.id;
  record.serial_hex = certificate->serial_hex;
  record.chain_pem = certificate->to_pem() + ctx.ca->intermediate_pem();
  record.spki_sha256 = base64url_encode(sha256(certificate->spki_der));
  record.device_id = evidence->device_id;
  record.not_after = certificate->not_after;
  record.not_before = certificate->not_before;
  record.issued = now;
  // The certificates this one supersedes (one active certificate per device) are found and
  // revoked in the transaction that stores it: never both active, never neither, and of two
  // racing issuances for one device the later one is the one left valid.
  Supersede supersede;
  if (!evidence->attested_spkis.empty() && ctx.device_validator &&
      ctx.device_validator->supersedes_previous_certificates()) {
    supersede.device_ids = evidence->device_ids;
    supersede.revoked_at = now;
  }
  Order completed = order;
  completed.status = "valid";
  completed.certificate_id = record.id;
  auto stored =
      ctx.store->put_certificate_superseding(record, supersede, &completed, finalized_from);
  if (!stored) {
    if (stored.error().type != "conflict") return fail(stored.error());
    // A concurrent finalize stored its certificate first (or the order moved on): this
    // one's was never stored nor handed out.
    ctx.logger.event(LogLevel::Info, "finalize lost a race; its certificate was discarded",
                     Json{{"order", order.id}, {"serial", record.serial_hex}});
    return Error::make("orderNotReady", "order was finalized by a concurrent request");
  }
  order = std::move(completed);
  ctx.metrics.certificate_issued();

  if (!stored->empty()) {
    ctx.logger.event(LogLevel::Info, "superseded certificates revoked",
                     Json{{"order", order.id}, {"certificates", *stored}});
  }
  auto response = order_response(ctx, 200, order);
  response.set("Location", ctx.urls.order(order.id));
  return response;
}

}  // namespace attestlab::server
