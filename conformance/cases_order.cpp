// RFC 8555 §7.4 (applying for issuance), §7.1.3/§7.1.4 (order and authorization
// objects), §7.5 (authorizations), §7.5.2 (deactivation), §8.1 (tokens); RFC 8738 (IP
// identifiers).
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

Result<http::Response> raw_new_order(client::AcmeClient& c, const Json& payload) {
  auto dir = need(c.directory(), "fetch the directory");
  return post_retrying(c, dir.new_order, payload);
}

Json identifiers_json(const std::vector<client::Identifier>& ids) {
  Json out = Json::array();
  for (const auto& id : ids) out.push_back(id.to_json());
  return out;
}

// The order is refused (4xx problem) for this payload.
Verdict order_refused(CaseContext& ctx, const Json& payload,
                      const std::vector<std::string>& types = {}) {
  auto c = ctx.shared_client();
  return expect_problem(raw_new_order(*c, payload), 0, types);
}

std::string challenge_types(const client::Authorization& a) {
  std::string s;
  for (const auto& ch : a.challenges) s += (s.empty() ? "" : ", ") + ch.type;
  return "[" + s + "]";
}

}  // namespace

void add_order_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-7.4-new-order-201", "newOrder answers 201 with a pending order", "7.4", Level::Must,
       "newOrder answers 201 (Created) with the order URL in Location and an order object: status "
       "\"pending\", the requested identifiers, authorization URLs and a finalize URL."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        const std::vector<client::Identifier> ids = {dns_id(ctx.new_domain("order"))};
        auto r = raw_new_order(*c, Json{{"identifiers", identifiers_json(ids)}});
        if (!r || r->status != 201) return Verdict::fail("HTTP 201", describe(r));
        auto body = json_body(*r);
        if (!body) return Verdict::fail("an order object", describe(*r));
        const std::string location = r->header("location").value_or("");
        const Json authzs = body->value("authorizations", Json());
        bool authz_ok = authzs.is_array() && !authzs.empty();
        for (const auto& a : authzs) authz_ok = authz_ok && a.is_string();
        return first_failure(
            {check(!location.empty(), "a Location header", "none"),
             check(body->value("status", "") == "pending", "status \"pending\"", body->dump()),
             check(body->value("identifiers", Json()) == identifiers_json(ids),
                   "identifiers " + identifiers_json(ids).dump(),
                   body->value("identifiers", Json()).dump()),
             check(authz_ok, "a non-empty authorizations array of URLs", authzs.dump()),
             check(get_string(*body, "finalize") != nullptr, "a finalize URL", body->dump())});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.3-order-expires", "A pending order has an expiry", "7.1.3", Level::Must,
       "An order object in status \"pending\" carries \"expires\" (an RFC 3339 timestamp)."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        return check(
            order.expires && looks_like_rfc3339(*order.expires), "\"expires\" in RFC 3339 form",
            order.raw.contains("expires") ? order.raw["expires"].dump() : "no \"expires\"");
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-order-fetch", "The order URL returns the order", "7.4", Level::Must,
       "POST-as-GET of the order URL returns the same order (status, identifiers, "
       "authorizations)."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        Json fetched = fetch_json(*c, order.url, "the order");
        return first_failure(
            {check(fetched.value("status", "") == order.status, "status " + order.status,
                   fetched.dump()),
             check(fetched.value("identifiers", Json()) == order.raw.value("identifiers", Json()),
                   "identifiers " + order.raw.value("identifiers", Json()).dump(), fetched.dump()),
             check(fetched.value("authorizations", Json()) ==
                       order.raw.value("authorizations", Json()),
                   "the same authorizations", fetched.dump())});
      }));

  out.push_back(
      rfc_case({"rfc8555-7.4-empty-identifiers", "An order without identifiers is refused", "7.4",
                Level::Must,
                "newOrder with an empty identifiers array is refused with a 4xx problem document."},
               [](CaseContext& ctx) {
                 return order_refused(ctx, Json{{"identifiers", Json::array()}});
               }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-identifiers-missing", "An order without the identifiers member is refused",
       "7.4", Level::Must, "newOrder whose payload has no \"identifiers\" member is refused."},
      [](CaseContext& ctx) { return order_refused(ctx, Json::object()); }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-unsupported-identifier-type", "An unknown identifier type is refused", "7.4",
       Level::Must, "newOrder for an identifier type the server does not support is refused."},
      [](CaseContext& ctx) {
        return order_refused(
            ctx, Json{{"identifiers", {{{"type", "attestlab-unknown"}, {"value", "x"}}}}});
      }));

  out.push_back(
      rfc_case({"rfc8555-6.7-unsupported-identifier-type-error",
                "Unknown identifier types get unsupportedIdentifier", "6.7", Level::May,
       "The refusal of an unknown identifier type may use unsupportedIdentifier; no "
       "BCP 14 keyword binds the server: the §6.7 table only defines "
       "\"unsupportedIdentifier\" as \"An identifier is of an unsupported type\", and "
       "\"This list is not exhaustive.\""},
               [](CaseContext& ctx) {
                 return order_refused(
                     ctx, Json{{"identifiers", {{{"type", "attestlab-unknown"}, {"value", "x"}}}}},
                     {"unsupportedIdentifier"});
               }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-malformed-dns-name", "A malformed DNS name is refused", "7.4", Level::May,
       "newOrder for a \"dns\" identifier that is not a domain name may be refused: that the "
       "value is a domain name binds the client; the server MUST NOT issue for it (§7.4), "
       "which other cases check."},
      [](CaseContext& ctx) {
        return order_refused(
            ctx, Json{{"identifiers", {{{"type", "dns"}, {"value", "not a domain!"}}}}});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.4-authorization-object",
       "Authorizations name the identifier and offer challenges", "7.1.4", Level::Must,
       "Each authorization of a new order has the identifier, status \"pending\" and challenges, "
       "each with type, url and status."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        need_that(!order.authorizations.empty(), "the order has authorizations");
        Json authz = fetch_json(*c, order.authorizations.front(), "the authorization");
        const Json challenges = authz.value("challenges", Json());
        bool fine = challenges.is_array() && !challenges.empty();
        for (const auto& ch : challenges) {
          fine = fine && ch.is_object() && ch.value("type", Json()).is_string() &&
                 ch.value("url", Json()).is_string() && ch.value("status", Json()).is_string();
        }
        return first_failure(
            {check(authz.value("identifier", Json()) == order.identifiers.front().to_json(),
                   "identifier " + order.identifiers.front().to_json().dump(),
                   authz.value("identifier", Json()).dump()),
             check(authz.value("status", "") == "pending", "status \"pending\"",
                   authz.value("status", Json()).dump()),
             check(fine, "challenges with type, url and status", challenges.dump())});
      }));

  out.push_back(rfc_case(
      {"rfc8555-8.3-token-entropy", "Challenge tokens have 128 bits and are base64url", "8.3",
       Level::Must,
       "http-01 and dns-01 tokens are base64url without padding, at least 22 "
       "characters: the token \"MUST have at least 128 bits of entropy\"."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        auto authz = need(c->get_authz(order.authorizations.front()), "fetch the authorization");
        int checked = 0;
        for (const auto& ch : authz.challenges) {
          if (ch.type != "http-01" && ch.type != "dns-01") continue;
          ++checked;
          if (!is_base64url(ch.token) || ch.token.size() < 22) {
            return Verdict::fail("a base64url token of at least 22 characters",
                                 ch.type + " token \"" + ch.token + "\"");
          }
        }
        if (checked == 0)
          return Verdict::skip("the authorization offers neither http-01 nor dns-01");
        return Verdict::pass();
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.4-wildcard-authorization",
       "Wildcard orders get a wildcard authorization",
       "7.1.4",
       Level::Must,
       "An order for \"*.name\" gets an authorization for \"name\" (without \"*.\") with "
       "\"wildcard\": true.",
       {"wildcard"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        const std::string base = ctx.new_domain("wild");
        client::Order order = create_order(ctx, *c, {dns_id("*." + base)});
        Json authz = fetch_json(*c, order.authorizations.front(), "the authorization");
        const Json id = authz.value("identifier", Json());
        return first_failure(
            {check(id.value("value", "") == base, "identifier value " + base, id.dump()),
             check(authz.value("wildcard", false) == true, "\"wildcard\": true",
                   authz.contains("wildcard") ? authz["wildcard"].dump() : "no \"wildcard\"")});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.5.2-deactivate-authorization", "An authorization can be deactivated", "7.5.2",
       Level::May,
       "Authorization deactivation is optional (no BCP 14 keyword binds the server): "
       "the client \"may request that the server deactivate each authorization\", and "
       "\"If the server accepts the deactivation, it should reply with a 200 (OK) "
       "status code and the updated contents of the authorization object.\" Dependent "
       "cases skip when it is not met."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        const std::string url = order.authorizations.front();
        auto r = post_retrying(*c, url, Json{{"status", "deactivated"}});
        auto body = r ? json_body(*r) : std::nullopt;
        Json fetched = fetch_json(*c, url, "the authorization");
        return first_failure(
            {expect_status(r, 200),
             check(body && body->value("status", "") == "deactivated", "answer status deactivated",
                   body ? body->dump() : describe(r)),
             check(fetched.value("status", "") == "deactivated", "fetched status deactivated",
                   fetched.value("status", Json()).dump())});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-foreign-order", "Another account cannot read an order", "7.4", Level::Must,
       "POST-as-GET of an order by an account that does not own it is refused."},
      [](CaseContext& ctx) {
        auto owner = ctx.shared_client("owner");
        client::Order order = create_order(ctx, *owner);
        auto other = ctx.client("attacker");
        ctx.new_account(*other);
        return expect_refused(post_retrying(*other, order.url, std::nullopt));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.5-foreign-authorization", "Another account cannot read an authorization", "7.5",
       Level::Must,
       "POST-as-GET of an authorization by an account that does not own it is refused."},
      [](CaseContext& ctx) {
        auto owner = ctx.shared_client("owner");
        client::Order order = create_order(ctx, *owner);
        auto other = ctx.client("attacker");
        ctx.new_account(*other);
        return expect_refused(post_retrying(*other, order.authorizations.front(), std::nullopt));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.5.1-foreign-challenge-response",
       "Another account cannot answer a challenge",
       "7.5.1",
       Level::Must,
       "A challenge response from an account that does not own the authorization is refused and "
       "does not start validation (the challenge stays \"pending\").",
       {"validation"}},
      [](CaseContext& ctx) {
        auto owner = ctx.shared_client("owner");
        OfferedChallenge o = offered_challenge(ctx, *owner, validation_type(ctx));
        auto other = ctx.client("attacker");
        ctx.new_account(*other);
        // The attacker serves the answer for its own key: if the server validated it for
        // the attacker, the authorization would wrongly become valid.
        provision_challenge(ctx, *other, o.authz, o.challenge);
        auto r = post_retrying(*other, o.challenge.url, Json::object());
        ctx.pause(std::chrono::milliseconds(300));
        auto after = need(owner->get_challenge(o.challenge.url), "fetch the challenge");
        return first_failure(
            {expect_refused(r), check(after.status == "pending", "challenge still \"pending\"",
                                      "challenge \"" + after.status + "\"")});
      }));

  out.push_back(rfc_case(
      {"rfc8738-3-ip-order",
       "IP identifiers can be ordered",
       "3",
       Level::Must,
       "newOrder for an \"ip\" identifier (127.0.0.1) succeeds on a target that declares ip "
       "identifiers, and its authorization names the ip identifier: RFC 8738 §3: \"it MUST "
       "create an authorization with the identifier type \"ip\"\" (words of "
       "draft-ietf-acme-ip-08, which became RFC 8738; the RFC's own §3 text was not readable "
       "here).",
       {"ip-identifiers"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        auto order = c->new_order({client::Identifier{"ip", "127.0.0.1"}});
        if (!order) return Verdict::fail("HTTP 201 with an order", describe(order.error()));
        Json authz = fetch_json(*c, order->authorizations.front(), "the authorization");
        const Json want = {{"type", "ip"}, {"value", "127.0.0.1"}};
        return check(authz.value("identifier", Json()) == want, "identifier " + want.dump(),
                     authz.value("identifier", Json()).dump());
      }));
  out.back().spec = kSpecRfc8738;

  out.push_back(rfc_case(
      {"rfc8738-7-ip-no-dns01",
       "IP authorizations do not offer dns-01",
       "7",
       Level::Must,
       "An ip authorization does not offer dns-01: RFC 8738 §7: \"The existing \"dns-01\" "
       "challenge MUST NOT be used to validate IP identifiers.\"",
       {"ip-identifiers"}},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        auto order =
            need(c->new_order({client::Identifier{"ip", "127.0.0.1"}}), "create an IP order");
        auto authz = need(c->get_authz(order.authorizations.front()), "fetch the authorization");
        return check(authz.find("dns-01") == nullptr, "no dns-01 challenge",
                     "challenges " + challenge_types(authz));
      }));
  out.back().spec = kSpecRfc8738;

  out.push_back(rfc_case(
      {"rfc8738-3-ip-malformed",
       "A malformed IP address is refused",
       "3",
       Level::Must,
       "newOrder for an \"ip\" identifier that is not an IP address (999.0.0.1) is refused: "
       "RFC 8738 §3: \"The value field of the identifier MUST contain the textual form of the "
       "address\" (draft-ietf-acme-ip-08 words), and RFC 8555 §7.4: \"The server MUST return "
       "an error if it cannot fulfill the request as specified\".",
       {"ip-identifiers"}},
      [](CaseContext& ctx) {
        return order_refused(ctx,
                             Json{{"identifiers", {{{"type", "ip"}, {"value", "999.0.0.1"}}}}});
      }));
  out.back().spec = kSpecRfc8738;
}

}  // namespace attestlab::conformance
