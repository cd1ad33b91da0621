#include "conformance/flows.h"

#include "client/url_reference.h"
#include "conformance/checks.h"
#include "core/bytes.h"

namespace attestlab::conformance {

client::Identifier dns_id(const std::string& name) {
  return client::Identifier{"dns", name};
}

std::string validation_type(const CaseContext& ctx) {
  if (ctx.has("http-01")) return "http-01";
  if (ctx.has("dns-01")) return "dns-01";
  abort_case(Verdict::skip(*ctx.target().missing("validation")));
}

namespace {

void provision_value(CaseContext& ctx, const client::Authorization& authz,
                     const client::Challenge& challenge, const std::string& key_authorization) {
  if (challenge.type == "http-01") {
    ctx.http01().provide(challenge.token, key_authorization);
  } else if (challenge.type == "dns-01") {
    need(ctx.dns().set_txt(client::dns01_record_name(authz.identifier.value),
                           client::dns01_txt_value(key_authorization)),
         "set the dns-01 TXT record");
  } else {
    abort_case(Verdict::error("the harness cannot answer challenge type " + challenge.type));
  }
}

}  // namespace

void provision_challenge(CaseContext& ctx, const client::AcmeClient& c,
                         const client::Authorization& authz, const client::Challenge& challenge) {
  provision_value(ctx, authz, challenge, c.key_authorization(challenge.token));
}

void provision_wrong_answer(CaseContext& ctx, const client::Authorization& authz,
                            const client::Challenge& challenge) {
  auto other = need(pki::PrivateKey::generate(pki::KeySpec::p256()), "generate a key");
  auto thumbprint = need(client::jwk_thumbprint(client::make_signer(other)->jwk()), "thumbprint");
  provision_value(ctx, authz, challenge, client::key_authorization(challenge.token, thumbprint));
}

client::Authorization validate_authz(CaseContext& ctx, client::AcmeClient& c,
                                     const std::string& authz_url, const std::string& type) {
  const std::string t = type.empty() ? validation_type(ctx) : type;
  auto authz = need(c.get_authz(authz_url), "fetch the authorization");
  if (authz.status != "pending") return authz;
  const client::Challenge* challenge = authz.find(t);
  need_that(
      challenge != nullptr, "the authorization offers " + t + " (offered: " + [&] {
        std::string s;
        for (const auto& ch : authz.challenges) s += ch.type + " ";
        return s;
      }() + ")");
  provision_challenge(ctx, c, authz, *challenge);
  need(c.respond_challenge(challenge->url), "respond to the " + t + " challenge");
  return settle_authz(ctx, c, authz_url);
}

client::Order create_order(CaseContext& ctx, client::AcmeClient& c,
                           std::vector<client::Identifier> identifiers) {
  if (identifiers.empty())
    identifiers.push_back(dns_id(ctx.new_domain(ctx.current().id.substr(8))));
  return need_listed(need(c.new_order(identifiers), "create an order"));
}

const client::Order& need_listed(const client::Order& order) {
  need_that(!order.identifiers.empty(), "the order lists its identifiers");
  need_that(!order.authorizations.empty(), "the order lists its authorizations");
  return order;
}

client::Order ready_order(CaseContext& ctx, client::AcmeClient& c,
                          std::vector<client::Identifier> identifiers) {
  client::Order order = create_order(ctx, c, std::move(identifiers));
  for (const auto& url : order.authorizations) {
    auto authz = validate_authz(ctx, c, url);
    need_that(authz.status == "valid",
              "authorization " + url + " became valid (it is \"" + authz.status + "\"" +
                  (authz.raw.contains("challenges") ? ": " + authz.raw["challenges"].dump() : "") +
                  ")");
  }
  client::Order settled = settle_order(ctx, c, order.url);
  need_that(settled.status == "ready", "the order became ready (it is \"" + settled.status + "\")");
  need_listed(settled);
  return settled;
}

namespace {

// The pause before the next poll: Retry-After (seconds or HTTP date) capped by the
// profile, else the profile's poll interval.
std::chrono::milliseconds next_poll_delay(const CaseContext& ctx, const client::AcmeClient& c) {
  const Timing& t = ctx.target().timing;
  if (c.last_response()) {
    if (auto ra = c.last_response()->header("retry-after")) {
      if (auto seconds = client::parse_retry_after(*ra, ctx.now())) {
        return std::min(t.max_retry_after, std::chrono::milliseconds(*seconds * 1000));
      }
    }
  }
  return t.poll_interval;
}

template <class T, class Fetch, class Done>
T settle(CaseContext& ctx, client::AcmeClient& c, const std::string& what, Fetch fetch, Done done) {
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    T value = need(fetch(), "poll " + what);
    if (done(value)) return value;
    if (ctx.remaining() <= std::chrono::milliseconds(0)) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      abort_case(Verdict::error("timeout: " + what + " still \"" + value.status + "\" after " +
                                std::to_string(waited.count()) + " ms"));
    }
    ctx.pause(next_poll_delay(ctx, c));
  }
}

}  // namespace

client::Order settle_order(CaseContext& ctx, client::AcmeClient& c, const std::string& order_url) {
  return settle<client::Order>(
      ctx, c, "the order", [&] { return c.get_order(order_url); },
      [](const client::Order& o) { return o.status != "pending" && o.status != "processing"; });
}

client::Authorization settle_authz(CaseContext& ctx, client::AcmeClient& c,
                                   const std::string& authz_url) {
  return settle<client::Authorization>(
      ctx, c, "the authorization", [&] { return c.get_authz(authz_url); },
      [](const client::Authorization& a) { return a.status != "pending"; });
}

pki::Csr csr_for(const std::vector<client::Identifier>& identifiers, const pki::PrivateKey& key) {
  pki::CsrSpec spec;
  for (const auto& id : identifiers) {
    if (id.type == "dns") {
      spec.sans.dns.push_back(id.value);
      if (spec.subject.empty()) spec.subject = {{"CN", id.value}};
    } else if (id.type == "ip") {
      spec.sans.ip.push_back(id.value);
    }
  }
  return need(pki::build_csr(spec, key), "build a CSR");
}

Finalized finalized_order(CaseContext& ctx, client::AcmeClient& c,
                          std::vector<client::Identifier> identifiers) {
  client::Order order = ready_order(ctx, c, std::move(identifiers));
  auto key = need(pki::PrivateKey::generate(pki::KeySpec::p256()), "generate a certificate key");
  pki::Csr csr = csr_for(order.identifiers, key);
  need(c.finalize(order, csr.to_der()), "finalize the order");
  client::Order done = settle_order(ctx, c, order.url);
  need_that(done.status == "valid" && done.certificate.has_value(),
            "the order became valid with a certificate (it is \"" + done.status + "\")");
  return Finalized{done, key};
}

Issued issue_certificate(CaseContext& ctx, client::AcmeClient& c,
                         std::vector<client::Identifier> identifiers) {
  Finalized f = finalized_order(ctx, c, std::move(identifiers));
  auto chain = need(c.download_certificate(*f.order.certificate), "download the certificate");
  auto leaf = need(pki::Certificate::from_der(chain.der.front()), "parse the certificate");
  return Issued{f.order, f.key, chain, std::move(leaf)};
}

http::Response fetch(client::AcmeClient& c, const std::string& url) {
  return need(post_retrying(c, url, std::nullopt), "POST-as-GET " + url);
}

Json fetch_json(client::AcmeClient& c, const std::string& url, const std::string& what) {
  http::Response r = fetch(c, url);
  need_that(r.status == 200, "fetch " + what + " (" + describe(r) + ")");
  auto body = json_body(r);
  need_that(body.has_value(), what + " is a JSON object");
  return *body;
}

std::string new_order_location(client::AcmeClient& c, const http::Response& r) {
  const std::string new_order = need(c.directory(), "fetch the directory").new_order;
  return need(client::location_url(r, new_order), "the new order's Location");
}

}  // namespace attestlab::conformance
