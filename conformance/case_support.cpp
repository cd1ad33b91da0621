#include "conformance/case_support.h"

#include "client/url_reference.h"
#include "conformance/checks.h"
#include "conformance/flows.h"
#include "core/bytes.h"
#include "core/pki.h"

namespace attestlab::conformance {

Verdict location_is(const Result<http::Response>& r, const std::string& request_url,
                    const std::string& url) {
  if (!r) return Verdict::fail("Location " + url, describe(r));
  auto location = client::location_url(*r, request_url);
  return check(location && *location == url, "Location " + url,
               location ? "Location " + *location : location.error().detail);
}

client::NewAccountRequest account_request(const CaseContext& ctx) {
  client::NewAccountRequest req;
  if (ctx.target().eab && ctx.target().eab->required) req.eab = eab_binding(ctx.target());
  return req;
}

WatchedAccount watched_account(CaseContext& ctx, const std::string& label) {
  auto c = ctx.client(label);
  client::NewAccountRequest req;
  req.contact = {kContactBefore};
  client::Account account = ctx.new_account(*c, req);
  return WatchedAccount{std::move(c), account};
}

OfferedChallenge offered_challenge(CaseContext& ctx, client::AcmeClient& c, const std::string& type,
                                   std::vector<client::Identifier> ids) {
  OfferedChallenge o;
  o.order = create_order(ctx, c, std::move(ids));
  o.authz = need(c.get_authz(o.order.authorizations.front()), "fetch the authorization");
  const client::Challenge* ch = o.authz.find(type);
  need_that(ch != nullptr, "the authorization offers " + type);
  o.challenge = *ch;
  return o;
}

client::Authorization validated_first_authz(CaseContext& ctx, client::AcmeClient& c) {
  client::Order order = create_order(ctx, c);
  auto authz = validate_authz(ctx, c, order.authorizations.front());
  need_that(authz.status == "valid", "the authorization became valid");
  return authz;
}

AttestOutcome submit_edited_leaf(
    CaseContext& ctx,
    const std::function<sim::LeafSpec(sim::LeafSpec, const std::string& token)>& edit) {
  DeviceOrder d = device_order(ctx, ctx.identity(0).serial);
  pki::PrivateKey key = device_key();
  sim::LeafSpec s = edit(honest_leaf(ctx, key.public_key(), slot_facts(ctx, 0), d.challenge.token),
                         d.challenge.token);
  return submit(ctx, d, attobj_payload(issue(ctx, s)));
}

Json contact_update() {
  return Json{{"contact", {kContactAfter}}};
}
std::string contact_update_text() {
  return contact_update().dump();
}

Verdict contact_unchanged(client::AcmeClient& c, const std::string& account_url) {
  Json account = fetch_json(c, account_url, "the account");
  const Json contact = account.value("contact", Json::array());
  return check(contact == Json::array({kContactBefore}),
               std::string("account contact still [\"") + kContactBefore + "\"] afterwards",
               "contact is " + contact.dump() + " (the refused update was applied)");
}

Result<http::Response> post_built(client::AcmeClient& c, const std::string& url,
                                  const std::function<std::string(const std::string& nonce)>& build,
                                  int attempts) {
  Result<http::Response> r = Error::make("clientUsage", "no attempt");
  for (int i = 0; i < attempts; ++i) {
    auto nonce = c.new_nonce();
    if (!nonce) return nonce.error();
    client::RawPostOptions o;
    o.raw_body = build(*nonce);
    r = c.post_raw(url, Json::object(), "", o);
    if (!r || !is_bad_nonce(*r)) break;
  }
  return r;
}

Json account_header(const client::AcmeClient& c, const std::string& nonce, const std::string& url) {
  return Json{
      {"alg", c.account_key()->alg()}, {"kid", c.account_url()}, {"nonce", nonce}, {"url", url}};
}

std::string jose_signature_b64u(const client::JwsSigner& signer, const std::string& input) {
  auto der = need(signer.sign(to_bytes(input)), "sign");
  const std::string alg = signer.alg();
  std::size_t coord = 0;
  if (alg == "ES256") coord = 32;
  if (alg == "ES384") coord = 48;
  if (alg == "ES512") coord = 66;
  if (coord == 0) return base64url_encode(der);
  return base64url_encode(need(pki::ecdsa_der_to_raw(der, coord), "convert the ECDSA signature"));
}

std::shared_ptr<const client::JwsSigner> fresh_signer(pki::KeySpec spec) {
  return client::make_signer(need(pki::PrivateKey::generate(spec), "generate a key"));
}

std::string flattened_jws(const client::JwsSigner& signer, const std::string& protected_b64,
                          const std::string& payload) {
  return Json{{"protected", protected_b64},
              {"payload", payload},
              {"signature", jose_signature_b64u(signer, protected_b64 + "." + payload)}}
      .dump();
}

}  // namespace attestlab::conformance
