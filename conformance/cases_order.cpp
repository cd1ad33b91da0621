// RFC 8555 §7.4 (applying for issuance), §7.1.3/§7.1.4 (order and authorization
// objects), §7.5 (authorizations), §7.5.2 (deactivation), §8.1 (tokens); RFC 8738 (IP
// identifiers).
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

Result<http::Response> raw_new_order(client::AcmeClient& c, const Json& payload) {
  auto dir = need(c.directory(), "fetch the directory");
  return post_retrying(c, dir.new_order, payload);
}

Json identifiers_json(const std::vector<client::Identifier>& ids) {
  Json out = Json::array();
  for (const auto& id : ids) out.push_back(id.to_json());
  return out;
}

// The order is refused (any 4xx: the refusal is RFC 8555 §7.4's MUST, a problem document
// only §6.7's SHOULD) for this payload.
Verdict order_refused_4xx(CaseContext& ctx, const Json& payload) {
  auto c = ctx.shared_client();
  return expect_refused(raw_new_order(*c, payload));
}

// A JSON array's elements, serialized and sorted: RFC 8555 §7.4 "Clients MUST NOT make any
// assumptions about the sort order of "identifiers" or "authorizations" elements".
std::vector<std::string> elements(const Json& array) {
  std::vector<std::string> out;
  if (!array.is_array()) return {array.dump()};
  for (const auto& e : array) out.push_back(e.dump());
  std::sort(out.begin(), out.end());
  return out;
}

// The order is refused (4xx problem) for this payload.
Verdict order_refused(CaseContext& ctx, const Json& payload,
                      const std::vector<std::string>& types = {}) {
  auto c = ctx.shared_client();
  return expect_problem(raw_new_order(*c, payload), 0, types);
}

// An account answers the challenge of another account's authorization, serving the key
// authorization for its own key (had the server validated it for that account, the
// authorization would wrongly become valid).
struct ForeignResponse {
  std::unique_ptr<client::AcmeClient> owner;
  OfferedChallenge offered;
  Result<http::Response> answer;
};

ForeignResponse foreign_challenge_response(CaseContext& ctx) {
  auto owner = ctx.shared_client("owner");
  OfferedChallenge o = offered_challenge(ctx, *owner, validation_type(ctx));
  auto other = ctx.client("attacker");
  ctx.new_account(*other);
  provision_challenge(ctx, *other, o.authz, o.challenge);
  auto answer = post_retrying(*other, o.challenge.url, Json::object());
  return ForeignResponse{std::move(owner), std::move(o), std::move(answer)};
}

std::string challenge_types(const client::Authorization& a) {
  std::string s;
  for (const auto& ch : a.challenges) s += (s.empty() ? "" : ", ") + ch.type;
  return "[" + s + "]";
}

}  // namespace

void add_order_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-7.4-new-order-201", "newOrder answers 201 with a pending order", "7.4", Level::May,
       "newOrder answers 201 (Created) with the order URL in Location and an order object: status "
       "\"pending\", the requested identifiers, authorization URLs and a finalize URL; no BCP 14 "
       "keyword binds the server: RFC 8555 §7.4: \"If the server is willing to issue the "
       "requested certificate, it responds with a 201 (Created) response.  The body of this "
       "response is an order object reflecting the client's request and any authorizations the "
       "client must complete before the certificate will be issued.\" (§7.1.3 lists \"status "
       "(required, string)\", \"identifiers (required, array of object)\", \"authorizations "
       "(required, array of string)\" and \"finalize (required, string)\" in lower case, and "
       "§7.1.6: \"Order objects are created in the \"pending\" state.\")"},
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
       "An order object in status \"pending\" carries \"expires\" (an RFC 3339 timestamp): "
       "RFC 8555 §7.1.3: \"expires (optional, string): The timestamp after which the server will "
       "consider this order invalid, encoded in the format specified in [RFC3339].  This field "
       "is REQUIRED for objects with \"pending\" or \"valid\" in the status field.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        if (order.status != "pending" && order.status != "valid") {
          return Verdict::skip("the new order is \"" + order.status +
                               "\": \"expires\" is REQUIRED only when \"pending\" or \"valid\"");
        }
        return check(
            order.expires && looks_like_rfc3339(*order.expires), "\"expires\" in RFC 3339 form",
            order.raw.contains("expires") ? order.raw["expires"].dump() : "no \"expires\"");
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-order-fetch", "The order URL returns the order", "7.4", Level::Must,
       "POST-as-GET of the order URL returns the order with the same identifiers and "
       "authorizations (in any sort order; its status may have moved on): RFC 8555 §6.3: "
       "\"Otherwise, the server MUST treat this request as having the same semantics as a GET "
       "request for the same resource.\" and §7.1.3: \"The elements of the \"authorizations\" "
       "and \"identifiers\" arrays are immutable once set.  The server MUST NOT change the "
       "contents of either array after they are created.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::Order order = create_order(ctx, *c);
        Json fetched = fetch_json(*c, order.url, "the order");
        const Json ids = order.raw.value("identifiers", Json());
        const Json authzs = order.raw.value("authorizations", Json());
        return first_failure(
            {check(elements(fetched.value("identifiers", Json())) == elements(ids),
                   "identifiers " + ids.dump(), fetched.dump()),
             check(elements(fetched.value("authorizations", Json())) == elements(authzs),
                   "authorizations " + authzs.dump(), fetched.dump())});
      }));

  out.push_back(
      rfc_case({"rfc8555-7.4-empty-identifiers", "An order without identifiers is refused", "7.4",
                Level::Must,
                "newOrder with an empty identifiers array is refused (any 4xx; a problem "
                "document is only §6.7's SHOULD): RFC 8555 §7.4: \"The server MUST return an "
                "error if it cannot fulfill the request as specified, and it MUST NOT issue a "
                "certificate with contents other than those requested.\" (an order for no "
                "identifier specifies no certificate the server could issue)"},
               [](CaseContext& ctx) {
                 return order_refused_4xx(ctx, Json{{"identifiers", Json::array()}});
               }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-identifiers-missing", "An order without the identifiers member is refused",
       "7.4", Level::Must,
       "newOrder whose payload has no \"identifiers\" member is refused (any 4xx): RFC 8555 "
       "§7.4: \"The server MUST return an error if it cannot fulfill the request as specified, "
       "and it MUST NOT issue a certificate with contents other than those requested.\" (the "
       "payload lacks the field that names the certificate's identifiers, \"identifiers "
       "(required, array of object)\")"},
      [](CaseContext& ctx) { return order_refused_4xx(ctx, Json::object()); }));

  out.push_back(rfc_case(
      {"rfc8555-7.4-unsupported-identifier-type", "An unknown identifier type is refused", "7.4",
       Level::Must,
       "newOrder for an identifier type the server does not support is refused (any 4xx; the "
       "type unsupportedIdentifier is the May case rfc8555-6.7-unsupported-identifier-type-error): "
       "RFC 8555 §7.4: \"The server MUST return an error if it cannot fulfill the request as "
       "specified, and it MUST NOT issue a certificate with contents other than those "
       "requested.\" (it cannot validate or issue for an identifier type it does not support)"},
      [](CaseContext& ctx) {
        return order_refused_4xx(
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
       "Authorizations name the identifier and offer challenges", "7.1.4", Level::May,
       "Each authorization of a new order has the identifier, status \"pending\" and challenges, "
       "each with type, url and status; no BCP 14 keyword binds the server: RFC 8555 §7.1.4 "
       "lists \"identifier (required, object)\", \"status (required, string)\" and "
       "\"challenges (required, array of objects)\", §8 lists the challenge's \"type (required, "
       "string)\", \"url (required, string)\" and \"status (required, string)\" (lower case), "
       "and §7.1.6: \"Authorization objects are created in the \"pending\" state.\""},
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
       "\"wildcard\": true: RFC 8555 §7.1.4: \"wildcard (optional, boolean): This field MUST be "
       "present and true for authorizations created as a result of a newOrder request containing "
       "a DNS identifier with a value that was a wildcard domain name.\" and \"Wildcard domain "
       "names (with \"*\" as the first label) MUST NOT be included in authorization objects.\" "
       "(§7.1.3: \"An authorization returned by the server for a wildcard domain name identifier "
       "MUST NOT include the asterisk and full stop (\"*.\") prefix in the authorization "
       "identifier value.\")",
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
       "POST-as-GET of an order by an account that does not own it is refused: RFC 8555 §6.3: "
       "\"On receiving a request with a zero-length (and thus non-JSON) payload, the server MUST "
       "authenticate the sender and verify any access control rules.\" (an order belongs to the "
       "account that created it, §7.1.2.1: \"each identifying an order belonging to the "
       "account\")"},
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
       "POST-as-GET of an authorization by an account that does not own it is refused: RFC 8555 "
       "§6.3: \"On receiving a request with a zero-length (and thus non-JSON) payload, the server "
       "MUST authenticate the sender and verify any access control rules.\" and §7.5: \"The "
       "authorization object is implicitly tied to the account key used to sign the request.\""},
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
       "A challenge response from an account that does not own the authorization is refused "
       "(any 4xx; that the challenge stays \"pending\" is the split case "
       "rfc8555-7.5.1-foreign-challenge-stays-pending): RFC 8555 §7.5.1: \"If the client's "
       "response is invalid for any reason or does not provide the server with appropriate "
       "information to validate the challenge, then the server MUST return an HTTP error.\" (the "
       "response comes from another account, and §7.5: \"The authorization object is implicitly "
       "tied to the account key used to sign the request.\")",
       {"validation"}},
      [](CaseContext& ctx) { return expect_refused(foreign_challenge_response(ctx).answer); }));

  out.push_back(rfc_case(
      {"rfc8555-7.5.1-foreign-challenge-stays-pending",
       "Another account's challenge response starts no validation",
       "7.5.1",
       Level::May,
       "After a challenge response from an account that does not own the authorization, the "
       "challenge stays \"pending\" (no validation started); no BCP 14 keyword states it: RFC "
       "8555 §7.1.6: \"They transition to the \"processing\" state when the client responds to "
       "the challenge (see Section 7.5.1) and the server begins attempting to validate that the "
       "client has completed the challenge.\" and §10.2: \"The integrity of the authorization "
       "process thus depends on the identifier validation challenges to ensure that the "
       "challenge can only be completed by someone who both (1) holds the private key of the "
       "account key pair and (2) controls the identifier in question.\" (the refusal itself is "
       "the MUST case rfc8555-7.5.1-foreign-challenge-response)",
       {"validation"}},
      [](CaseContext& ctx) {
        ForeignResponse f = foreign_challenge_response(ctx);
        ctx.pause(std::chrono::milliseconds(300));
        auto after = need(f.owner->get_challenge(f.offered.challenge.url), "fetch the challenge");
        return check(after.status == "pending", "challenge still \"pending\"",
                     "challenge \"" + after.status + "\" after " + describe(f.answer));
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
        need_listed(*order);
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
        auto order = need_listed(
            need(c->new_order({client::Identifier{"ip", "127.0.0.1"}}), "create an IP order"));
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
       "newOrder for an \"ip\" identifier that is not an IP address (999.0.0.1) is refused "
       "(any 4xx: the problem document is RFC 8555 §6.7's SHOULD): "
       "RFC 8738 §3: \"The value field of the identifier MUST contain the textual form of the "
       "address\" (draft-ietf-acme-ip-08 words), and RFC 8555 §7.4: \"The server MUST return "
       "an error if it cannot fulfill the request as specified\".",
       {"ip-identifiers"}},
      [](CaseContext& ctx) {
        return order_refused_4xx(ctx,
                                 Json{{"identifiers", {{{"type", "ip"}, {"value", "999.0.0.1"}}}}});
      }));
  out.back().spec = kSpecRfc8738;
}

}  // namespace attestlab::conformance
