// RFC 8555 §7.6 (certificate revocation). Whether a certificate is revoked is observed
// through revokeCert itself: a revoked certificate is answered alreadyRevoked.
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

const std::vector<std::string> kCaps = {"revocation", "validation"};

Json revoke_payload(const pki::Certificate& cert, std::optional<int> reason = std::nullopt) {
  Json p = {{"certificate", base64url_encode(cert.to_der())}};
  if (reason) p["reason"] = *reason;
  return p;
}

std::string revoke_url(client::AcmeClient& c) {
  return need(c.directory(), "fetch the directory").revoke_cert;
}

// revokeCert by the client's account.
Result<http::Response> revoke_by_account(client::AcmeClient& c, const pki::Certificate& cert,
                                         std::optional<int> reason = std::nullopt) {
  return post_retrying(c, revoke_url(c), revoke_payload(cert, reason));
}

// revokeCert signed by `key` with a "jwk" header.
Result<http::Response> revoke_by_key(client::AcmeClient& c, const pki::Certificate& cert,
                                     std::shared_ptr<const client::JwsSigner> key) {
  client::RawPostOptions o;
  o.signer = std::move(key);
  return post_raw_retrying(c, revoke_url(c), Json::object(), revoke_payload(cert).dump(), o);
}

// Whether the certificate is (now) revoked, as far as ACME shows it: another revocation by
// its owner. A refusal (4xx) confirms it; any other answer is noted, never failed: RFC 8555
// §7.6 only says "If the revocation fails, the server returns an error.", and a server that
// answers a repeated revocation with 200 (idempotent) or an error type of its own breaks no
// keyword (alreadyRevoked is §7.6's keyword-less example, rfc8555-7.6-already-revoked, May).
Verdict is_revoked(client::AcmeClient& owner, const pki::Certificate& cert) {
  auto r = revoke_by_account(owner, cert);
  if (r && r->status >= 400 && r->status < 500)
    return Verdict::pass("revocation confirmed: a second revocation is refused");
  return Verdict::pass("revocation not confirmed by ACME: a second revocation answered " +
                       describe(r));
}

// The certificate is still not revoked: its owner can revoke it now.
Verdict still_revocable(client::AcmeClient& owner, const pki::Certificate& cert) {
  auto r = revoke_by_account(owner, cert);
  return check(r && r->status / 100 == 2, "the owner can still revoke it (it was not revoked)",
               describe(r));
}

// revokeCert by the owner with `reason` is refused with badRevocationReason and revokes
// nothing.
Verdict reason_refused(CaseContext& ctx, int reason) {
  auto c = ctx.shared_client();
  Issued issued = issue_certificate(ctx, *c);
  auto r = revoke_by_account(*c, issued.leaf, reason);
  return first_failure(
      {expect_problem(r, 0, {"badRevocationReason"}), still_revocable(*c, issued.leaf)});
}

}  // namespace

void add_revocation_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-7.6-revoke-by-account", "The issuing account can revoke", "7.6", Level::Must,
       "revokeCert signed by the account that obtained the certificate succeeds (2xx) and revokes "
       "it (a second revocation is refused): RFC 8555 §7.6: \"The server MUST consider at least "
       "the "
       "following accounts authorized for a given certificate:\" \"the account that issued the "
       "certificate.\" (\"If the revocation succeeds, the server responds with status code 200 "
       "(OK).\" has no keyword, so any 2xx is success)",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto r = revoke_by_account(*c, issued.leaf);
        return first_failure({expect_success(r), is_revoked(*c, issued.leaf)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.6-revoke-by-certificate-key", "The certificate key can revoke", "7.6",
       Level::Must,
       "revokeCert signed by the certificate's own key (\"jwk\" header) succeeds (2xx) "
       "and revokes it: RFC 8555 §7.6: \"The server MUST also consider a revocation request "
       "valid if it is signed with the private key corresponding to the public key in "
       "the certificate.\"",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto other = ctx.client("cert-key");
        auto r = revoke_by_key(*other, issued.leaf, client::make_signer(issued.key));
        return first_failure({expect_success(r), is_revoked(*c, issued.leaf)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.6-already-revoked", "Revoking twice is alreadyRevoked", "7.6", Level::May,
       "revokeCert for a certificate that is already revoked answers 400 alreadyRevoked; no BCP 14 "
       "keyword: RFC 8555 §7.6: \"For example, if the certificate has already been revoked, the "
       "server returns an error response with status code 400 (Bad Request) and type "
       "\"urn:ietf:params:acme:error:alreadyRevoked\".\"",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto first = revoke_by_account(*c, issued.leaf);
        need_that(first && first->status / 100 == 2,
                  "the first revocation succeeds (" + describe(first) + ")");
        return expect_problem(revoke_by_account(*c, issued.leaf), 400, {"alreadyRevoked"});
      }));

  struct BadReason {
    std::string id, title, requirement;
    int reason;
  };
  for (const auto& b : std::vector<BadReason>{
           {"rfc8555-7.6-reason-unused-7", "Reason code 7 is refused",
            "revokeCert with reason 7 (not a CRLReason: RFC 5280 leaves it unused, so it is "
            "never an allowed reasonCode) is refused with badRevocationReason and does not "
            "revoke: RFC 8555 §7.6: \"If a request contains a disallowed reasonCode, then the "
            "server MUST reject it with the error type "
            "\"urn:ietf:params:acme:error:badRevocationReason\".\" (\"reason (optional, int): One "
            "of the revocation reasonCodes defined in Section 5.3.1 of [RFC5280] to be used when "
            "generating OCSP responses and CRLs.\")",
            7},
           {"rfc8555-7.6-reason-out-of-range", "An unknown reason code is refused",
            "revokeCert with reason 11 (no such CRLReason, so it is never an allowed reasonCode) "
            "is refused with badRevocationReason and does not revoke: RFC 8555 §7.6: \"If a "
            "request contains a disallowed reasonCode, then the server MUST reject it with the "
            "error type \"urn:ietf:params:acme:error:badRevocationReason\".\" (\"reason "
            "(optional, int): One of the revocation reasonCodes defined in Section 5.3.1 of "
            "[RFC5280] to be used when generating OCSP responses and CRLs.\")",
            11},
       }) {
    out.push_back(
        rfc_case({b.id, b.title, "7.6", Level::Must, b.requirement, kCaps},
                 [reason = b.reason](CaseContext& ctx) { return reason_refused(ctx, reason); }));
  }

  out.push_back(rfc_case(
      {"rfc8555-7.6-revoke-with-reason", "A valid reason code is accepted or badRevocationReason",
       "7.6", Level::Must,
       "revokeCert with reason 4 (superseded) succeeds (2xx) and revokes, or is refused as "
       "disallowed: \"The server MAY disallow a subset of reasonCodes from being used by the "
       "user.\" \"If a request contains a disallowed reasonCode, then the server MUST reject it "
       "with the error type \"urn:ietf:params:acme:error:badRevocationReason\".\"",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Issued issued = issue_certificate(ctx, *c);
        auto r = revoke_by_account(*c, issued.leaf, 4);
        if (r && r->status / 100 != 2) return expect_problem(r, 0, {"badRevocationReason"});
        return first_failure({expect_success(r), is_revoked(*c, issued.leaf)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.6-unauthorized-account", "An unrelated account cannot revoke", "7.6", Level::Must,
       "revokeCert by an account that neither obtained the certificate nor holds authorizations "
       "for its names is refused (any 4xx; the unauthorized type is not required) and does not "
       "revoke: RFC 8555 §7.6: \"Before revoking a certificate, the server MUST verify that the "
       "key used to sign the request is authorized to revoke the certificate.\"",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client("owner");
        Issued issued = issue_certificate(ctx, *c);
        auto other = ctx.client("attacker");
        ctx.new_account(*other);
        auto r = revoke_by_account(*other, issued.leaf);
        return first_failure({expect_refused(r), still_revocable(*c, issued.leaf)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.6-unrelated-key", "A key unrelated to the certificate cannot revoke", "7.6",
       Level::Must,
       "revokeCert signed (\"jwk\") by a key that is neither the certificate key nor an account "
       "key with authority is refused and does not revoke: RFC 8555 §7.6: \"Before revoking a "
       "certificate, the server MUST verify that the key used to sign the request is authorized "
       "to revoke the certificate.\"",
       kCaps},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client("owner");
        Issued issued = issue_certificate(ctx, *c);
        auto other = ctx.client("attacker");
        auto r = revoke_by_key(*other, issued.leaf, fresh_signer());
        return first_failure({expect_refused(r), still_revocable(*c, issued.leaf)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.6-account-with-authorizations", "An account authorized for all names can revoke",
       "7.6", Level::Must,
       "revokeCert by another account that holds valid authorizations for every name in the "
       "certificate succeeds (2xx) and revokes it: RFC 8555 §7.6: \"The server MUST consider at "
       "least the following accounts authorized for a given certificate:\" \"an account that "
       "holds authorizations for all of the identifiers in the certificate.\"",
       kCaps},
      [](CaseContext& ctx) {
        auto owner = ctx.shared_client("owner");
        Issued issued = issue_certificate(ctx, *owner);
        auto other = ctx.client("authorized");
        ctx.new_account(*other);
        ready_order(ctx, *other, issued.order.identifiers);
        auto r = revoke_by_account(*other, issued.leaf);
        return first_failure({expect_success(r), is_revoked(*owner, issued.leaf)});
      }));

  out.push_back(
      rfc_case({"rfc8555-7.6-malformed-certificate",
                "A certificate that does not parse is refused",
                "7.6",
                Level::May,
                "revokeCert whose \"certificate\" is not a DER certificate is refused with a "
                "problem document; binds the client: RFC 8555 §7.6: \"certificate (required, "
                "string): The certificate to be revoked, in the base64url-encoded version of the "
                "DER format.\" (no sentence says the server MUST reject it; \"If the "
                "revocation fails, the server returns an error.\" has no BCP 14 keyword)",
                {"revocation"}},
               [](CaseContext& ctx) {
                 auto c = ctx.shared_client();
                 return expect_problem(
                     post_retrying(*c, revoke_url(*c),
                                   Json{{"certificate", base64url_encode(random_bytes(48))}}),
                     0, {});
               }));
}

}  // namespace attestlab::conformance
