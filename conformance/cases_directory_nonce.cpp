// RFC 8555 §7.1.1 (directory), §7.2 (getting a nonce), §6.5 (replay protection).
#include <set>

#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/utf8.h"

namespace attestlab::conformance {
namespace {

http::Response get_directory(CaseContext& ctx, client::AcmeClient& c) {
  return need(c.get(ctx.target().directory_url), "GET the directory");
}

std::string new_nonce_url(client::AcmeClient& c) {
  return need(c.directory(), "fetch the directory").new_nonce;
}

// An account update sent once with post_raw and `options` (no retry: the nonce is what is
// tested), then: HTTP 400 with one of `types`, and the account unchanged.
Verdict nonce_refused(CaseContext& ctx, const client::RawPostOptions& options,
                      const std::vector<std::string>& types) {
  WatchedAccount w = watched_account(ctx);
  auto r = w.client->post_raw(w.account.url, Json::object(), contact_update_text(), options);
  return first_failure(
      {expect_problem(r, 400, types), contact_unchanged(*w.client, w.account.url)});
}

}  // namespace

void add_directory_nonce_cases(CaseList& out) {
  // The directory's members as URLs: `names` each present with an http(s) URL.
  const auto directory_urls = [](CaseContext& ctx, std::initializer_list<const char*> names) {
    auto c = ctx.client();
    http::Response r = get_directory(ctx, *c);
    if (r.status != 200) return Verdict::fail("HTTP 200", describe(r));
    auto body = json_body(r);
    if (!body) return Verdict::fail("a JSON object", describe(r));
    for (const char* name : names) {
      const std::string* url = get_string(*body, name);
      if (url == nullptr || url->rfind("http", 0) != 0) {
        return Verdict::fail(std::string("member \"") + name + "\" with a URL",
                             body->contains(name) ? (*body)[name].dump() : "member missing");
      }
    }
    return Verdict::pass();
  };
  out.push_back(rfc_case(
      {"rfc8555-7.1.1-directory-resources", "Directory lists the newNonce resource", "7.1.1",
       Level::Must,
       "The directory is a JSON object whose newNonce member is a URL string: RFC 8555 §7.1: "
       "\"The server MUST provide \"directory\" and \"newNonce\" resources.\" (the other "
       "resources are the split case rfc8555-7.1.1-directory-resources-all)"},
      [directory_urls](CaseContext& ctx) { return directory_urls(ctx, {"newNonce"}); }));
  out.push_back(rfc_case(
      {"rfc8555-7.1.1-directory-resources-all", "Directory lists the other resources", "7.1.1",
       Level::May,
       "The directory's newAccount, newOrder, revokeCert and keyChange members are URL strings; "
       "no BCP 14 keyword requires them: RFC 8555 §7.1.1: \"It is a JSON object, whose field "
       "names are drawn from the resource registry (Section 9.7.5) and whose values are the "
       "corresponding URLs.\" (only \"The server MUST provide \"directory\" and \"newNonce\" "
       "resources.\" is a MUST)"},
      [directory_urls](CaseContext& ctx) {
        return directory_urls(ctx, {"newAccount", "newOrder", "revokeCert", "keyChange"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.1-directory-meta", "Directory meta is an object", "7.1.1", Level::Must,
       "When the directory has \"meta\", it is a JSON object (its members' types are the split "
       "case rfc8555-7.1.1-directory-meta-fields): RFC 8555 §7.1.1: \"The object MAY "
       "additionally contain a \"meta\" field. If present, it MUST be a JSON object\""},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto body = json_body(get_directory(ctx, *c));
        need_that(body.has_value(), "the directory is a JSON object");
        if (!body->contains("meta")) return Verdict::pass("no meta object (optional)");
        const Json& meta = (*body)["meta"];
        if (!meta.is_object()) return Verdict::fail("meta is an object", meta.dump());
        return Verdict::pass();
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.1-directory-meta-fields", "Directory meta members have the specified types",
       "7.1.1", Level::May,
       "When the directory has a \"meta\" object, its termsOfService and website are strings, "
       "caaIdentities an array of strings and externalAccountRequired a boolean; no BCP 14 "
       "keyword: RFC 8555 §7.1.1 lists them as \"termsOfService (optional, string)\", "
       "\"website (optional, string)\", \"caaIdentities (optional, array of string)\" and "
       "\"externalAccountRequired (optional, boolean)\" (lower case)."},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto body = json_body(get_directory(ctx, *c));
        need_that(body.has_value(), "the directory is a JSON object");
        if (!body->contains("meta") || !(*body)["meta"].is_object()) {
          return Verdict::pass("no meta object (optional)");
        }
        const Json& meta = (*body)["meta"];
        for (const char* s : {"termsOfService", "website"}) {
          if (meta.contains(s) && !meta[s].is_string()) {
            return Verdict::fail(std::string(s) + " is a string", meta[s].dump());
          }
        }
        if (meta.contains("caaIdentities")) {
          const Json& caa = meta["caaIdentities"];
          bool fine = caa.is_array();
          for (const auto& x : caa) fine = fine && x.is_string();
          if (!fine) return Verdict::fail("caaIdentities is an array of strings", caa.dump());
        }
        if (meta.contains("externalAccountRequired") &&
            !meta["externalAccountRequired"].is_boolean()) {
          return Verdict::fail("externalAccountRequired is a boolean",
                               meta["externalAccountRequired"].dump());
        }
        return Verdict::pass();
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.2-head-nonce", "HEAD newNonce returns a Replay-Nonce", "7.2", Level::Must,
       "The response to HEAD newNonce includes a Replay-Nonce header field with a fresh nonce: "
       "RFC 8555 §7.2: \"The server's response MUST include a Replay-Nonce header field "
       "containing a fresh nonce and SHOULD have status code 200 (OK).\" (the SHOULD part is "
       "rfc8555-7.2-head-nonce-200)"},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto r = need(c->head(new_nonce_url(*c)), "HEAD newNonce");
        const auto nonce = r.header("replay-nonce");
        return check(nonce && !nonce->empty(), "a Replay-Nonce header",
                     describe(r) + ", no Replay-Nonce");
      }));

  out.push_back(
      rfc_case({"rfc8555-7.2-head-nonce-200", "HEAD newNonce answers 200", "7.2", Level::Should,
       "The response to HEAD newNonce should be 200: the server's response \"MUST "
       "include a Replay-Nonce header field containing a fresh nonce and SHOULD have "
       "status code 200 (OK).\""},
               [](CaseContext& ctx) {
                 auto c = ctx.client();
                 return expect_status(c->head(new_nonce_url(*c)), 200);
               }));

  out.push_back(rfc_case(
      {"rfc8555-7.2-get-nonce-204", "GET newNonce answers 204 with a Replay-Nonce", "7.2",
       Level::Must,
       "The server responds to GET newNonce with status 204 (No Content), an empty body and a "
       "Replay-Nonce header field: RFC 8555 §7.2: \"The server MUST also respond to GET "
       "requests for this resource, returning an empty body (while still providing a "
       "Replay-Nonce header) with a status code of 204 (No Content).\""},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto r = need(c->get(new_nonce_url(*c)), "GET newNonce");
        const auto nonce = r.header("replay-nonce");
        return first_failure({expect_status(r, 204),
                              check(nonce && !nonce->empty(), "a Replay-Nonce header", "none"),
                              check(r.body.empty(), "an empty body", "body " + r.body)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.2-nonce-no-store", "newNonce responses are not cacheable", "7.2", Level::Must,
       "\"The server MUST include a Cache-Control header field with the \"no-store\" "
       "directive in responses for the new-nonce resource, in order to prevent caching"
       " of this resource.\""},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        const std::string url = new_nonce_url(*c);
        for (const char* method : {"HEAD", "GET"}) {
          auto r = need(std::string(method) == "HEAD" ? c->head(url) : c->get(url),
                        std::string(method) + " newNonce");
          const std::string cc = r.header("cache-control").value_or("");
          if (cc.find("no-store") == std::string::npos) {
            return Verdict::fail(std::string("Cache-Control: no-store on ") + method,
                                 cc.empty() ? "no Cache-Control header" : "Cache-Control: " + cc);
          }
        }
        return Verdict::pass();
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5.1-nonce-syntax", "Replay-Nonce values are base64url", "6.5.1", Level::Must,
       "The value of the Replay-Nonce header field is an octet string encoded with base64url "
       "(no padding: the ABNF is \"Replay-Nonce = 1*base64url\", base64url = ALPHA / DIGIT / "
       "\"-\" / \"_\"): RFC 8555 §6.5.1: \"The value of the Replay-Nonce header field MUST be "
       "an octet string encoded according to the base64url encoding described in Section 2 of "
       "[RFC7515].\""},
      [](CaseContext& ctx) {
        // Read raw through head(): new_nonce() refuses invalid values, as the RFC tells
        // clients to.
        auto c = ctx.client();
        const std::string url = need(c->directory(), "fetch the directory").new_nonce;
        for (int i = 0; i < 5; ++i) {
          auto r = need(c->head(url), "HEAD newNonce");
          need_that(r.status / 100 == 2, "newNonce answers 2xx (" + describe(r) + ")");
          const auto fields = r.all("replay-nonce");
          need_that(!fields.empty(), "newNonce sends a Replay-Nonce");
          if (fields.size() != 1) {
            return Verdict::fail("one Replay-Nonce field",
                                 std::to_string(fields.size()) + " Replay-Nonce fields");
          }
          if (fields[0].empty() || !is_base64url(fields[0]))
            return Verdict::fail("a base64url nonce",
                                 "Replay-Nonce: " + utf8_excerpt(fields[0], 120));
        }
        return Verdict::pass();
      }));

  out.push_back(rfc_case({"rfc8555-6.5-nonce-unique", "Nonces are unique", "6.5", Level::Must,
                          "The server generates Replay-Nonce values unique to each message: "
                          "RFC 8555 §6.5.1: \"The server MUST generate the values provided in "
                          "Replay-Nonce header fields in such a way that they are unique to each "
                          "message, with high probability, and unpredictable to anyone besides "
                          "the server.\""},
                         [](CaseContext& ctx) {
                           auto c = ctx.client();
                           std::set<std::string> seen;
                           for (int i = 0; i < 10; ++i) {
                             const std::string nonce = need(c->new_nonce(), "get a nonce");
                             if (!seen.insert(nonce).second)
                               return Verdict::fail("10 distinct nonces",
                                                    "repeated nonce " + nonce);
                           }
                           return Verdict::pass();
                         }));

  out.push_back(rfc_case(
      {"rfc8555-6.5-nonce-reuse", "A nonce is accepted only once", "6.5", Level::Must,
       "A request carrying a nonce the server already accepted is refused with 400 "
       "badNonce and has no effect: \"When a server rejects a request because its "
       "nonce value was unacceptable (or not present), it MUST provide HTTP status "
       "code 400 (Bad Request), and indicate the ACME error type "
       "\"urn:ietf:params:acme:error:badNonce\".\""},
      [](CaseContext& ctx) {
        WatchedAccount w = watched_account(ctx);
        // A POST-as-GET that the server accepts consumes nonce N (re-sent with a new nonce
        // while the server rejects nonces at random).
        auto first = need(post_raw_retrying(*w.client, w.account.url, Json::object(), ""),
                          "POST-as-GET the account");
        need_that(first.status == 200, "the account can be fetched (" + describe(first) + ")");
        client::RawPostOptions reuse;
        reuse.reuse_nonce = true;
        auto replay =
            w.client->post_raw(w.account.url, Json::object(), contact_update_text(), reuse);
        return first_failure({expect_problem(replay, 400, {"badNonce"}),
                              contact_unchanged(*w.client, w.account.url)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5-nonce-missing", "A request without a nonce is refused", "6.5", Level::Must,
       "A JWS without a \"nonce\" header parameter is refused with 400 badNonce and "
       "has no effect: \"When a server rejects a request because its nonce value was "
       "unacceptable (or not present), it MUST provide HTTP status code 400 (Bad "
       "Request), and indicate the ACME error type "
       "\"urn:ietf:params:acme:error:badNonce\".\""},
      [](CaseContext& ctx) {
        client::RawPostOptions o;
        o.omit_nonce = true;
        return nonce_refused(ctx, o, {"badNonce"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5-nonce-unknown", "A nonce the server never issued is refused", "6.5",
       Level::Must,
       "A well-formed nonce the server never issued is refused with 400 badNonce and "
       "has no effect: \"When a server rejects a request because its nonce value was "
       "unacceptable (or not present), it MUST provide HTTP status code 400 (Bad "
       "Request), and indicate the ACME error type "
       "\"urn:ietf:params:acme:error:badNonce\".\""},
      [](CaseContext& ctx) {
        client::RawPostOptions o;
        o.nonce = base64url_encode(random_bytes(16));
        return nonce_refused(ctx, o, {"badNonce"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5.1-nonce-not-base64url", "A nonce that is not base64url is refused", "6.5.1",
       Level::Must,
       "A \"nonce\" header parameter that is not base64url is refused with HTTP 400 (badNonce or "
       "malformed): RFC 8555 §6.5.2: \"If the value of a \"nonce\" header parameter is not valid "
       "according to this encoding, then the verifier MUST reject the JWS as malformed.\" and "
       "§6.5: \"When a server rejects a request because its nonce value was unacceptable (or not "
       "present), it MUST provide HTTP status code 400 (Bad Request), and indicate the ACME error "
       "type \"urn:ietf:params:acme:error:badNonce\".\""},
      [](CaseContext& ctx) {
        client::RawPostOptions o;
        o.nonce = "not+a/nonce==";
        return nonce_refused(ctx, o, {"badNonce", "malformed"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5-badnonce-carries-nonce", "A badNonce error carries a fresh nonce", "6.5",
       Level::Must,
       "\"An error response with the \"badNonce\" error type MUST include a "
       "Replay-Nonce header with a fresh nonce that the server will accept in a retry "
       "of the original query\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::RawPostOptions o;
        o.nonce = base64url_encode(random_bytes(16));
        auto r = c->post_raw(c->account_url(), Json::object(), "", o);
        need_that(r && is_bad_nonce(*r),
                  "an unknown nonce is answered with badNonce (" + describe(r) + ")");
        const auto nonce = r->header("replay-nonce");
        return check(nonce && !nonce->empty() && *nonce != *o.nonce,
                     "a fresh Replay-Nonce on the badNonce response",
                     nonce ? "Replay-Nonce: " + *nonce : "no Replay-Nonce");
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5-badnonce-retry-accepted", "The nonce from a badNonce error is accepted", "6.5",
       Level::Must,
       "The nonce of a badNonce response is accepted in a retry: \"An error response "
       "with the \"badNonce\" error type MUST include a Replay-Nonce header with a "
       "fresh nonce that the server will accept in a retry of the original query\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::RawPostOptions o;
        o.nonce = base64url_encode(random_bytes(16));
        auto r = c->post_raw(c->account_url(), Json::object(), "", o);
        need_that(r && is_bad_nonce(*r),
                  "an unknown nonce is answered with badNonce (" + describe(r) + ")");
        // Each retry uses exactly the nonce of the previous badNonce answer. A server that
        // rejects valid nonces at random (Pebble: 5 %) gets a few tries.
        for (int attempt = 0; attempt < 5; ++attempt) {
          const auto nonce = r->header("replay-nonce");
          if (!nonce) return Verdict::fail("a Replay-Nonce on the badNonce response", "none");
          client::RawPostOptions retry;
          retry.nonce = *nonce;
          r = c->post_raw(c->account_url(), Json::object(), "", retry);
          if (!r || !is_bad_nonce(*r)) break;
        }
        return expect_status(r, 200);
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5-replay-nonce-on-success", "Successful POST responses carry Replay-Nonce", "6.5",
       Level::Must,
       "Every successful response to a POST (newAccount, POST-as-GET, newOrder) includes a "
       "Replay-Nonce header field: RFC 8555 §6.5: \"The server MUST include a Replay-Nonce "
       "header field in every successful response to a POST request\"."},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        const auto has_nonce = [&](const char* what) {
          const auto& r = c->last_response();
          need_that(r.has_value(), std::string("a response to ") + what);
          const auto nonce = r->header("replay-nonce");
          return check(nonce && !nonce->empty(),
                       std::string("Replay-Nonce on the ") + what + " response",
                       describe(*r) + " without Replay-Nonce");
        };
        client::Account account = ctx.new_account(*c);
        Verdict v1 = has_nonce("newAccount");
        need(c->get_account(), "POST-as-GET the account");
        Verdict v2 = has_nonce("POST-as-GET account");
        need(c->new_order({dns_id(ctx.new_domain("nonce"))}), "create an order");
        Verdict v3 = has_nonce("newOrder");
        return first_failure({v1, v2, v3});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.5-replay-nonce-on-error", "Error responses to POST carry Replay-Nonce", "6.5",
       Level::Should,
       "Error responses to POST requests should also include a Replay-Nonce header field: RFC "
       "8555 §6.5: \"The server MUST include a Replay-Nonce header field in every successful "
       "response to a POST request and SHOULD provide it in error responses as well.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        auto dir = need(c->directory(), "fetch the directory");
        auto r = post_raw_retrying(*c, dir.new_order, Json::object(),
                                   Json{{"identifiers", "not-an-array"}}.dump());
        need_that(r && r->status >= 400, "a malformed newOrder is refused (" + describe(r) + ")");
        const auto nonce = r->header("replay-nonce");
        return check(nonce && !nonce->empty(), "Replay-Nonce on the error response",
                     describe(*r) + " without Replay-Nonce");
      }));
}

}  // namespace attestlab::conformance
