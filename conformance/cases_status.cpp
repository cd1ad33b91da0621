// RFC 8555 §7.1.6 (status changes) and the status-dependent members of §7.1.3/§7.1.4:
// final states stay final, and each object only takes the statuses its machine allows.
#include <set>

#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

struct Failed {
  std::unique_ptr<client::AcmeClient> client;
  client::Order order;
  client::Authorization authz;
  client::Challenge challenge;
};

// An order whose only authorization failed (wrong key authorization).
Failed failed_order(CaseContext& ctx) {
  Failed f;
  f.client = ctx.shared_client();
  OfferedChallenge offered = offered_challenge(ctx, *f.client, validation_type(ctx));
  f.order = std::move(offered.order);
  f.authz = std::move(offered.authz);
  f.challenge = std::move(offered.challenge);
  provision_wrong_answer(ctx, f.authz, f.challenge);
  need(f.client->respond_challenge(f.challenge.url), "respond to the challenge");
  f.authz = settle_authz(ctx, *f.client, f.authz.url);
  need_that(f.authz.status == "invalid",
            "the authorization failed (it is \"" + f.authz.status + "\")");
  return f;
}

// The order of a certificate just issued, as fetched afterwards ("valid").
Json valid_order(CaseContext& ctx) {
  auto c = ctx.shared_client();
  Issued issued = issue_certificate(ctx, *c);
  return fetch_json(*c, issued.order.url, "the order");
}

}  // namespace

void add_status_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-7.1.6-invalid-challenge-is-final",
       "An invalid challenge stays invalid",
       "7.1.6",
       Level::May,
       "After a challenge became \"invalid\", answering it again with the correct key "
       "authorization does not make it (or its authorization) valid. There is no BCP 14 keyword "
       "(no BCP 14 keyword binds the server): the "
       "state machine of RFC 8555 §7.1.6 has no way out of \"invalid\" (\"If validation is "
       "successful, the challenge moves to the \"valid\" state; if there is an error, the "
       "challenge moves to the \"invalid\" state.\" and \"If the client attempts to fulfill a "
       "challenge and fails, or if there is an error while the authorization is still pending, "
       "then the authorization transitions to the \"invalid\" state.\") but states it without a "
       "keyword.",
       {"validation"}},
      [](CaseContext& ctx) {
        Failed f = failed_order(ctx);
        provision_challenge(ctx, *f.client, f.authz, f.challenge);
        auto again = post_retrying(*f.client, f.challenge.url, Json::object());
        (void)again;  // refused or ignored; the states are what matter
        ctx.pause(std::chrono::milliseconds(300));
        auto ch = need(f.client->get_challenge(f.challenge.url), "fetch the challenge");
        auto authz = need(f.client->get_authz(f.authz.url), "fetch the authorization");
        return first_failure({check(ch.status == "invalid", "challenge still \"invalid\"",
                                    "challenge \"" + ch.status + "\""),
                              check(authz.status == "invalid", "authorization still \"invalid\"",
                                    "authorization \"" + authz.status + "\"")});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.6-deactivated-authz-is-final",
       "A deactivated authorization stays deactivated",
       "7.1.6",
       Level::May,
       "Answering a challenge of a deactivated authorization (correctly) does not make the "
       "authorization valid. There is no BCP 14 keyword (no BCP 14 keyword binds the server): RFC "
       "8555 §7.1.6 lists \"deactivated\" as a "
       "final state (\"The order also moves to the \"invalid\" state if it expires or one of "
       "its authorizations enters a final state other than \"valid\" (\"expired\", \"revoked\", "
       "or \"deactivated\").\"); the MUST about deactivated authorizations, \"The server MUST NOT "
       "treat deactivated authorization objects as sufficient for issuing certificates.\" "
       "(§7.5.2), is rfc8555-7.1.6-deactivated-authz-blocks-order.",
       {"validation"},
       {"rfc8555-7.5.2-deactivate-authorization"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        OfferedChallenge o = offered_challenge(ctx, *c, validation_type(ctx));
        need(c->deactivate_authz(o.authz.url), "deactivate the authorization");
        provision_challenge(ctx, *c, o.authz, o.challenge);
        auto answer = post_retrying(*c, o.challenge.url, Json::object());
        (void)answer;
        ctx.pause(std::chrono::milliseconds(300));
        auto after = need(c->get_authz(o.authz.url), "fetch the authorization");
        return check(after.status == "deactivated", "authorization still \"deactivated\"",
                     "authorization \"" + after.status + "\"");
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.6-deactivated-authz-blocks-order",
       "A deactivated authorization no longer lets its order be finalized",
       "7.1.6",
       Level::Must,
       "An order made \"ready\" by a valid authorization is not finalized once that "
       "authorization is deactivated (the only thing that changed): finalize is refused; when the "
       "order no longer reads \"ready\" the refusal is 403 orderNotReady: RFC 8555 §7.5.2: \"The "
       "server MUST NOT treat deactivated authorization objects as sufficient for issuing "
       "certificates.\" and §7.4: \"A request to finalize an order will result in error if the "
       "order is not in the \"ready\" state.  In such cases, the server MUST return a 403 "
       "(Forbidden) error with a problem document of type \"orderNotReady\".\"",
       {"validation"},
       {"rfc8555-7.5.2-deactivate-authorization"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = ready_order(ctx, *c);
        auto deactivated = c->deactivate_authz(order.authorizations.front());
        if (!deactivated && deactivated.error().status / 100 == 4) {
          return Verdict::skip("the target does not deactivate a valid authorization (" +
                               describe(deactivated.error()) + "); §7.5.2 does not bind it to");
        }
        need(deactivated, "deactivate the valid authorization");
        if (deactivated->status != "deactivated") {
          return Verdict::skip("the target left the valid authorization \"" + deactivated->status +
                               "\" when asked to deactivate it");
        }
        auto after = need(c->get_order(order.url), "fetch the order");
        auto key = need(pki::PrivateKey::generate(pki::KeySpec::p256()), "generate a key");
        auto r = post_retrying(
            *c, order.finalize,
            Json{{"csr", base64url_encode(csr_for(order.identifiers, key).to_der())}});
        need_that(r.ok(), "finalize is answered: " + describe(r));
        if (r->status / 100 == 2) {
          return Verdict::fail("finalize refused (the order's authorization is deactivated)",
                               describe(r));
        }
        if (after.status == "ready") {
          return Verdict::pass("finalize refused (" + describe(r) +
                               ") though the order still reads \"ready\" (§7.1.6's move to "
                               "\"invalid\" has no BCP 14 keyword)");
        }
        return expect_problem(r, 403, {"orderNotReady"});
      }));

  out.push_back(
      rfc_case({"rfc8555-7.1.6-invalid-order-cannot-finalize",
                "An invalid order cannot be finalized",
                "7.1.6",
                Level::Must,
                "Finalizing an order that became \"invalid\" answers 403 orderNotReady: RFC 8555 "
                "§7.4: \"A request to finalize an order will result in error if the order is not "
                "in the \"ready\" state.  In such cases, the server MUST return a 403 "
                "(Forbidden) error with a problem document of type \"orderNotReady\".\"",
                {"validation"}},
               [](CaseContext& ctx) {
                 Failed f = failed_order(ctx);
                 auto key = need(pki::PrivateKey::generate(pki::KeySpec::p256()), "generate a key");
                 auto r = post_retrying(
                     *f.client, f.order.finalize,
                     Json{{"csr", base64url_encode(csr_for(f.order.identifiers, key).to_der())}});
                 return expect_problem(r, 403, {"orderNotReady"});
               }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.3-valid-order-members",
       "A valid order has an expiry",
       "7.1.3",
       Level::Must,
       "An order in status \"valid\" carries \"expires\" in RFC 3339 form: RFC 8555 §7.1.3: "
       "\"expires (optional, string): The timestamp after which the server will consider this "
       "order invalid, encoded in the format specified in [RFC3339].  This field is REQUIRED for "
       "objects with \"pending\" or \"valid\" in the status field.\" (the certificate URL is the "
       "split case rfc8555-7.1.3-valid-order-certificate)",
       {"validation"}},
      [](CaseContext& ctx) {
        const Json order = valid_order(ctx);
        const std::string* expires = get_string(order, "expires");
        return check(expires && looks_like_rfc3339(*expires), "\"expires\" in RFC 3339 form",
                     order.dump());
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.3-valid-order-certificate",
       "A valid order links its certificate",
       "7.1.3",
       Level::May,
       "An order in status \"valid\" carries its \"certificate\" URL. There is no BCP 14 keyword "
       "(no BCP 14 keyword binds the server): RFC "
       "8555 §7.1.3: \"certificate (optional, string): A URL for the certificate that has been "
       "issued in response to this order.\"",
       {"validation"}},
      [](CaseContext& ctx) {
        const Json order = valid_order(ctx);
        return check(get_string(order, "certificate") != nullptr, "a \"certificate\" URL",
                     order.dump());
      }));

  out.push_back(rfc_case({"rfc8555-7.1.4-valid-authz-expires",
                          "A valid authorization has an expiry",
                          "7.1.4",
                          Level::Must,
                          "An authorization in status \"valid\" carries \"expires\" (RFC 3339): "
                          "RFC 8555 §7.1.4: \"expires (optional, string): The timestamp after "
                          "which the server will consider this authorization invalid, encoded in "
                          "the format specified in [RFC3339].  This field is REQUIRED for objects "
                          "with \"valid\" in the \"status\" field.\"",
                          {"validation"}},
                         [](CaseContext& ctx) {
                           auto c = ctx.shared_client();
                           auto authz = validated_first_authz(ctx, *c);
                           return check(authz.expires && looks_like_rfc3339(*authz.expires),
                                        "\"expires\" in RFC 3339 form",
                                        authz.raw.contains("expires") ? authz.raw["expires"].dump()
                                                                      : "no \"expires\"");
                         }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.6-status-vocabulary",
       "Objects only take the statuses of their state machine",
       "7.1.6",
       Level::May,
       "Through a whole issuance, orders are pending/ready/processing/valid/invalid, "
       "authorizations pending/valid/invalid/deactivated/expired/revoked and challenges "
       "pending/processing/valid/invalid. There is no BCP 14 keyword (no BCP 14 keyword binds the "
       "server): RFC 8555 §7.1.3: \"status "
       "(required, string): The status of this order.  Possible values are \"pending\", "
       "\"ready\", \"processing\", \"valid\", and \"invalid\".\" (likewise §7.1.4 and §8; "
       "\"required\" is lower case).",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        issue_certificate(ctx, *c);
        const std::set<std::string> order_states = {"pending", "ready", "processing", "valid",
                                                    "invalid"};
        const std::set<std::string> authz_states = {"pending",     "valid",   "invalid",
                                                    "deactivated", "expired", "revoked"};
        const std::set<std::string> challenge_states = {"pending", "processing", "valid",
                                                        "invalid"};
        for (const auto& e : ctx.wire_log().exchanges()) {
          auto body = parse_json(e.response_body);
          if (!body || !body->is_object() || !body->contains("status") ||
              !(*body)["status"].is_string())
            continue;
          const std::string status = (*body)["status"].get<std::string>();
          const std::set<std::string>* allowed = nullptr;
          std::string kind;
          if (body->contains("finalize")) {
            allowed = &order_states;
            kind = "order";
          } else if (body->contains("challenges")) {
            allowed = &authz_states;
            kind = "authorization";
          } else if (body->contains("token") || (body->contains("type") && body->contains("url"))) {
            allowed = &challenge_states;
            kind = "challenge";
          }
          if (allowed != nullptr && allowed->count(status) == 0) {
            return Verdict::fail("a " + kind + " status of RFC 8555 §7.1.6",
                                 kind + " status \"" + status + "\" from " + e.url);
          }
        }
        return Verdict::pass();
      }));
}

}  // namespace attestlab::conformance
