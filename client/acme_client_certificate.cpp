// AcmeClient's certificate flows: finalize an order with a CSR (RFC 8555 §7.4), download
// the chain with its alternates (§7.4.2), and revoke (§7.6) with the account key or the
// certificate's own key.
#include "client/acme_client.h"
#include "client/acme_client_internal.h"
#include "client/pem_chain.h"
#include "client/url_reference.h"

namespace attestlab::client {

using acme_detail::expect_ok;
using acme_detail::kPemChain;

namespace {

Json revocation_payload(const Bytes& cert_der, std::optional<int> reason) {
  Json payload = {{"certificate", base64url_encode(cert_der)}};
  if (reason) payload["reason"] = *reason;
  return payload;
}

}  // namespace

Result<Order> AcmeClient::finalize(const Order& order, const Bytes& csr_der) {
  if (order.finalize.empty()) return Error::make(kErrorClientUsage, "order has no finalize URL");
  auto json = expect_json(post(order.finalize, Json{{"csr", base64url_encode(csr_der)}}));
  if (!json.ok()) return json.error();
  return Order::from_json(*json, order.url);
}

Result<CertificateChain> AcmeClient::download_certificate(const std::string& url) {
  ATTESTLAB_TRY(need_account());
  const http::Headers accept = {{"accept", kPemChain}};
  auto r = signed_post(url, "", *account_key_, KeyId::Kid, accept);
  ATTESTLAB_TRY(expect_ok(r));
  auto der = parse_pem_certificate_chain(r->body);
  if (!der.ok()) {
    Error e = der.error();
    e.status = r->status;
    return e;
  }
  CertificateChain chain;
  chain.pem = r->body;
  chain.der = std::move(*der);
  for (const auto& value : r->all("link")) {
    for (auto& [link, rel] : parse_link_header(value)) {
      // RFC 8288 §3.1: a relative target is resolved against the request URL.
      auto target = resolve_reference(url, link);
      if (!target) {
        return Error::make(kErrorUnexpectedResponse,
                           "Link <" + link + "> does not resolve: " + target.error().detail,
                           r->status);
      }
      if (rel == "alternate") chain.alternates.push_back(*target);
      if (rel == "up") chain.up = *target;
    }
  }
  return chain;
}

Result<void> AcmeClient::revoke(const Bytes& cert_der, std::optional<int> reason) {
  ATTESTLAB_TRY(need_account());
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  return expect_ok(post(dir->revoke_cert, revocation_payload(cert_der, reason)));
}

Result<void> AcmeClient::revoke_with_cert_key(const Bytes& cert_der, std::optional<int> reason,
                                              const JwsSigner& cert_key) {
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  return expect_ok(signed_post(dir->revoke_cert, revocation_payload(cert_der, reason).dump(),
                               cert_key, KeyId::Jwk));
}

}  // namespace attestlab::client
