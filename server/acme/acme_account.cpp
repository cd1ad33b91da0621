// Accounts (RFC 8555 §7.3): newAccount with external account binding (§7.3.4), the
// account resource (update, deactivation §7.3.6), its orders list (§7.1.2.1) and key
// rollover (§7.3.5).
#include <algorithm>
#include <functional>

#include "core/bytes.h"
#include "server/acme/acme_context.h"
#include "server/acme/acme_syntax.h"
#include "server/acme/problem.h"
#include "server/faults.h"

namespace attestlab::server {

namespace {

http::Response account_response(const AcmeContext& ctx, int status, const Account& account) {
  if (status == 201 && ATTESTLAB_FAULT(new_account_200)) status = 200;
  auto response = json_response(status, account_json(ctx, account));
  if (!ATTESTLAB_FAULT(missing_location)) response.set("Location", ctx.urls.account(account.id));
  return response;
}

// The "contact" member, checked (skip_contact_validation: any array of strings).
Result<std::vector<std::string>> contacts_of(const Json& contact) {
  if (ATTESTLAB_FAULT(skip_contact_validation) && contact.is_array()) {
    std::vector<std::string> out;
    for (const auto& c : contact) {
      if (c.is_string()) out.push_back(c.get<std::string>());
    }
    return out;
  }
  return parse_contacts(contact);
}

// RFC 8555 §7.3.5: a key held by another account is a 409 naming that account.
http::Response problem_conflict_response(const AcmeContext& ctx, const std::string& holder_id) {
  auto response =
      problem_response(Error::make("conflict", "the new key is already in use by an account", 409));
  response.set("Location", ctx.urls.account(holder_id));
  return response;
}

// RFC 8555 §7.3.4: the binding is a flattened JWS, HS256 under the CA-issued key named
// by "kid", over the very JWK of the outer request, addressed to newAccount.
Result<std::string> verify_external_binding(AcmeContext& ctx, const Json& binding,
                                            const jose::Jwk& account_key) {
  auto jws = jose::parse_flattened(binding);
  if (!jws)
    return Error::make("malformed",
                       "externalAccountBinding is not a flattened JWS: " + jws.error().detail);
  if (jws->alg() != "HS256") {
    return Error::make("malformed",
                       "externalAccountBinding must use HS256, not \"" + jws->alg() + "\"");
  }
  if (jws->header.contains("nonce"))
    return Error::make("malformed", "externalAccountBinding must not carry a nonce");
  auto url = jws->url();
  if (!url || *url != ctx.urls.new_account) {
    return Error::make("unauthorized", "externalAccountBinding \"url\" must be the newAccount URL");
  }
  auto kid = jws->kid();
  if (!kid || kid->empty())
    return Error::make("malformed", "externalAccountBinding has no \"kid\"");
  auto key = ctx.eab_keys.find(*kid);
  if (key == ctx.eab_keys.end())
    return Error::make("unauthorized", "unknown external account key id");
  if (!jose::verify_hs256(*jws, key->second)) {
    return Error::make("unauthorized", "externalAccountBinding MAC is invalid");
  }
  auto payload = jws->payload_json();
  if (!payload || !payload->has_value()) {
    return Error::make("malformed", "externalAccountBinding payload must be the account JWK");
  }
  auto bound = jose::Jwk::parse(**payload);
  if (!bound || bound->thumbprint() != account_key.thumbprint()) {
    return Error::make("malformed", "externalAccountBinding payload is not the account key");
  }
  return *kid;
}

// Applies `change` to the stored account under a compare-and-set, so that concurrent
// updates (contact, deactivation, key rollover) never undo each other: when another request
// changed the row meanwhile, the change is re-applied to the fresh row (or refused by
// `change` itself, e.g. once the account is deactivated or its key rolled over).
Result<Account> update_account_cas(AcmeContext& ctx, const std::string& id,
                                   const std::function<Result<void>(Account&)>& change) {
  constexpr int kAttempts = 16;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto loaded = ctx.store->account_by_id(id);
    if (!loaded) return loaded.error();
    if (!loaded->has_value()) return Error::make("accountDoesNotExist", "no such account");
    Account updated = **loaded;
    ATTESTLAB_TRY(change(updated));
    auto written = ctx.store->update_account_if(updated, **loaded);
    if (written) return updated;
    if (written.error().type != "changed") return written.error();
  }
  return Error::make("rateLimited", "the account is being changed concurrently; retry");
}

// What every account change requires of the row it applies to: still valid, and still
// held by the key that signed the request.
Result<void> still_held(const Account& current, const std::string& signer_thumbprint) {
  if (current.status != "valid") {
    return Error::make("unauthorized", "account is " + current.status, 401);
  }
  if (current.thumbprint != signer_thumbprint) {
    return Error::make("unauthorized", "the account key changed while this request was made");
  }
  return ok();
}

}  // namespace

Result<http::Response> handle_new_account(AcmeContext& ctx, const http::Request& request,
                                          RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Jwk, info);
  if (!signed_request) return signed_request.error();
  if (!signed_request->payload) return Error::make("malformed", "newAccount needs a JSON payload");
  const Json& payload = *signed_request->payload;
  const jose::Jwk& key = *signed_request->key;
  std::string thumbprint = key.thumbprint();

  auto existing = ctx.store->account_by_thumbprint(thumbprint);
  if (!existing) return existing.error();
  if (existing->has_value()) {
    const Account& account = **existing;
    info.account_id = account.id;
    if (account.status != "valid")
      return Error::make("unauthorized", "account is " + account.status, 401);
    return account_response(ctx, 200, account);
  }
  if (payload.contains("onlyReturnExisting")) {
    if (!payload["onlyReturnExisting"].is_boolean()) {
      return Error::make("malformed", "onlyReturnExisting must be a boolean");
    }
    if (payload["onlyReturnExisting"].get<bool>()) {
      return Error::make("accountDoesNotExist", "no account exists for this key");
    }
  }

  Account account;
  if (payload.contains("termsOfServiceAgreed")) {
    if (!payload["termsOfServiceAgreed"].is_boolean()) {
      return Error::make("malformed", "termsOfServiceAgreed must be a boolean");
    }
    account.tos_agreed = payload["termsOfServiceAgreed"].get<bool>();
  }
  if (!account.tos_agreed) {
    return Error::make("malformed", "the terms of service (" + ctx.config.terms_of_service +
                                        ") must be agreed to (termsOfServiceAgreed: true)");
  }
  if (payload.contains("contact")) {
    auto contacts = contacts_of(payload["contact"]);
    if (!contacts) return contacts.error();
    account.contact = std::move(*contacts);
  }

  bool has_binding = payload.contains("externalAccountBinding");
  if (ctx.config.eab_required && !has_binding && !ATTESTLAB_FAULT(skip_eab_check)) {
    return Error::make("externalAccountRequired",
                       "this server requires an external account binding");
  }
  std::unique_lock<std::mutex> bind_lock;
  if (has_binding && (ctx.config.eab_required || !ctx.eab_keys.empty())) {
    auto kid = verify_external_binding(ctx, payload["externalAccountBinding"], key);
    if (!kid) return kid.error();
    bind_lock = std::unique_lock(ctx.eab_bind_mutex);
    auto used = ctx.store->eab_kid_used(*kid);
    if (!used) return used.error();
    if (*used)
      return Error::make("unauthorized",
                         "this external account key is already bound to an account");
    account.eab_kid = *kid;
  }

  const int per_ip = ctx.config.limits.new_accounts_per_ip_per_hour;
  if (auto wait = ctx.limiter.take("accounts-ip:" + request.remote_addr, per_ip, ctx.now())) {
    return rate_limited_response("new accounts from " + request.remote_addr, per_ip, wait);
  }
  account.id = sortable_id();
  account.jwk = key.to_json();
  account.thumbprint = thumbprint;
  account.created = ctx.now();
  auto created = ctx.store->create_account(account);
  if (!created) {
    if (created.error().type != "conflict") return created.error();
    // Raced with a request for the same key: answer as if it had come first.
    auto winner = ctx.store->account_by_thumbprint(thumbprint);
    if (!winner) return winner.error();
    if (!winner->has_value()) return created.error();
    info.account_id = (*winner)->id;
    return account_response(ctx, 200, **winner);
  }
  info.account_id = account.id;
  ctx.accounts.remember(account, signed_request->key);
  return account_response(ctx, 201, account);
}

Result<http::Response> handle_account(AcmeContext& ctx, const http::Request& request,
                                      const std::string& id, RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  ATTESTLAB_TRY(require_owner(*signed_request, id));
  Account account = *signed_request->account;
  if (!signed_request->payload) return json_response(200, account_json(ctx, account));

  const Json& payload = *signed_request->payload;
  bool deactivate = false;
  if (payload.contains("status")) {
    const auto& status = payload["status"];
    if (!status.is_string() || (status != "deactivated" && status != "valid")) {
      return Error::make("malformed", "an account's status may only be set to \"deactivated\"");
    }
    deactivate = status == "deactivated";
  }
  bool changed = deactivate;
  if (payload.contains("contact")) {
    auto contacts = contacts_of(payload["contact"]);
    if (!contacts) return contacts.error();
    account.contact = std::move(*contacts);
    changed = true;
  }
  if (changed) {
    const std::string signer = signed_request->key->thumbprint();
    const std::vector<std::string> contact = account.contact;
    const bool set_contact = payload.contains("contact");
    auto updated = update_account_cas(ctx, id, [&](Account& current) -> Result<void> {
      ATTESTLAB_TRY(still_held(current, signer));
      if (set_contact) current.contact = contact;
      if (deactivate) current.status = "deactivated";
      return ok();
    });
    if (!updated) return updated.error();
    account = std::move(*updated);
    ctx.accounts.remember(account, signed_request->key);
  }
  return json_response(200, account_json(ctx, account));
}

Result<http::Response> handle_account_orders(AcmeContext& ctx, const http::Request& request,
                                             const std::string& id, RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  ATTESTLAB_TRY(require_owner(*signed_request, id));
  ATTESTLAB_TRY(require_post_as_get(*signed_request));
  auto ids = ctx.store->order_ids_by_account(id);
  if (!ids) return ids.error();
  // Pages: "?cursor=N" starts at the account's N-th order (in creation order).
  std::size_t cursor = 0;
  if (auto q = request.target.find("?cursor="); q != std::string::npos) {
    const std::string digits = request.target.substr(q + 8);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return Error::make("malformed", "orders list cursor must be a number");
    }
    cursor = std::stoul(digits);
  }
  const std::size_t page = static_cast<std::size_t>(std::max(1, ctx.config.orders_page_size));
  // RFC 8555 §7.1.2.1: list pending, ready, processing and valid orders, not invalid ones.
  Json urls = Json::array();
  std::int64_t now = ctx.now();
  std::size_t next = cursor;
  for (; next < ids->size() && urls.size() < page; ++next) {
    const std::string& order_id = (*ids)[next];
    auto order = ctx.store->order_by_id(order_id);
    if (!order) return order.error();
    if (!order->has_value()) continue;
    const Order& o = **order;
    bool expired =
        (o.status == "pending" || o.status == "ready") && o.expires > 0 && now >= o.expires;
    if (o.status == "invalid" || expired) continue;
    urls.push_back(ctx.urls.order(o.id));
  }
  auto response = json_response(200, Json{{"orders", std::move(urls)}});
  if (next < ids->size()) {
    response.add("Link", "<" + ctx.urls.account(id) + "/orders?cursor=" + std::to_string(next) +
                             ">;rel=\"next\"");
  }
  return response;
}

Result<http::Response> handle_key_change(AcmeContext& ctx, const http::Request& request,
                                         RequestInfo& info) {
  auto signed_request = authenticate(ctx, request, KeyMode::Kid, info);
  if (!signed_request) return signed_request.error();
  if (!signed_request->payload)
    return Error::make("malformed", "keyChange needs an inner JWS payload");
  Account account = *signed_request->account;

  auto inner = jose::parse_flattened(*signed_request->payload);
  if (!inner) return Error::make("malformed", "inner JWS: " + inner.error().detail);
  if (inner->header.contains("kid"))
    return Error::make("malformed", "inner JWS must not have \"kid\"");
  if (!inner->header.contains("jwk"))
    return Error::make("malformed", "inner JWS must carry the new key as \"jwk\"");
  auto inner_url = inner->url();
  if (!inner_url || *inner_url != signed_request->url) {
    return Error::make("malformed", "inner JWS \"url\" must equal the outer JWS \"url\"");
  }
  auto new_key = jose::Jwk::parse(inner->header["jwk"]);
  if (!new_key) return new_key.error();
  ATTESTLAB_TRY(jose::verify(*inner, new_key->key()));

  auto inner_payload = inner->payload_json();
  if (!inner_payload || !inner_payload->has_value() || !(*inner_payload)->is_object()) {
    return Error::make("malformed", "inner JWS payload must be {\"account\", \"oldKey\"}");
  }
  const Json& rollover = **inner_payload;
  const std::string* account_url = get_string(rollover, "account");
  if (!account_url || *account_url != ctx.urls.account(account.id)) {
    return Error::make("unauthorized",
                       "inner JWS \"account\" does not match the outer JWS \"kid\"");
  }
  if (!rollover.contains("oldKey"))
    return Error::make("malformed", "inner JWS payload has no \"oldKey\"");
  auto old_key = jose::Jwk::parse(rollover["oldKey"]);
  if (!old_key || old_key->thumbprint() != account.thumbprint) {
    return Error::make("unauthorized", "\"oldKey\" is not the account's current key");
  }

  std::string new_thumbprint = new_key->thumbprint();
  auto holder = ctx.store->account_by_thumbprint(new_thumbprint);
  if (!holder) return holder.error();
  if (holder->has_value()) {
    return problem_conflict_response(ctx, (*holder)->id);
  }
  const Json new_jwk = new_key->to_json();
  const std::string old_thumbprint = account.thumbprint;
  auto updated = update_account_cas(ctx, account.id, [&](Account& current) -> Result<void> {
    ATTESTLAB_TRY(still_held(current, old_thumbprint));
    current.jwk = new_jwk;
    current.thumbprint = new_thumbprint;
    return ok();
  });
  if (!updated) {
    if (updated.error().type != "conflict") return updated.error();
    auto winner = ctx.store->account_by_thumbprint(new_thumbprint);
    if (winner && winner->has_value()) return problem_conflict_response(ctx, (*winner)->id);
    return updated.error();
  }
  account = std::move(*updated);
  ctx.accounts.remember(account, std::make_shared<const jose::Jwk>(std::move(*new_key)));
  return json_response(200, account_json(ctx, account));
}

}  // namespace attestlab::server
