// RFC 8555 §7.4 (finalizing orders), §7.4.2 (downloading the certificate); RFC 8738 §3
// (IP addresses in certificates).
#include <algorithm>

#include "client/pem_chain.h"
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

// finalized_order, then its certificate URL POSTed-as-GET: the answer as it came (not read
// through the client, which refuses a chain that is not strict PEM).
http::Response raw_certificate_download(CaseContext& ctx) {
  auto c = ctx.shared_client();
  Finalized done = finalized_order(ctx, *c);
  return need(c->post(*done.order.certificate, std::nullopt), "download the certificate");
}

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

// A ready order finalized with `csr`: refused (any 4xx: the refusal is RFC 8555 §7.4's
// MUST, a problem document only §6.7's SHOULD) and nothing issued.
Verdict refused_csr_4xx(CaseContext& ctx, client::AcmeClient& c, const client::Order& order,
                        const std::string& csr_b64u) {
  auto r = finalize_raw(c, order, csr_b64u);
  return first_failure({expect_refused(r), not_issued(ctx, c, order.url)});
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
       "Finalizing an order that is not \"ready\" (here \"pending\") answers 403 orderNotReady "
       "(the order's state afterwards is the split case rfc8555-7.4-finalize-not-ready-unchanged): "
       "RFC 8555 §7.4: \"A request to finalize an order will result in error if the order is "
       "not in the \"ready\" state.  In such cases, the server MUST return a 403 (Forbidden) "
       "error with a problem document of type \"orderNotReady\".\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        return expect_problem(finalize_raw(*c, order, csr_b64u(order.identifiers, new_key())), 403,
                              {"orderNotReady"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-finalize-not-ready-unchanged",
       "A refused finalize leaves a pending order pending", "7.4", Level::May,
       "After a finalize of a \"pending\" order, the order is still \"pending\"; no BCP 14 "
       "keyword states the order's state after the orderNotReady error: RFC 8555 §7.4: \"The "
       "client should then send a POST-as-GET request to the order resource to obtain its "
       "current state.\" (the refusal itself is the MUST case rfc8555-7.4-finalize-not-ready)"},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        auto r = finalize_raw(*c, order, csr_b64u(order.identifiers, new_key()));
        auto after = need(c->get_order(order.url), "fetch the order");
        return check(after.status == "pending", "order still \"pending\"",
                     "order \"" + after.status + "\" after " + describe(r));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-extra-name",
       "A CSR naming more than the order is refused",
       "7.4",
       Level::Must,
       "Finalizing with a CSR that names an identifier the order does not have is refused (any "
       "4xx) and issues nothing: RFC 8555 §7.4: \"The CSR MUST indicate the exact same set of "
       "requested identifiers as the initial newOrder request.\" (binds the client) and \"The "
       "server MUST return an error if it cannot fulfill the request as specified, and it MUST "
       "NOT issue a certificate with contents other than those requested.\" (the account holds "
       "no authorization for the extra name; §7.4 lists \"If the account is not authorized for "
       "the identifiers indicated in the CSR\")",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        auto ids = order.identifiers;
        ids.push_back(dns_id(ctx.new_domain("extra")));
        return refused_csr_4xx(ctx, *c, order, csr_b64u(ids, new_key()));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-missing-name",
       "A CSR naming less than the order is refused",
       "7.4",
       Level::Must,
       "Finalizing a two-name order with a CSR naming only one of them is refused (any 4xx) and "
       "issues nothing: RFC 8555 §7.4: \"The CSR MUST indicate the exact same set of requested "
       "identifiers as the initial newOrder request.\" (binds the client) and \"The server MUST "
       "return an error if it cannot fulfill the request as specified, and it MUST NOT issue a "
       "certificate with contents other than those requested.\" (the order asks for two names; "
       "§7.4 lists \"If the CSR and order identifiers differ\")",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order =
            ready_order(ctx, *c, {dns_id(ctx.new_domain("one")), dns_id(ctx.new_domain("two"))});
        return refused_csr_4xx(ctx, *c, order, csr_b64u({order.identifiers.front()}, new_key()));
      }));

  // RFC 8555 §11.1 refusal (MUST) and §7.4 error code (SHOULD) are two cases.
  out.push_back(rfc_case(
      {"rfc8555-11.1-csr-account-key",
       "The account key cannot be the certificate key",
       "11.1",
       Level::Must,
       "A finalize whose CSR's public key is the account key is refused (any 4xx; the problem "
       "type is the split case rfc8555-7.4-csr-account-key-badcsr) and issues nothing: "
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
        return refused_csr_4xx(ctx, *c, order, csr_b64u(order.identifiers, account_key));
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
       "(any 4xx; the type is the split case rfc8555-7.4-csr-not-der-type) and issues nothing: "
       "RFC 8555 §7.4: \"The server MUST return an error if it cannot fulfill the request as "
       "specified, and it MUST NOT issue a certificate with contents other than those "
       "requested.\" (64 random octets request no certificate; \"csr (required, string): A CSR "
       "encoding the parameters for the certificate being requested [RFC2986].\")",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        return refused_csr_4xx(ctx, *c, order, base64url_encode(random_bytes(64)));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-not-der-type",
       "A csr that is not a DER CSR is badCSR or malformed",
       "7.4",
       Level::Should,
       "The refusal of a base64url \"csr\" that does not decode to a PKCS#10 request is a problem "
       "document of type badCSR (malformed is accepted too, §6.7: \"The request message was "
       "malformed\"): RFC 8555 §7.4: \"In such cases, the problem document returned by the server "
       "SHOULD use error code \"badCSR\" and describe specific reasons the CSR was rejected in "
       "its \"detail\" field.\" (the refusal itself is the MUST case rfc8555-7.4-csr-not-der)",
       {"validation"},
       {"rfc8555-7.4-csr-not-der"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        return expect_problem(finalize_raw(*c, order, base64url_encode(random_bytes(64))), 0,
                              {"badCSR", "malformed"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-not-base64url",
       "A csr that is not base64url is refused",
       "7.4",
       Level::Must,
       "Finalizing with a \"csr\" that is not base64url is refused (any 4xx; the type is the "
       "split case rfc8555-7.4-csr-not-base64url-type) and issues nothing: RFC 8555 §7.4: \"The "
       "server MUST return an error if it cannot fulfill the request as specified, and it MUST "
       "NOT issue a certificate with contents other than those requested.\" (the field cannot be "
       "decoded: \"The CSR is sent in the base64url-encoded version of the DER format.\")",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        return refused_csr_4xx(ctx, *c, order, "MIIB+/this is not=base64url");
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-not-base64url-type",
       "A csr that is not base64url is malformed or badCSR",
       "7.4",
       Level::Should,
       "The refusal of a \"csr\" that is not base64url is a problem document of type badCSR "
       "(malformed is accepted too, §6.7: \"The request message was malformed\"): RFC 8555 §7.4: "
       "\"In such cases, the problem document returned by the server SHOULD use error code "
       "\"badCSR\" and describe specific reasons the CSR was rejected in its \"detail\" field.\" "
       "(the refusal itself is the MUST case rfc8555-7.4-csr-not-base64url)",
       {"validation"},
       {"rfc8555-7.4-csr-not-base64url"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        return expect_problem(finalize_raw(*c, order, "MIIB+/this is not=base64url"), 0,
                              {"malformed", "badCSR"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-csr-bad-signature",
       "A CSR with a broken self-signature is refused",
       "7.4",
       Level::May,
       "Finalizing with a CSR whose self-signature does not verify (no proof of possession of the "
       "key, RFC 2986 §3) is refused with a problem document and issues nothing; no BCP 14 "
       "keyword binds the server to verify it: RFC 8555 §7.4: \"A request to finalize an order "
       "will result in an error if the CA is unwilling to issue a certificate corresponding to "
       "the submitted CSR.\" and §10.5 lists \"Is the CSR signed with an acceptable "
       "algorithm?\" among the \"checks that a CA might need to perform\"",
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
       Level::May,
       "Finalizing a ready order answers 200 with the order (\"processing\" or \"valid\"), which "
       "becomes \"valid\" with a certificate URL; no BCP 14 keyword binds the server: RFC 8555 "
       "§7.4: \"If a request to finalize an order is successful, the server will return a 200 "
       "(OK) with an updated order object.\" and \"The order object returned by the server "
       "represents a promise that if the client fulfills the server's requirements before the "
       "\"expires\" time, then the server will be willing to finalize the order upon request and "
       "issue the requested certificate.\"",
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
       Level::May,
       "POST-as-GET of the certificate URL answers 200 with Content-Type "
       "application/pem-certificate-chain; no BCP 14 keyword binds the server to the default "
       "format: RFC 8555 §7.4.2: \"The default format of the certificate is "
       "application/pem-certificate-chain (see Section 9).\" (the paragraph's keyword is about "
       "the others: \"Server support for alternate formats is OPTIONAL.\"; §9.1's MUSTs bind the "
       "content of a file of this type, see rfc8555-7.4.2-certificate-chain)",
       {"validation"}},
      [](CaseContext& ctx) {
        http::Response r = raw_certificate_download(ctx);
        return first_failure(
            {expect_status(r, 200),
             check(media_type(r) == "application/pem-certificate-chain",
                   "Content-Type application/pem-certificate-chain",
                   "Content-Type " + r.header("content-type").value_or("(none)"))});
      }));

  out.push_back(rfc_case(
      {"rfc8555-9.1-certificate-strict-pem",
       "The certificate chain is strict PEM without explanatory text",
       "9.1",
       Level::Must,
       "The downloaded certificate body is one or more RFC 7468 strict textual CERTIFICATE "
       "blocks and nothing else (no text before, between or after them, no broken or truncated "
       "block): RFC 8555 §9.1: \"The textual encoding of certificates in this file MUST use the "
       "strict encoding and MUST NOT include explanatory text.\" (§9.1's ABNF \"certchain = "
       "stricttextualmsg *(eol stricttextualmsg)\" and its verified erratum 5983, \"certchain = "
       "stricttextualmsg *(stricttextualmsg)\", are both accepted)",
       {"validation"}},
      [](CaseContext& ctx) {
        http::Response r = raw_certificate_download(ctx);
        need_that(r.status == 200, "the certificate is downloaded (" + describe(r) + ")");
        auto chain = client::parse_pem_certificate_chain(r.body);
        return check(chain.ok(), "strict RFC 7468 CERTIFICATE blocks only",
                     chain.ok() ? "" : chain.error().detail);
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4.2-certificate-chain",
       "The chain starts with the requested leaf",
       "7.4.2",
       Level::Must,
       "The downloaded chain starts with the end-entity certificate for the CSR's key and the "
       "order's names (what follows it is the split case rfc8555-7.4.2-certificate-chain-issuers): "
       "RFC 8555 §9.1: \"In order to provide easy interoperation with TLS, the first certificate "
       "MUST be an end-entity certificate.\" and §7.4: \"it MUST NOT issue a certificate with "
       "contents other than those requested\"",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        std::vector<std::string> want;
        for (const auto& id : issued.order.identifiers) want.push_back(id.value);
        const auto names = issued.leaf.subject_alt_names().dns;
        return first_failure(
            {check(issued.leaf.public_key().equals(issued.key.public_key()),
                   "the first certificate certifies the CSR's key", "another key"),
             check(sorted(names) == sorted(want), "SAN dNSNames = the order's names",
                   "SANs " + Json(names).dump())});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4.2-certificate-chain-issuers",
       "Each chain certificate is certified by the next",
       "9.1",
       Level::Should,
       "In the downloaded chain, each certificate after the first signed the one before it (a "
       "chain of the end-entity certificate alone skips: nothing follows it): RFC 8555 §9.1: "
       "\"Each following certificate SHOULD directly certify the one preceding it.\" (and "
       "\"a certificate that represents a trust anchor MAY be omitted from the chain\")",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        std::vector<pki::Certificate> certs;
        for (const auto& der : issued.chain.der) {
          certs.push_back(need(pki::Certificate::from_der(der), "parse the chain"));
        }
        if (certs.size() < 2) {
          return Verdict::skip("the chain holds only the end-entity certificate");
        }
        for (std::size_t i = 1; i < certs.size(); ++i) {
          if (!certs[i - 1].signed_by(certs[i].public_key())) {
            return Verdict::fail(
                "certificate " + std::to_string(i) + " signed by certificate " +
                    std::to_string(i + 1),
                "it is not (" + std::to_string(certs.size()) + " certificates in the chain)");
          }
        }
        return Verdict::pass();
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-finalize-valid-order",
       "A valid order cannot be finalized again",
       "7.4",
       Level::Must,
       "Finalizing an order that is already \"valid\" answers 403 orderNotReady (that it keeps "
       "its certificate is the split case rfc8555-7.4-finalize-valid-order-unchanged): RFC 8555 "
       "§7.4: \"A request to finalize an order will result in error if the order is not in the "
       "\"ready\" state.  In such cases, the server MUST return a 403 (Forbidden) error with a "
       "problem document of type \"orderNotReady\".\"",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        return expect_problem(
            finalize_raw(*c, issued.order, csr_b64u(issued.order.identifiers, new_key())), 403,
            {"orderNotReady"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-finalize-valid-order-unchanged",
       "A second finalize leaves a valid order and its certificate",
       "7.4",
       Level::May,
       "After a finalize of an order that is already \"valid\", the order is still \"valid\" "
       "with the same certificate URL; no BCP 14 keyword states it: RFC 8555 §7.4.2: \"A "
       "certificate resource represents a single, immutable certificate.\" and §7.1.6: \"Once "
       "the certificate is issued, the order enters the \"valid\" state.\" (the refusal itself "
       "is the MUST case rfc8555-7.4-finalize-valid-order)",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto r = finalize_raw(*c, issued.order, csr_b64u(issued.order.identifiers, new_key()));
        auto after = need(c->get_order(issued.order.url), "fetch the order");
        return check(after.status == "valid" && after.certificate == issued.order.certificate,
                     "order still valid with certificate " + *issued.order.certificate,
                     after.raw.dump() + " after " + describe(r));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-retry-after-while-processing",
       "A processing order may suggest Retry-After",
       "7.4",
       Level::May,
       "While an order is \"processing\", its responses may carry Retry-After (checked when the "
       "order is seen processing); no BCP 14 keyword: RFC 8555 §7.4 says of \"processing\": \"The "
       "certificate is being issued.  Send a POST-as-GET request after the time given in the "
       "Retry-After header field of the response, if any.\"",
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
