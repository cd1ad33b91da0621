// Accounts (RFC 8555 §7.3): newAccount with external account binding (§7.3.4), the
// account resource (update, deactivation §7.3.6), its orders list (§7.1.2.1) and key
// rollover (§7.3.5).
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

  account.id = random_token(12);
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
  if (deactivate) account.status = "deactivated";
  if (changed) {
    ATTESTLAB_TRY(ctx.store->update_account(account));
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
  // RFC 8555 §7.1.2.1: list pending, ready, processing and valid orders, not invalid ones.
  Json urls = Json::array();
  std::int64_t now = ctx.now();
  for (const auto& order_id : *ids) {
    auto order = ctx.store->order_by_id(order_id);
    if (!order) return order.error();
    if (!order->has_value()) continue;
    const Order& o = **order;
    bool expired =
        (o.status == "pending" || o.status == "ready") && o.expires > 0 && now >= o.expires;
    if (o.status == "invalid" || expired) continue;
    urls.push_back(ctx.urls.order(o.id));
  }
  return json_response(200, Json{{"orders", std::move(urls)}});
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
  account.jwk = new_key->to_json();
  account.thumbprint = new_thumbprint;
  auto updated = ctx.store->update_account(account);
  if (!updated) {
    if (updated.error().type != "conflict") return updated.error();
    auto winner = ctx.store->account_by_thumbprint(new_thumbprint);
    if (winner && winner->has_value()) return problem_conflict_response(ctx, (*winner)->id);
    return updated.error();
  }
  ctx.accounts.remember(account, std::make_shared<const jose::Jwk>(std::move(*new_key)));
  return json_response(200, account_json(ctx, account));
}

}  // namespace attestlab::server
