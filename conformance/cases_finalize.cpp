// RFC 8555 §7.4 (finalizing orders), §7.4.2 (downloading the certificate); RFC 8738 §3
// (IP addresses in certificates).
#include <algorithm>

#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

Result<http::Response> finalize_raw(client::AcmeClient& c, const client::Order& order,
                                    const std::string& csr_b64u) {
  return post_retrying(c, order.finalize, Json{{"csr", csr_b64u}});
}

// The order did not become valid and has no certificate.
Verdict not_issued(CaseContext& ctx, client::AcmeClient& c, const std::string& order_url) {
  client::Order after = settle_order(ctx, c, order_url);
  return check(after.status != "valid" && !after.certificate, "the order not valid, no certificate",
               "order \"" + after.status + "\"" +
                   (after.certificate ? " with certificate " + *after.certificate : ""));
}

// A ready order finalized with `csr`: refused and nothing issued.
Verdict refused_csr(CaseContext& ctx, client::AcmeClient& c, const client::Order& order,
                    const std::string& csr_b64u, const std::vector<std::string>& types = {}) {
  auto r = finalize_raw(c, order, csr_b64u);
  return first_failure({expect_problem(r, 0, types), not_issued(ctx, c, order.url)});
}

pki::PrivateKey new_key() {
  return need(pki::PrivateKey::generate(pki::KeySpec::p256()), "generate a key");
}

std::string csr_b64u(const std::vector<client::Identifier>& ids, const pki::PrivateKey& key) {
  return base64url_encode(csr_for(ids, key).to_der());
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

void add_finalize_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-7.4-finalize-not-ready", "Finalizing a pending order is orderNotReady", "7.4",
       Level::Must,
       "Finalizing an order that is not \"ready\" answers 403 orderNotReady and leaves the order "
       "unchanged (\"pending\")."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        auto r = finalize_raw(*c, order, csr_b64u(order.identifiers, new_key()));
        auto after = need(c->get_order(order.url), "fetch the order");
        return first_failure({expect_problem(r, 403, {"orderNotReady"}),
                              check(after.status == "pending", "order still \"pending\"",
                                    "order \"" + after.status + "\"")});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-extra-name",
       "A CSR naming more than the order is refused",
       "7.4",
       Level::Must,
       "Finalizing with a CSR that names an identifier the order does not have is refused and "
       "issues nothing.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        auto ids = order.identifiers;
        ids.push_back(dns_id(ctx.new_domain("extra")));
        return refused_csr(ctx, *c, order, csr_b64u(ids, new_key()));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-missing-name",
       "A CSR naming less than the order is refused",
       "7.4",
       Level::Must,
       "Finalizing a two-name order with a CSR naming only one of them is refused and issues "
       "nothing.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order =
            ready_order(ctx, *c, {dns_id(ctx.new_domain("one")), dns_id(ctx.new_domain("two"))});
        return refused_csr(ctx, *c, order, csr_b64u({order.identifiers.front()}, new_key()));
      }));

  // RFC 8555 §11.1 refusal (MUST) and §7.4 error code (SHOULD) are two cases.
  out.push_back(rfc_case(
      {"rfc8555-11.1-csr-account-key",
       "The account key cannot be the certificate key",
       "11.1",
       Level::Must,
       "A finalize whose CSR's public key is the account key is refused and issues nothing: "
       "\"when a server receives a finalize request, it MUST verify that the public key in a CSR "
       "is not the same as the public key of the account key pair used to authenticate that "
       "request.\"",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        pki::PrivateKey account_key = new_key();
        need(c->new_account(client::make_signer(account_key), account_request(ctx)),
             "create an account");
        client::Order order = ready_order(ctx, *c);
        return refused_csr(ctx, *c, order, csr_b64u(order.identifiers, account_key));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-account-key-badcsr",
       "The refusal of the account key as certificate key is badCSR",
       "7.4",
       Level::Should,
       "The refusal of a CSR for the account key uses badCSR: \"the problem document returned by "
       "the server SHOULD use error code \"badCSR\" and describe specific reasons the CSR was "
       "rejected\".",
       {"validation"},
       {"rfc8555-11.1-csr-account-key"}},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        pki::PrivateKey account_key = new_key();
        need(c->new_account(client::make_signer(account_key), account_request(ctx)),
             "create an account");
        client::Order order = ready_order(ctx, *c);
        return refused_csr(ctx, *c, order, csr_b64u(order.identifiers, account_key), {"badCSR"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-not-der",
       "A csr that is not a DER CSR is refused",
       "7.4",
       Level::Must,
       "Finalizing with a base64url \"csr\" that does not decode to a PKCS#10 request is refused "
       "(badCSR or malformed) and issues nothing.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        return refused_csr(ctx, *c, order, base64url_encode(random_bytes(64)),
                           {"badCSR", "malformed"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-not-base64url",
       "A csr that is not base64url is refused",
       "7.4",
       Level::Must,
       "Finalizing with a \"csr\" that is not base64url is refused (malformed or badCSR) and "
       "issues nothing.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        return refused_csr(ctx, *c, order, "MIIB+/this is not=base64url", {"malformed", "badCSR"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-bad-signature",
       "A CSR with a broken self-signature is refused",
       "7.4",
       Level::Should,
       "Finalizing with a CSR whose self-signature does not verify (no proof of possession of the "
       "key, RFC 2986 §3) should be refused and issue nothing.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        Bytes der = csr_for(order.identifiers, new_key()).to_der();
        der.back() ^= 0x01;  // last byte of the ECDSA s value: still DER, no longer valid
        return refused_csr(ctx, *c, order, base64url_encode(der));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-finalize-issues",
       "Finalizing a ready order issues the certificate",
       "7.4",
       Level::Must,
       "Finalizing a ready order answers 200 with the order (\"processing\" or \"valid\"), which "
       "becomes \"valid\" with a certificate URL.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        auto r = finalize_raw(*c, order, csr_b64u(order.identifiers, new_key()));
        auto body = r ? json_body(*r) : std::nullopt;
        const std::string status = body ? body->value("status", "") : "";
        client::Order done = settle_order(ctx, *c, order.url);
        return first_failure(
            {expect_status(r, 200),
             check(status == "processing" || status == "valid", "order \"processing\" or \"valid\"",
                   body ? body->dump() : describe(r)),
             check(done.status == "valid" && done.certificate,
                   "order \"valid\" with a certificate URL", done.raw.dump())});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4.2-certificate-media-type",
       "The certificate is application/pem-certificate-chain",
       "7.4.2",
       Level::Must,
       "POST-as-GET of the certificate URL answers 200 with Content-Type "
       "application/pem-certificate-chain.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto r = need(c->post(*issued.order.certificate, std::nullopt), "download the certificate");
        return first_failure(
            {expect_status(r, 200),
             check(media_type(r) == "application/pem-certificate-chain",
                   "Content-Type application/pem-certificate-chain",
                   "Content-Type " + r.header("content-type").value_or("(none)"))});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4.2-certificate-chain",
       "The chain starts with the requested leaf",
       "7.4.2",
       Level::Must,
       "The downloaded chain starts with the end-entity certificate for the CSR's key and the "
       "order's names, followed by its issuer, which signed it.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto certs = need(pki::Certificate::bundle_from_pem(issued.chain.pem), "parse the chain");
        std::vector<std::string> want;
        for (const auto& id : issued.order.identifiers) want.push_back(id.value);
        const auto names = issued.leaf.subject_alt_names().dns;
        return first_failure(
            {check(certs.size() >= 2, "the leaf and at least one issuer certificate",
                   std::to_string(certs.size()) + " certificate(s)"),
             check(issued.leaf.public_key().equals(issued.key.public_key()),
                   "the leaf certifies the CSR's key", "another key"),
             check(sorted(names) == sorted(want), "SAN dNSNames = the order's names",
                   "SANs " + Json(names).dump()),
             check(certs.size() >= 2 && issued.leaf.signed_by(certs[1].public_key()),
                   "the leaf signed by the next certificate", "it is not")});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-finalize-valid-order",
       "A valid order cannot be finalized again",
       "7.4",
       Level::Must,
       "Finalizing an order that is already \"valid\" answers 403 orderNotReady and keeps its "
       "certificate.",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto r = finalize_raw(*c, issued.order, csr_b64u(issued.order.identifiers, new_key()));
        auto after = need(c->get_order(issued.order.url), "fetch the order");
        return first_failure(
            {expect_problem(r, 403, {"orderNotReady"}),
             check(after.status == "valid" && after.certificate == issued.order.certificate,
                   "order still valid with certificate " + *issued.order.certificate,
                   after.raw.dump())});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-retry-after-while-processing",
       "A processing order may suggest Retry-After",
       "7.4",
       Level::May,
       "While an order is \"processing\", its responses may carry Retry-After (checked when the "
       "order is seen processing).",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        auto r = need(finalize_raw(*c, order, csr_b64u(order.identifiers, new_key())), "finalize");
        auto body = json_body(r);
        if (!body || body->value("status", "") != "processing") {
          return Verdict::pass("not observed: the order was " +
                               (body ? body->value("status", Json()).dump() : describe(r)) +
                               " right after finalize");
        }
        return check(r.header("retry-after").has_value(), "Retry-After on the processing order",
                     describe(r) + " without Retry-After");
      }));

  out.push_back(rfc_case(
      {"rfc8738-3-ip-certificate",
       "An IP order yields an iPAddress SAN",
       "3",
       Level::Must,
       "A certificate issued for an \"ip\" identifier carries it as an iPAddress subjectAltName "
       "(RFC 8738 §1: \"In order to allow validation of IPv4 and IPv6 identifiers for "
       "inclusion in X.509 certificates\", no keyword); the MUST is RFC 8555 §7.4's: \"it MUST "
       "NOT issue a certificate with contents other than those requested\".",
       {"ip-identifiers", "http-01"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c, {client::Identifier{"ip", "127.0.0.1"}});
        const auto ips = issued.leaf.subject_alt_names().ip;
        return check(ips == std::vector<std::string>{"127.0.0.1"}, "iPAddress SAN 127.0.0.1",
                     "iPAddress SANs " + Json(ips).dump());
      }));
  out.back().spec = kSpecRfc8738;
}

}  // namespace attestlab::conformance
