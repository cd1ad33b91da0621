// RFC 8555 §6.3 (GET and POST-as-GET requests).
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"

namespace attestlab::conformance {
namespace {

// A plain GET on url answers 405 malformed.
Verdict get_refused(client::AcmeClient& c, const std::string& url) {
  return expect_problem(need(c.get(url), "GET " + url), 405, {"malformed"});
}

Case get_405_case(const std::string& resource, const std::string& id_suffix,
                  std::function<std::string(CaseContext&, client::AcmeClient&)> url_of,
                  std::vector<std::string> caps = {}) {
  return rfc_case({"rfc8555-6.3-get-" + id_suffix + "-405", "GET on " + resource + " is 405", "6.3",
                   Level::Must,
                   "A plain GET (no JWS) on " + resource +
                       " answers 405 (Method Not Allowed) with type malformed: RFC 8555 §6.3: "
                       "\"Except for the cases described in this section, if the server receives "
                       "a GET request, it MUST return an error with status code 405 (Method Not "
                       "Allowed) and type \"malformed\".\"",
                   std::move(caps)},
                  [url_of](CaseContext& ctx) {
                    auto c = ctx.shared_client();
                    return get_refused(*c, url_of(ctx, *c));
                  });
}

}  // namespace

void add_post_as_get_cases(CaseList& out) {
  out.push_back(get_405_case("an order", "order", [](CaseContext& ctx, client::AcmeClient& c) {
    return create_order(ctx, c).url;
  }));
  out.push_back(get_405_case("an authorization", "authorization",
                             [](CaseContext& ctx, client::AcmeClient& c) {
                               return create_order(ctx, c).authorizations.front();
                             }));
  out.push_back(
      get_405_case("a challenge", "challenge", [](CaseContext& ctx, client::AcmeClient& c) {
        client::Order order = create_order(ctx, c);
        auto authz = need(c.get_authz(order.authorizations.front()), "fetch the authorization");
        need_that(!authz.challenges.empty(), "the authorization has challenges");
        return authz.challenges.front().url;
      }));
  out.push_back(get_405_case("the account", "account",
                             [](CaseContext&, client::AcmeClient& c) { return c.account_url(); }));
  out.push_back(
      get_405_case("the orders list", "orders-list", [](CaseContext&, client::AcmeClient& c) {
        Json account = fetch_json(c, c.account_url(), "the account");
        const std::string* orders = get_string(account, "orders");
        need_that(orders != nullptr, "the account has an orders URL");
        return *orders;
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.3-post-as-get-order", "POST-as-GET fetches an order", "6.3", Level::Must,
       "A POST-as-GET (signed, empty payload) on the order URL answers 200 with the order: "
       "RFC 8555 §6.3: \"On receiving a request with a zero-length (and thus non-JSON) payload, "
       "the server MUST authenticate the sender and verify any access control rules. Otherwise, "
       "the server MUST treat this request as having the same semantics as a GET request for the "
       "same resource.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        auto r = post_retrying(*c, order.url, std::nullopt);
        auto body = r ? json_body(*r) : std::nullopt;
        return first_failure({expect_status(r, 200), check(body && body->contains("status") &&
                                                               body->contains("identifiers"),
                                                           "the order object", describe(r))});
      }));

  out.push_back(rfc_case({"rfc8555-6.3-directory-get", "GET on the directory works", "6.3",
                          Level::Must,
                          "The directory is served to a plain GET with 200: RFC 8555 §6.3: \"The "
                          "server MUST allow GET requests for the directory and newNonce resources "
                          "(see Section 7.1), in addition to POST-as-GET requests for these "
                          "resources.\""},
                         [](CaseContext& ctx) {
                           auto c = ctx.client();
                           return expect_status(
                               need(c->get(ctx.target().directory_url), "GET the directory"), 200);
                         }));

  out.push_back(rfc_case(
      {"rfc8555-7.5.1-post-as-get-does-not-validate",
       "POST-as-GET on a challenge does not start validation",
       "7.5.1",
       Level::Must,
       "Fetching a challenge with POST-as-GET returns it without triggering validation: it stays "
       "\"pending\" and the target does not contact the http-01 responder (a GET is safe; only "
       "a POST of \"{}\" says the client is ready): RFC 8555 §6.3: \"Otherwise, the server MUST "
       "treat this request as having the same semantics as a GET request for the same "
       "resource.\"",
       {"http-01"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        OfferedChallenge o = offered_challenge(ctx, *c, "http-01");
        provision_challenge(ctx, *c, o.authz, o.challenge);
        auto r = post_retrying(*c, o.challenge.url, std::nullopt);
        ctx.pause(std::chrono::milliseconds(400));
        auto after = need(c->get_challenge(o.challenge.url), "fetch the challenge");
        return first_failure(
            {expect_status(r, 200),
             check(after.status == "pending", "challenge still \"pending\"",
                   "challenge \"" + after.status + "\""),
             check(ctx.http01().hits(o.challenge.token) == 0, "no validation request",
                   std::to_string(ctx.http01().hits(o.challenge.token)) +
                       " request(s) for the token")});
      }));
}

}  // namespace attestlab::conformance
