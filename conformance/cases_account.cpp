// RFC 8555 §7.3 (account management), §7.1.2 (account objects), §7.3.2 (update),
// §7.3.6 (deactivation).
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

// newAccount with onlyReturnExisting for key: the raw response.
Result<http::Response> lookup_account(CaseContext& ctx,
                                      const std::shared_ptr<const client::JwsSigner>& key) {
  auto c = ctx.client("lookup");
  auto dir = need(c->directory(), "fetch the directory");
  client::RawPostOptions o;
  o.signer = key;
  return post_raw_retrying(*c, dir.new_account, Json::object(),
                           Json{{"onlyReturnExisting", true}}.dump(), o);
}

// A contact the server may refuse: then it must use `type`; accepting it passes.
Verdict contact_refused_as(CaseContext& ctx, const std::string& contact, const std::string& type) {
  auto c = ctx.client();
  auto dir = need(c->directory(), "fetch the directory");
  client::RawPostOptions o;
  o.signer = fresh_signer();
  Json payload = {{"termsOfServiceAgreed", true}, {"contact", {contact}}};
  if (ctx.target().eab && ctx.target().eab->required) {
    abort_case(Verdict::skip("the target requires EAB; this case sends a bare newAccount"));
  }
  auto r = post_raw_retrying(*c, dir.new_account, Json::object(), payload.dump(), o);
  need_that(r.ok(), "an answer to newAccount");
  if (r->status == 200 || r->status == 201) {
    return Verdict::pass("the server accepted contact " + contact + " (allowed)");
  }
  // §7.3 names the error type only; any 4xx status carries it.
  return expect_problem(r, 0, {type});
}

}  // namespace

void add_account_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-7.3-new-account-201", "A new account is created with 201 and Location", "7.3",
       Level::May,
       "newAccount with a new key answers 201 (Created) with the account URL in Location and "
       "an account object with status \"valid\"; no BCP 14 keyword: RFC 8555 §7.3: \"The "
       "server returns this account object in a 201 (Created) response, with the account URL in "
       "a Location header field.\""},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto key = fresh_signer();
        auto account = c->new_account(key, account_request(ctx));
        const std::string observed =
            c->last_response() ? describe(*c->last_response()) : "no response";
        if (!account)
          return Verdict::fail("HTTP 201 with Location and an account object",
                               describe(account.error()));
        return first_failure({check(account->created, "HTTP 201", observed),
                              check(!account->url.empty(), "a Location header", "none"),
                              check(account->status == "valid", "status \"valid\"",
                                    "status \"" + account->status + "\"")});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3-existing-account-200", "newAccount for a known key answers 200 with its URL",
       "7.3", Level::Must,
       "\"If the server receives a newAccount request signed with a key for which it "
       "already has an account registered with the provided account key, then it MUST "
       "return a response with status code 200 (OK) and provide the URL of that "
       "account in the Location header field.\""},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto key = fresh_signer();
        auto first = need(c->new_account(key, account_request(ctx)), "create an account");
        auto again_client = ctx.client("again");
        auto again = again_client->new_account(key, account_request(ctx));
        const std::string observed = again_client->last_response()
                                         ? describe(*again_client->last_response())
                                         : "no response";
        if (!again) return Verdict::fail("HTTP 200 with the account URL", describe(again.error()));
        return first_failure(
            {check(!again->created, "HTTP 200 (not 201: no new account)", observed),
             check(again->url == first.url, "Location " + first.url, "Location " + again->url)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.1-only-return-existing-missing", "onlyReturnExisting for an unknown key",
       "7.3.1", Level::Must,
       "newAccount with onlyReturnExisting for a key without account answers HTTP 400 "
       "accountDoesNotExist and creates no account: RFC 8555 §7.3.1: \"If a client sends such a "
       "request and an account does not exist, then the server MUST return an error response "
       "with status code 400 (Bad Request) and type "
       "\"urn:ietf:params:acme:error:accountDoesNotExist\".\""},
      [](CaseContext& ctx) {
        auto key = fresh_signer();
        auto first = lookup_account(ctx, key);
        auto second = lookup_account(ctx, key);
        return first_failure({expect_problem(first, 400, {"accountDoesNotExist"}),
                              check(second && is_problem(*second, "accountDoesNotExist"),
                                    "still no account on a second lookup", describe(second))});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.1-only-return-existing-found", "onlyReturnExisting finds the account", "7.3.1",
       Level::Must,
       "newAccount with onlyReturnExisting for a key with an account answers 200 with the "
       "account URL in Location: RFC 8555 §7.3.1: \"If the server receives a newAccount "
       "request signed with a key for which it already has an account registered with the "
       "provided account key, then it MUST return a response with status code 200 (OK) and "
       "provide the URL of that account in the Location header field.\""},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto key = fresh_signer();
        auto account = need(c->new_account(key, account_request(ctx)), "create an account");
        auto r = lookup_account(ctx, key);
        const std::string new_account = need(c->directory(), "fetch the directory").new_account;
        return first_failure({expect_status(r, 200), location_is(r, new_account, account.url)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.2-account-object", "The account object has status and orders", "7.1.2",
       Level::May,
       "POST-as-GET of the account URL returns the account object with status \"valid\" and an "
       "\"orders\" URL; no BCP 14 keyword: RFC 8555 §7.1.2 lists \"status (required, "
       "string)\" and \"orders (required, string)\" (lower case), and §7.1.2.1: \"Each "
       "account object includes an \"orders\" URL from which a list of orders created by the "
       "account can be fetched via POST-as-GET request.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        Json account = fetch_json(*c, c->account_url(), "the account");
        const std::string* status = get_string(account, "status");
        const std::string* orders = get_string(account, "orders");
        return first_failure(
            {check(status && *status == "valid", "status \"valid\"", account.dump()),
             check(orders && orders->rfind("http", 0) == 0, "an \"orders\" URL",
                   account.contains("orders") ? account["orders"].dump() : "no \"orders\"")});
      }));

  out.push_back(
      rfc_case({"rfc8555-7.3-contact-unsupported-scheme",
                "A refused contact scheme is unsupportedContact", "7.3", Level::Must,
       "If the server refuses a tel: contact: \"If the server rejects a contact URL "
       "for using an unsupported scheme, it MUST return an error of type "
       "\"unsupportedContact\"\""},
               [](CaseContext& ctx) {
                 return contact_refused_as(ctx, "tel:+15555550100", "unsupportedContact");
               }));

  out.push_back(rfc_case(
      {"rfc8555-7.3-contact-invalid", "A refused malformed mailto is invalidContact", "7.3",
       Level::Must,
       "If the server refuses a mailto: contact without an address: \"If the server "
       "rejects a contact URL for using a supported scheme but an invalid value, then "
       "the server MUST return an error of type \"invalidContact\".\""},
      [](CaseContext& ctx) {
        return contact_refused_as(ctx, "mailto:not-an-address", "invalidContact");
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.2-contact-update", "Contact updates are applied", "7.3.2", Level::Must,
       "If the server accepts a POST to the account URL with a new contact, it answers 200 with "
       "the resulting account: the answer and a later fetch show the new contact (a 4xx "
       "refusal skips): RFC 8555 §7.3.2: \"If the server accepts the update, it MUST return a "
       "response with a 200 (OK) status code and the resulting account object.\""},
      [](CaseContext& ctx) {
        WatchedAccount w = watched_account(ctx);
        auto updated = w.client->update_account({kContactAfter});
        if (!updated) {
          const auto& last = w.client->last_response();
          if (last && last->status >= 400 && last->status < 500)
            return Verdict::skip("the server did not accept the update: " + describe(*last));
          return Verdict::fail("HTTP 200 with the updated account", describe(updated.error()));
        }
        Json fetched = fetch_json(*w.client, w.account.url, "the account");
        const Json want = Json::array({kContactAfter});
        return first_failure(
            {check(updated->raw.value("contact", Json()) == want, "answer contact " + want.dump(),
                   updated->raw.value("contact", Json()).dump()),
             check(fetched.value("contact", Json()) == want, "fetched contact " + want.dump(),
                   fetched.value("contact", Json()).dump())});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.6-deactivate", "An account can be deactivated", "7.3.6", Level::May,
       "A POST of {\"status\": \"deactivated\"} to the account URL answers 200 with the account "
       "in status \"deactivated\"; no BCP 14 keyword binds the server: RFC 8555 §7.3.6: \"A "
       "client can deactivate an account by posting a signed update to the account URL with a "
       "status field of \"deactivated\".\""},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        ctx.new_account(*c, account_request(ctx));
        auto r = post_retrying(*c, c->account_url(), Json{{"status", "deactivated"}});
        auto body = r ? json_body(*r) : std::nullopt;
        return first_failure({expect_status(r, 200),
                              check(body && body->value("status", "") == "deactivated",
                                    "status \"deactivated\"", body ? body->dump() : describe(r))});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.6-deactivated-account-refused", "A deactivated account is refused with 401",
       "7.3.6", Level::Must,
       "\"If a server receives a POST or POST-as-GET from a deactivated account, it "
       "MUST return an error response with status code 401 (Unauthorized) and type "
       "\"urn:ietf:params:acme:error:unauthorized\".\"",
       {},
       {"rfc8555-7.3.6-deactivate"}},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        ctx.new_account(*c, account_request(ctx));
        auto deactivated = post_retrying(*c, c->account_url(), Json{{"status", "deactivated"}});
        need_that(deactivated && deactivated->status == 200,
                  "the account is deactivated (" + describe(deactivated) + ")");
        auto get = post_retrying(*c, c->account_url(), std::nullopt);
        auto dir = need(c->directory(), "fetch the directory");
        auto order = post_retrying(
            *c, dir.new_order, Json{{"identifiers", {dns_id(ctx.new_domain("deact")).to_json()}}});
        return first_failure({expect_problem(get, 401, {"unauthorized"}),
                              expect_problem(order, 401, {"unauthorized"})});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3-foreign-account", "An account cannot read or change another account", "7.3",
       Level::Must,
       "A request by account B to account A's URL (fetch or contact update) neither reveals nor "
       "changes A: it is refused, or answered with B's own account: RFC 8555 §6.3: \"On "
       "receiving a request with a zero-length (and thus non-JSON) payload, the server MUST "
       "authenticate the sender and verify any access control rules.\" (the update: §6.2 "
       "\"This field MUST contain the account URL received by POSTing to the newAccount "
       "resource.\" names B, not A)"},
      [](CaseContext& ctx) {
        WatchedAccount a = watched_account(ctx, "victim");
        auto b = ctx.client("attacker");
        ctx.new_account(*b, account_request(ctx));
        auto read = post_retrying(*b, a.account.url, std::nullopt);
        need_that(read.ok(), "an answer to the foreign fetch");
        Verdict read_verdict = Verdict::pass("refused with " + describe(*read));
        if (read->status / 100 == 2) {
          // Some servers serve the requester's own account whatever the URL; A's data must
          // not come back.
          auto body = json_body(*read);
          const Json contact = body ? body->value("contact", Json::array()) : Json::array();
          const bool leaked = contact == Json::array({kContactBefore});
          read_verdict = check(!leaked, "a refusal, or B's own account (not A's)",
                               "A's account was returned: " + describe(*read));
          if (!leaked) read_verdict.reason = "answered with the requester's own account";
        }
        auto write = post_retrying(*b, a.account.url, contact_update());
        (void)write;  // refused or applied to B: only A matters
        return first_failure({read_verdict, contact_unchanged(*a.client, a.account.url)});
      }));

  // §7.1.2 "orders (required, string)"; §7.1.2.1 "The result of the request MUST be a JSON
  // object whose "orders" field is an array of URLs". Their absence is a failure, not an
  // error: it is what the case checks.
  out.push_back(rfc_case(
      {"rfc8555-7.1.2.1-orders-list", "The orders list is a JSON object with an orders array",
       "7.1.2.1", Level::Must,
       "POST-as-GET of the account's \"orders\" URL returns a JSON object {\"orders\": [order "
       "URLs]} (skips unless rfc8555-7.1.2-account-object passes): RFC 8555 §7.1.2.1: \"The "
       "result of the request MUST be a JSON object whose \"orders\" field is an array of URLs, "
       "each identifying an order belonging to the account.\"",
       {},
       {"rfc8555-7.1.2-account-object"}},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        ctx.new_account(*c, account_request(ctx));
        create_order(ctx, *c);
        Json account = fetch_json(*c, c->account_url(), "the account");
        const std::string* orders_url = get_string(account, "orders");
        if (orders_url == nullptr)
          return Verdict::fail("an \"orders\" URL in the account", account.dump());
        auto r = post_retrying(*c, *orders_url, std::nullopt);
        if (!r || r->status != 200) return expect_status(r, 200);
        const Json list = Json::parse(r->body, nullptr, false);
        bool fine = list.is_object() && list.contains("orders") && list["orders"].is_array();
        if (fine) {
          for (const auto& o : list["orders"]) fine = fine && o.is_string();
        }
        return check(fine, "{\"orders\": [URL strings]}", r->body.substr(0, 300));
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.2.1-orders-list-has-pending",
       "The orders list includes a pending order",
       "7.1.2.1",
       Level::Should,
       "The account's orders list should include its pending orders (\"The server SHOULD include "
       "pending orders\").",
       {},
       {"rfc8555-7.1.2.1-orders-list"}},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        ctx.new_account(*c, account_request(ctx));
        client::Order order = create_order(ctx, *c);
        Json account = fetch_json(*c, c->account_url(), "the account");
        const std::string* orders_url = get_string(account, "orders");
        need_that(orders_url != nullptr, "the account has an orders URL");
        Json list = fetch_json(*c, *orders_url, "the orders list");
        const Json orders = list.value("orders", Json::array());
        bool found = false;
        for (const auto& o : orders)
          found = found || (o.is_string() && o.get<std::string>() == order.url);
        return check(found, "the list contains " + order.url, list.dump());
      }));

  // RFC 8555 §7.3 lets a server accept any contact; refusing these is attestlab's own
  // documented policy, judged only where a target declares "strict-contacts".
  out.push_back(rfc_case(
      {"rfc8555-7.3-policy-contact-mailto-only",
       "Contacts are limited to one plain mailto: address (declared policy)",
       "7.3",
       Level::Policy,
       "A target declaring strict-contacts refuses a tel: contact with unsupportedContact and "
       "a mailto: with hfields (?subject=) with invalidContact, creating no account for "
       "either (onlyReturnExisting afterwards answers accountDoesNotExist).",
       {"strict-contacts"}},
      [](CaseContext& ctx) {
        if (ctx.target().eab && ctx.target().eab->required) {
          abort_case(Verdict::skip("the target requires EAB; this case sends a bare newAccount"));
        }
        auto refused_without_account = [&ctx](const std::string& contact, const std::string& type) {
          auto c = ctx.client();
          auto dir = need(c->directory(), "fetch the directory");
          client::RawPostOptions o;
          o.signer = fresh_signer();
          Json payload = {{"termsOfServiceAgreed", true}, {"contact", {contact}}};
          auto r = post_raw_retrying(*c, dir.new_account, Json::object(), payload.dump(), o);
          Verdict refused = expect_problem(r, 400, {type});
          if (refused.outcome != reports::Outcome::Pass) return refused;
          auto after = lookup_account(ctx, o.signer);
          return check(
              after && is_problem(*after, "accountDoesNotExist"),
              "no account for contact " + contact + " (onlyReturnExisting: accountDoesNotExist)",
              describe(after));
        };
        Verdict tel = refused_without_account("tel:+1555", "unsupportedContact");
        if (tel.outcome != reports::Outcome::Pass) return tel;
        return refused_without_account("mailto:a@x?subject=y", "invalidContact");
      }));
}

}  // namespace attestlab::conformance
