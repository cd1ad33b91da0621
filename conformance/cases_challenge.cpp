// RFC 8555 §8.3 (http-01), §8.4 (dns-01), §7.5.1 (responding to challenges), §7.1.5
// (challenge objects), §7.1.6 (what a failed validation does to authz and order).
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"

namespace attestlab::conformance {
namespace {

struct Attempt {
  std::unique_ptr<client::AcmeClient> client;
  client::Order order;
  client::Authorization authz;                                                // before responding
  client::Challenge challenge;                                                // before responding
  Result<client::Challenge> answer = Error::make("clientUsage", "not sent");  // the POST's answer
  client::Authorization final_authz;                                          // after polling
};

// An order for one identifier; `serve` provisions (or not) the answer for `type`; then the
// challenge is answered and the authorization polled until it leaves "pending".
Attempt attempt(CaseContext& ctx, const std::string& type,
                const std::function<void(Attempt&)>& serve,
                std::vector<client::Identifier> ids = {}) {
  Attempt a;
  a.client = ctx.shared_client();
  OfferedChallenge offered = offered_challenge(ctx, *a.client, type, std::move(ids));
  a.order = std::move(offered.order);
  a.authz = std::move(offered.authz);
  a.challenge = std::move(offered.challenge);
  serve(a);
  a.answer = a.client->respond_challenge(a.challenge.url);
  need_that(a.answer.ok(), "the challenge response is accepted (" +
                               (a.answer.ok() ? std::string() : describe(a.answer.error())) + ")");
  a.final_authz = settle_authz(ctx, *a.client, a.authz.url);
  return a;
}

// An attempt at `type` with the right answer (the key authorization) served.
Attempt right_answer(CaseContext& ctx, const std::string& type) {
  return attempt(ctx, type,
                 [&](Attempt& a) { provision_challenge(ctx, *a.client, a.authz, a.challenge); });
}

// An attempt at `type` with the answer for another account key served.
Attempt wrong_answer(CaseContext& ctx, const std::string& type) {
  return attempt(ctx, type, [&](Attempt& a) { provision_wrong_answer(ctx, a.authz, a.challenge); });
}
Attempt wrong_answer(CaseContext& ctx) {
  return wrong_answer(ctx, validation_type(ctx));
}

Verdict challenge_is(client::AcmeClient& c, const std::string& url, const std::string& status) {
  auto ch = need(c.get_challenge(url), "fetch the challenge");
  return check(ch.status == status, "challenge \"" + status + "\"",
               "challenge \"" + ch.status + "\"" + (ch.error ? " error " + ch.error->dump() : ""));
}

Verdict authz_is(const Attempt& a, const std::string& status) {
  return check(a.final_authz.status == status, "authorization \"" + status + "\"",
               "authorization \"" + a.final_authz.status + "\"");
}

// After the right answer: challenge and authorization valid, the order (settled) ready.
Verdict valid_and_ready(CaseContext& ctx, const Attempt& a) {
  client::Order order = settle_order(ctx, *a.client, a.order.url);
  return first_failure(
      {challenge_is(*a.client, a.challenge.url, "valid"), authz_is(a, "valid"),
       check(order.status == "ready", "order \"ready\"", "order \"" + order.status + "\"")});
}

// Answers http-01 with a responder that holds its answer back, and polls the authorization
// while the validation is still running.
Result<http::Response> poll_during_validation(CaseContext& ctx) {
  auto c = ctx.shared_client();
  OfferedChallenge o = offered_challenge(ctx, *c, "http-01");
  ctx.http01().provide(o.challenge.token, c->key_authorization(o.challenge.token),
                       std::chrono::milliseconds(1500));
  need(c->respond_challenge(o.challenge.url), "respond to the challenge");
  ctx.pause(std::chrono::milliseconds(200));
  return post_retrying(*c, o.authz.url, std::nullopt);
}

}  // namespace

void add_challenge_cases(CaseList& out) {
  out.push_back(
      rfc_case({"rfc8555-8.3-http01-valid",
                "http-01 with the right key authorization validates",
                "8.3",
                Level::May,
                "The server fetches http://NAME/.well-known/acme-challenge/TOKEN and, on the key "
                "authorization, marks the challenge and authorization valid and the order ready; "
                "no BCP 14 keyword binds the server to succeed: RFC 8555 §8.3: \"If all of the "
                "above verifications succeed, then the validation is successful.\" (§8: \"The "
                "choice of which challenges to offer to a client under which circumstances is a "
                "matter of server policy.\")",
                {"http-01"}},
               [](CaseContext& ctx) {
                 Attempt a = right_answer(ctx, "http-01");
                 const int hits = ctx.http01().hits(a.challenge.token);
                 return first_failure({check(hits > 0, "the server fetched the key authorization",
                                             "no request reached the responder"),
                                       valid_and_ready(ctx, a)});
               }));

  out.push_back(rfc_case(
      {"rfc8555-8.3-http01-wrong-key-authorization",
       "http-01 with a wrong key authorization fails",
       "8.3",
       Level::Must,
       "A key authorization for another account key makes the challenge \"invalid\" with an "
       "error: RFC 8555 §8.2: \"The server MUST add an entry to the \"error\" field in the "
       "challenge after each failed validation query.\" and §8: \"A challenge object with an error "
       "MUST have status equal to \"invalid\".\" (§8.3: \"If the request fails, or the body does "
       "not pass these checks, then it has failed.\")",
       {"http-01"},
       {"rfc8555-8.3-http01-valid"}},  // a refusal shows something only where validation works
      [](CaseContext& ctx) {
        Attempt a = wrong_answer(ctx, "http-01");
        auto ch = need(a.client->get_challenge(a.challenge.url), "fetch the challenge");
        return first_failure(
            {check(ch.status == "invalid", "challenge \"invalid\"",
                   "challenge \"" + ch.status + "\""),
             check(ch.error.has_value() && ch.error->is_object() && ch.error->contains("type"),
                   "an \"error\" problem object on the challenge",
                   ch.raw.contains("error") ? ch.raw["error"].dump() : "no \"error\"")});
      }));

  out.push_back(
      rfc_case({"rfc8555-7.1.6-failed-challenge-invalidates-authz",
                "A failed challenge makes the authorization invalid",
                "7.1.6",
                Level::May,
                "When the only challenge attempted fails, the authorization becomes \"invalid\"; "
                "no BCP 14 keyword: RFC 8555 §7.1.6: \"If the client attempts to fulfill a "
                "challenge and fails, or if there is an error while the authorization is still "
                "pending, then the authorization transitions to the \"invalid\" state.\"",
                {"validation"}},
               [](CaseContext& ctx) {
                 Attempt a = wrong_answer(ctx);
                 return authz_is(a, "invalid");
               }));

  out.push_back(
      rfc_case({"rfc8555-7.1.6-invalid-authz-invalidates-order",
                "An invalid authorization makes the order invalid",
                "7.1.6",
                Level::May,
                "An order one of whose authorizations became invalid becomes \"invalid\"; no BCP "
                "14 keyword: RFC 8555 §7.1.6: \"The order also moves to the \"invalid\" state if "
                "it expires or one of its authorizations enters a final state other than "
                "\"valid\" (\"expired\", \"revoked\", or \"deactivated\").\"",
                {"validation"},
                {"rfc8555-7.1.6-failed-challenge-invalidates-authz"}},
               [](CaseContext& ctx) {
                 Attempt a = wrong_answer(ctx);
                 need_that(a.final_authz.status == "invalid", "the authorization became invalid");
                 client::Order order = settle_order(ctx, *a.client, a.order.url);
                 return check(order.status == "invalid", "order \"invalid\"",
                              "order \"" + order.status + "\"");
               }));

  out.push_back(rfc_case({"rfc8555-8.3-http01-not-served",
                          "http-01 without an answer fails",
                          "8.3",
                          Level::Must,
                          "When the challenge URL answers 404, the challenge becomes "
                          "\"invalid\": RFC 8555 §8.2: \"The server MUST add an entry to the "
                          "\"error\" field in the challenge after each failed validation "
                          "query.\" and §8: \"A challenge object with an error MUST have status "
                          "equal to \"invalid\".\" (§8.3: \"If the request fails, or the body "
                          "does not pass these checks, then it has failed.\")",
                          {"http-01"},
                          {"rfc8555-8.3-http01-valid"}},
                         [](CaseContext& ctx) {
                           Attempt a = attempt(ctx, "http-01", [](Attempt&) {});
                           return challenge_is(*a.client, a.challenge.url, "invalid");
                         }));

  out.push_back(rfc_case(
      {"rfc8555-8.3-http01-trailing-whitespace",
       "http-01 tolerates trailing whitespace",
       "8.3",
       Level::Should,
       "A key authorization followed by a newline validates: \"The server SHOULD "
       "ignore whitespace characters at the end of the body.\"",
       {"http-01"}},
      [](CaseContext& ctx) {
        Attempt a = attempt(ctx, "http-01", [&](Attempt& x) {
          ctx.http01().provide(x.challenge.token,
                               x.client->key_authorization(x.challenge.token) + "\r\n \n");
        });
        return authz_is(a, "valid");
      }));

  out.push_back(rfc_case(
      {"rfc8555-8.4-dns01-valid",
       "dns-01 with the right TXT record validates",
       "8.4",
       Level::May,
       "With base64url(SHA-256(key authorization)) at _acme-challenge.NAME, the challenge and "
       "authorization become valid and the order ready; no BCP 14 keyword binds the server to "
       "succeed: RFC 8555 §8.4: \"If all of the above verifications succeed, then the validation "
       "is successful.\" (§8: \"The choice of which challenges to offer to a client under which "
       "circumstances is a matter of server policy.\")",
       {"dns-01"}},
      [](CaseContext& ctx) {
        Attempt a = right_answer(ctx, "dns-01");
        return valid_and_ready(ctx, a);
      }));

  out.push_back(rfc_case(
      {"rfc8555-8.4-dns01-wrong-value",
       "dns-01 with a wrong TXT record fails",
       "8.4",
       Level::Must,
       "A TXT record for another account key's key authorization makes the challenge "
       "\"invalid\": RFC 8555 §8.2: \"The server MUST add an entry to the \"error\" field "
       "in the challenge after each failed validation query.\" and §8: \"A challenge object "
       "with an error MUST have status equal to \"invalid\".\" (§8.4: \"If no DNS record "
       "is found, or DNS record and response payload do not pass these checks, then the "
       "validation fails.\")",
       {"dns-01"},
       {"rfc8555-8.4-dns01-valid"}},
      [](CaseContext& ctx) {
        Attempt a = wrong_answer(ctx, "dns-01");
        // The authorization's "invalid" is §7.1.6's keyword-less transition, judged by
        // rfc8555-7.1.6-failed-challenge-invalidates-authz (May), not here.
        return challenge_is(*a.client, a.challenge.url, "invalid");
      }));

  out.push_back(rfc_case(
      {"rfc8555-8.4-dns01-wildcard",
       "A wildcard name validates with dns-01",
       "8.4",
       Level::May,
       "An order for \"*.NAME\" becomes ready after dns-01 at _acme-challenge.NAME; no BCP 14 "
       "keyword binds the server: RFC 8555 §7.1.3: \"Any identifier of type \"dns\" in a "
       "newOrder request MAY have a wildcard domain name as its value.\" (binds the client; the "
       "order's \"ready\", §7.1.6: \"Once all of the authorizations listed in the order object "
       "are in the \"valid\" state, the order transitions to the \"ready\" state.\", has no "
       "keyword)",
       {"dns-01", "wildcard"}},
      [](CaseContext& ctx) {
        const std::string base = ctx.new_domain("wild");
        Attempt a =
            attempt(ctx, "dns-01",
                    [&](Attempt& x) { provision_challenge(ctx, *x.client, x.authz, x.challenge); },
                    {dns_id("*." + base)});
        client::Order order = settle_order(ctx, *a.client, a.order.url);
        return check(order.status == "ready", "order \"ready\"", "order \"" + order.status + "\"");
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.5.1-respond-returns-challenge",
       "A challenge response returns the challenge",
       "7.5.1",
       Level::May,
       "The answer to a challenge response (POST {}) is the challenge object (type, url, status "
       "pending, processing, valid or invalid); no BCP 14 keyword binds the server: RFC 8555 "
       "§7.5.1: \"The server provides a 200 (OK) response with the updated challenge object as "
       "its body.\"",
       {"validation"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        OfferedChallenge o = offered_challenge(ctx, *c, validation_type(ctx));
        provision_challenge(ctx, *c, o.authz, o.challenge);
        auto r = post_retrying(*c, o.challenge.url, Json::object());
        auto body = r ? json_body(*r) : std::nullopt;
        const std::string status = body ? body->value("status", "") : "";
        const bool known = status == "pending" || status == "processing" || status == "valid" ||
                           status == "invalid";
        return first_failure(
            {expect_status(r, 200),
             check(body && body->value("type", "") == o.challenge.type &&
                       body->value("url", "") == o.challenge.url,
                   "the challenge object (type " + o.challenge.type + ", its url)", describe(r)),
             check(known, "a challenge status", "status \"" + status + "\"")});
      }));

  out.push_back(rfc_case({"rfc8555-7.1.5-validated-timestamp",
                          "A valid challenge says when it was validated",
                          "7.1.5",
                          Level::Must,
                          "A challenge in status \"valid\" carries \"validated\" (RFC 3339): RFC 8555 "
                          "§8: \"validated (optional, string): The time at which the server "
                          "validated this challenge, encoded in the format specified in [RFC3339]. "
                          "This field is REQUIRED if the \"status\" field is \"valid\".\"",
                          {"validation"}},
                         [](CaseContext& ctx) {
                           auto c = ctx.shared_client();
                           auto authz = validated_first_authz(ctx, *c);
                           const client::Challenge* ch = authz.find(validation_type(ctx));
                           need_that(ch != nullptr, "the authorization lists the challenge");
                           auto fetched = need(c->get_challenge(ch->url), "fetch the challenge");
                           need_that(fetched.status == "valid", "the challenge is valid");
                           return check(fetched.validated && looks_like_rfc3339(*fetched.validated),
                                        "\"validated\" in RFC 3339 form",
                                        fetched.raw.contains("validated")
                                            ? fetched.raw["validated"].dump()
                                            : "no \"validated\"");
                         }));

  out.push_back(rfc_case(
      {"rfc8555-7.5.1-poll-during-validation",
       "Polling during validation answers 200",
       "7.5.1",
       Level::Must,
       "While validation is in progress, POST-as-GET of the authorization answers 200: RFC "
       "8555 §7.5.1: \"In responding to poll requests while the validation is still in "
       "progress, the server MUST return a 200 (OK) response and MAY include a Retry-After header "
       "field to suggest a polling interval to the client.\"",
       {"http-01"}},
      [](CaseContext& ctx) {
        auto r = poll_during_validation(ctx);
        Verdict status = expect_status(r, 200);
        if (!status.passed()) return status;
        // The authorization's "pending" is only §7.1.6's keyword-less state machine: a final
        // status means the poll did not fall within the validation (premise unmet), not a fail.
        auto body = json_body(*r);
        const std::string authz_status = body ? body->value("status", "") : "";
        need_that(authz_status != "valid" && authz_status != "invalid",
                  "the validation is still in progress (authorization \"" + authz_status + "\")");
        return status;
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.5.1-retry-after-during-validation",
       "Polling during validation suggests Retry-After",
       "7.5.1",
       Level::May,
       "While validation is in progress, the authorization response may include Retry-After: "
       "RFC 8555 §7.5.1: \"In responding to poll requests while the validation is still in "
       "progress, the server MUST return a 200 (OK) response and MAY include a Retry-After header "
       "field to suggest a polling interval to the client.\"",
       {"http-01"}},
      [](CaseContext& ctx) {
        auto r = need(poll_during_validation(ctx), "poll the authorization");
        auto body = json_body(r);
        need_that(body && body->value("status", "") == "pending",
                  "the validation is still in progress");
        return check(r.header("retry-after").has_value(), "a Retry-After header",
                     describe(r) + " without Retry-After");
      }));
}

}  // namespace attestlab::conformance
