// URL layout and the JSON views of ACME resources (RFC 8555 §7.1).
#include "core/clock.h"
#include "server/acme/acme_context.h"

namespace attestlab::server {

AcmeUrls AcmeUrls::make(const std::string& host, std::uint16_t port) {
  AcmeUrls u;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  u.base = "https://" + h + ":" + std::to_string(port);
  std::string acme = u.base + "/acme/";
  u.directory = acme + "directory";
  u.new_nonce = acme + "new-nonce";
  u.new_account = acme + "new-account";
  u.new_order = acme + "new-order";
  u.revoke_cert = acme + "revoke-cert";
  u.key_change = acme + "key-change";
  u.renewal_info = acme + "renewal-info";
  u.account_prefix = acme + "acct/";
  u.order_prefix = acme + "order/";
  u.authz_prefix = acme + "authz/";
  u.challenge_prefix = acme + "chall/";
  u.cert_prefix = acme + "cert/";
  u.index_link = "<" + u.directory + ">;rel=\"index\"";
  return u;
}

http::Response json_response(int status, const Json& body) {
  http::Response response;
  response.status = status;
  response.set("Content-Type", "application/json");
  response.body = body.dump();
  return response;
}

Json account_json(const AcmeContext& ctx, const Account& account) {
  Json j = Json::object();
  j["status"] = account.status;
  j["contact"] = account.contact;
  j["termsOfServiceAgreed"] = account.tos_agreed;
  j["orders"] = ctx.urls.account_orders(account.id);
  if (account.created > 0) j["createdAt"] = format_rfc3339(account.created);
  return j;
}

Json challenge_json(const AcmeContext& ctx, const Challenge& challenge) {
  Json j = Json::object();
  j["type"] = challenge.type;
  j["url"] = ctx.urls.challenge(challenge.id);
  j["status"] = challenge.status;
  j["token"] = challenge.token;
  if (challenge.status == "valid" && challenge.validated > 0) {
    j["validated"] = format_rfc3339(challenge.validated);
  }
  if (!challenge.error.is_null()) j["error"] = challenge.error;
  return j;
}

Json authz_json(const AcmeContext& ctx, const Authorization& authz) {
  Json j = Json::object();
  j["identifier"] = authz.identifier.to_json();
  j["status"] = authz.status;
  j["expires"] = format_rfc3339(authz.expires);
  // A final authorization lists the challenges that were attempted (RFC 8555 §7.1.4).
  bool final_state = authz.status == "valid" || authz.status == "invalid";
  Json challenges = Json::array();
  for (const auto& c : authz.challenges) {
    if (final_state && c.status == "pending") continue;
    challenges.push_back(challenge_json(ctx, c));
  }
  if (challenges.empty()) {
    for (const auto& c : authz.challenges) challenges.push_back(challenge_json(ctx, c));
  }
  j["challenges"] = std::move(challenges);
  if (authz.wildcard) j["wildcard"] = true;
  return j;
}

Json order_json(const AcmeContext& ctx, const Order& order) {
  Json j = Json::object();
  j["status"] = order.status;
  j["expires"] = format_rfc3339(order.expires);
  Json identifiers = Json::array();
  for (const auto& id : order.identifiers) identifiers.push_back(id.to_json());
  j["identifiers"] = std::move(identifiers);
  if (!order.not_before.empty()) j["notBefore"] = order.not_before;
  if (!order.not_after.empty()) j["notAfter"] = order.not_after;
  Json authorizations = Json::array();
  for (const auto& id : order.authorization_ids) authorizations.push_back(ctx.urls.authz(id));
  j["authorizations"] = std::move(authorizations);
  j["finalize"] = ctx.urls.finalize(order.id);
  if (!order.certificate_id.empty() && order.status == "valid") {
    j["certificate"] = ctx.urls.certificate(order.certificate_id);
  }
  if (!order.error.is_null()) j["error"] = order.error;
  if (!order.profile.empty()) j["profile"] = order.profile;
  if (!order.replaces.empty()) j["replaces"] = order.replaces;  // RFC 9773 §5: reflected
  return j;
}

}  // namespace attestlab::server
