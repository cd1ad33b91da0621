// RFC 8555 §6.2 (request authentication: JWS) and §6.4 (request URL integrity). Most
// cases send a broken account update (new contact) and check both the refusal and that
// the account did not change.
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

// Why "none" and MAC algorithms are refused with badSignatureAlgorithm.
constexpr const char* kUnsupportedAlgQuote =
    "RFC 8555 §6.2: \"If the client sends a JWS signed with an algorithm that the server does "
    "not support, then the server MUST return an error with status code 400 (Bad Request) and "
    "type \"urn:ietf:params:acme:error:badSignatureAlgorithm\".\" (no server can support it: "
    "\"This field MUST NOT contain \"none\" or a Message Authentication Code (MAC) "
    "algorithm\").";

// The MUST a JWS that cannot be verified breaks.
constexpr const char* kVerifyQuote =
    "RFC 8555 §6.2: \"The server MUST verify the JWS before processing the request.\"";

// The expected refusal: any 4xx when neither status nor types are given, else the problem.
Verdict refusal(const Result<http::Response>& r, int status,
                const std::vector<std::string>& types) {
  return (status == 0 && types.empty()) ? expect_refused(r) : expect_problem(r, status, types);
}

// RFC 8555 §6.2's sentence on the media type of a POST.
constexpr const char* kMediaTypeQuote =
    "\"If a request does not meet this requirement, then the server MUST return a response with "
    "status code 415 (Unsupported Media Type).\"";

// An account update sent with this Content-Type ("" = none), then: status 415, and the
// account unchanged.
Verdict unsupported_media_type(CaseContext& ctx, std::string content_type) {
  client::RawPostOptions options;
  options.content_type = std::move(content_type);
  WatchedAccount w = watched_account(ctx);
  auto r =
      post_raw_retrying(*w.client, w.account.url, Json::object(), contact_update_text(), options);
  return first_failure({expect_status(r, 415), contact_unchanged(*w.client, w.account.url)});
}

// A broken account update sent with post_raw, then: the expected refusal, and the account
// unchanged.
Verdict refused_update(CaseContext& ctx, const client::RawPostOptions& options,
                       const Json& overrides, int status, const std::vector<std::string>& types) {
  WatchedAccount w = watched_account(ctx);
  auto r = post_raw_retrying(*w.client, w.account.url, overrides, contact_update_text(), options);
  return first_failure({refusal(r, status, types), contact_unchanged(*w.client, w.account.url)});
}

// A hand-built account update (nonce → body), then the refusal and the account unchanged.
Verdict refused_built_update(
    CaseContext& ctx,
    const std::function<std::string(client::AcmeClient&, const std::string&, const std::string&)>&
        build,
    int status, const std::vector<std::string>& types) {
  WatchedAccount w = watched_account(ctx);
  auto r = post_built(*w.client, w.account.url, [&](const std::string& nonce) {
    return build(*w.client, nonce, w.account.url);
  });
  return first_failure({refusal(r, status, types), contact_unchanged(*w.client, w.account.url)});
}

std::string b64(const Json& j) {
  return base64url_encode(j.dump());
}

}  // namespace

void add_jws_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-6.2-alg-none", "alg \"none\" is refused", "6.2", Level::Must,
       "A JWS with alg \"none\" is refused with HTTP 400 badSignatureAlgorithm (an algorithm the "
       "server does not support), and the request has no effect: " +
           std::string(kUnsupportedAlgQuote)},
      [](CaseContext& ctx) {
        client::RawPostOptions o;
        o.alg = "none";
        return refused_update(ctx, o, Json::object(), 400, {"badSignatureAlgorithm"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-alg-hs256", "A MAC algorithm (HS256) is refused", "6.2", Level::Must,
       "A request JWS MACed with HS256 is refused with HTTP 400 badSignatureAlgorithm, and the "
       "request has no effect: " +
           std::string(kUnsupportedAlgQuote)},
      [](CaseContext& ctx) {
        const Bytes mac_key = random_bytes(32);
        return refused_built_update(
            ctx,
            [&](client::AcmeClient& c, const std::string& nonce, const std::string& url) {
              Json header = account_header(c, nonce, url);
              header["alg"] = "HS256";
              const std::string input = b64(header) + "." + base64url_encode(contact_update_text());
              return Json{{"protected", b64(header)},
                          {"payload", base64url_encode(contact_update_text())},
                          {"signature", base64url_encode(hmac_sha256(mac_key, input))}}
                  .dump();
            },
            400, {"badSignatureAlgorithm"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-badsigalg-lists-algorithms",
       "badSignatureAlgorithm lists the supported algorithms", "6.2", Level::Must,
       "\"The problem document returned with the error MUST include an \"algorithms\" "
       "field with an array of supported \"alg\" values.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::RawPostOptions o;
        o.alg = "none";
        auto r = post_raw_retrying(*c, c->account_url(), Json::object(), "", o);
        if (!r || !is_problem(*r, "badSignatureAlgorithm")) {
          return Verdict::fail("a badSignatureAlgorithm problem (for alg none) with \"algorithms\"",
                               describe(r));
        }
        Json body = *json_body(*r);
        const Json algs = body.value("algorithms", Json());
        bool fine = algs.is_array() && !algs.empty();
        for (const auto& a : algs) fine = fine && a.is_string();
        return check(fine, "\"algorithms\": a non-empty array of strings",
                     body.contains("algorithms") ? "\"algorithms\": " + algs.dump()
                                                 : "no \"algorithms\" member");
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-alg-key-mismatch", "alg must match the key", "6.2", Level::Must,
       "A JWS whose alg (ES384) does not fit the account key (P-256) is refused, and the request "
       "has no effect (such a JWS does not verify: RFC 7518 §3.4 ties ES384 to P-384): RFC 8555 "
       "§6.2: \"The server MUST verify the JWS before processing the request.\""},
      [](CaseContext& ctx) {
        client::RawPostOptions o;
        o.alg = "ES384";
        return refused_update(ctx, o, Json::object(), 0, {});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-jwk-and-kid", "jwk and kid together are refused", "6.2", Level::Must,
       "A protected header carrying both \"jwk\" and \"kid\" is refused, and the request has no "
       "effect: RFC 8555 §6.2: \"The \"jwk\" and \"kid\" fields are mutually exclusive. Servers "
       "MUST reject requests that contain both.\""},
      [](CaseContext& ctx) {
        client::RawPostOptions o;
        o.include_jwk_and_kid = true;
        return refused_update(ctx, o, Json::object(), 0, {});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-neither-jwk-nor-kid", "A header without jwk or kid is refused", "6.2",
       Level::Must,
       "A protected header with neither \"jwk\" nor \"kid\" is refused, and the request has no "
       "effect: with no key named, the JWS cannot be verified: " +
           std::string(kVerifyQuote)},
      [](CaseContext& ctx) {
        return refused_update(ctx, {}, Json{{"kid", nullptr}}, 0, {});
      }));

  out.push_back(
      rfc_case({"rfc8555-6.2-newaccount-needs-jwk", "newAccount signed with kid is refused", "6.2",
                Level::May,
                "A newAccount request identified by \"kid\" instead of \"jwk\" may be refused: "
                "RFC 8555 §6.2: \"For newAccount requests, and for revokeCert requests "
                "authenticated by a certificate key, there MUST be a \"jwk\" field.\" binds the "
                "client; no sentence says the server MUST reject it (the JWS still verifies)."},
               [](CaseContext& ctx) {
                 auto c = ctx.shared_client();
                 auto dir = need(c->directory(), "fetch the directory");
                 auto r = post_raw_retrying(*c, dir.new_account, Json::object(),
                                            Json{{"termsOfServiceAgreed", true}}.dump());
                 return expect_refused(r);
               }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-kid-required", "Requests other than newAccount must use kid", "6.2",
       Level::May,
       "A newOrder signed by the account key but identified by \"jwk\" instead of \"kid\" may "
       "be refused: RFC 8555 §6.2: \"For all other requests, the request is signed using an "
       "existing account, and there MUST be a \"kid\" field.\" binds the client; no sentence "
       "says the server MUST reject it (the JWS still verifies under the account key)."},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        auto dir = need(c->directory(), "fetch the directory");
        client::RawPostOptions o;
        o.use_jwk_instead_of_kid = true;
        auto r = post_raw_retrying(
            *c, dir.new_order, Json::object(),
            Json{{"identifiers", {dns_id(ctx.new_domain("jwk")).to_json()}}}.dump(), o);
        return expect_refused(r);
      }));

  // §6.2 requires a "kid" naming an existing account: refusing is the MUST. §6.7 says the
  // error "SHOULD" come as a problem document, and allows 4XX or 5XX: that is the SHOULD part.
  const auto unknown_kid_order = [](CaseContext& ctx) {
    auto c = ctx.shared_client();
    auto dir = need(c->directory(), "fetch the directory");
    const std::string fake = c->account_url() + "x" + hex_encode(random_bytes(4));
    return post_raw_retrying(
        *c, dir.new_order, Json{{"kid", fake}},
        Json{{"identifiers", {dns_id(ctx.new_domain("kid")).to_json()}}}.dump());
  };
  out.push_back(rfc_case(
      {"rfc8555-6.2-unknown-kid", "A kid naming no account is refused", "6.2", Level::Must,
       "A request whose \"kid\" is not the URL of an existing account is refused (an error "
       "status, 4xx or 5xx): no account key verifies it: " +
           std::string(kVerifyQuote) +
           " (the \"kid\" \"MUST contain the account URL received by POSTing to the newAccount "
           "resource\")."},
      [unknown_kid_order](CaseContext& ctx) {
        auto r = unknown_kid_order(ctx);
        return check(r && r->status >= 400, "an error status", describe(r));
      }));
  out.push_back(rfc_case(
      {"rfc8555-6.2-unknown-kid-problem", "An unknown kid is refused with a 4xx problem document",
       "6.7", Level::Should,
       "The refusal of an unknown \"kid\" should be a 4xx problem document (\"the server SHOULD "
       "provide additional information using a problem document\"; the RFC's type for it is "
       "accountDoesNotExist)."},
      [unknown_kid_order](CaseContext& ctx) {
        return expect_problem(unknown_kid_order(ctx), 0, {});
      }));

  out.push_back(
      rfc_case({"rfc8555-6.2-bad-signature", "An invalid signature is refused", "6.2", Level::Must,
                "A JWS whose signature does not verify is refused, and the request has no "
                "effect: RFC 8555 §6.2: \"The server MUST verify the JWS before processing the "
                "request.\""},
               [](CaseContext& ctx) {
                 client::RawPostOptions o;
                 o.corrupt_signature = true;
                 return refused_update(ctx, o, Json::object(), 0, {});
               }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-foreign-key-under-kid",
       "A signature by another key under the account's kid is refused", "6.2", Level::Must,
       "A request naming an account by \"kid\" but signed by a different key is refused, and "
       "the request has no effect: the signature does not verify under the account's key: " +
           std::string(kVerifyQuote)},
      [](CaseContext& ctx) {
        client::RawPostOptions o;
        o.signer = fresh_signer();
        o.use_kid = true;
        return refused_update(ctx, o, Json::object(), 0, {});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.4-url-mismatch", "The url header must equal the request URL", "6.4", Level::Must,
       "A request whose \"url\" header parameter differs from the request URL is rejected as "
       "unauthorized, and the request has no effect: RFC 8555 §6.4: \"On receiving such an object "
       "in an HTTP request, the server MUST compare the \"url\" header parameter to the request "
       "URL.  If the two do not match, then the server MUST reject the request as unauthorized.\""},
      [](CaseContext& ctx) {
        WatchedAccount w = watched_account(ctx);
        auto dir = need(w.client->directory(), "fetch the directory");
        client::RawPostOptions o;
        o.header_url = dir.new_order;
        auto r =
            post_raw_retrying(*w.client, w.account.url, Json::object(), contact_update_text(), o);
        return first_failure(
            {expect_problem(r, 0, {"unauthorized"}), contact_unchanged(*w.client, w.account.url)});
      }));

  out.push_back(
      rfc_case({"rfc8555-6.4-url-missing", "The url header is required", "6.4", Level::Must,
                "A protected header without \"url\" is refused, and the request has no effect "
                "(the problem type is not checked: the header also breaks §6.2's \"The JWS "
                "Protected Header MUST include the following fields\", so malformed fits as well "
                "as unauthorized); an absent url cannot match the request URL, RFC 8555 "
                "§6.4: \"the server MUST compare the \"url\" header parameter to the request URL. "
                " If the two do not match, then the server MUST reject the request as "
                "unauthorized.\""},
               [](CaseContext& ctx) {
                 return refused_update(ctx, {}, Json{{"url", nullptr}}, 0, {});
               }));

  out.push_back(
      rfc_case({"rfc8555-6.2-content-type-json",
                "Content-Type application/json is refused with 415", "6.2", Level::Must,
                std::string("A POST whose Content-Type is application/json (not "
                            "application/jose+json) gets 415 and has no effect: ") +
                    kMediaTypeQuote},
               [](CaseContext& ctx) { return unsupported_media_type(ctx, "application/json"); }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-content-type-missing", "A POST without Content-Type is refused with 415", "6.2",
       Level::Must,
       std::string("A POST without Content-Type gets 415 and has no effect: ") + kMediaTypeQuote},
      [](CaseContext& ctx) { return unsupported_media_type(ctx, ""); }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-body-not-json", "A body that is not JSON is refused", "6.2", Level::Must,
       "A POST whose body is not a JWS (not even JSON) is refused (any 4xx; a problem document "
       "is only §6.7's SHOULD): RFC 8555 §6.2: \"All ACME requests with a non-empty body MUST "
       "encapsulate their payload in a JSON Web Signature (JWS) [RFC7515] object, signed using "
       "the account's private key unless otherwise specified.  The server MUST verify the JWS "
       "before processing the request.\""},
      [](CaseContext& ctx) {
        auto c = ctx.shared_client();
        client::RawPostOptions o;
        o.raw_body = "this is not a JWS";
        return expect_refused(c->post_raw(c->account_url(), Json::object(), "", o));
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-general-serialization", "The general JWS serialization is refused", "6.2",
       Level::May,
       "A JWS in the General JSON Serialization (a \"signatures\" array) may be refused: \"The "
       "JWS MUST be in the Flattened JSON Serialization\" binds the client, not the server."},
      [](CaseContext& ctx) {
        return refused_built_update(
            ctx,
            [](client::AcmeClient& c, const std::string& nonce, const std::string& url) {
              auto parts = need(client::sign_jws(account_header(c, nonce, url),
                                                 contact_update_text(), *c.account_key()),
                                "sign");
              return Json{
                  {"payload", parts.payload_b64},
                  {"signatures",
                   {{{"protected", parts.protected_b64}, {"signature", parts.signature_b64}}}}}
                  .dump();
            },
            0, {});
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-unprotected-header", "An unprotected header is refused", "6.2", Level::May,
       "A JWS using the JWS Unprotected Header (a \"header\" member) may be refused: \"The JWS "
       "Unprotected Header MUST NOT be used\" binds the client, not the server."},
      [](CaseContext& ctx) {
        return refused_built_update(
            ctx,
            [](client::AcmeClient& c, const std::string& nonce, const std::string& url) {
              auto parts = need(client::sign_jws(account_header(c, nonce, url),
                                                 contact_update_text(), *c.account_key()),
                                "sign");
              Json body = parts.to_json();
              body["header"] = Json{{"kid", c.account_url()}};
              return body.dump();
            },
            0, {});
      }));

  out.push_back(
      rfc_case({"rfc8555-6.2-unencoded-payload", "The unencoded payload option is refused", "6.2",
                Level::May,
                "A JWS using the Unencoded Payload Option (RFC 7797, \"b64\": false) may be "
                "refused: \"The JWS Unencoded Payload Option MUST NOT be used\" binds the "
                "client, not the server."},
               [](CaseContext& ctx) {
                 return refused_built_update(
                     ctx,
                     [](client::AcmeClient& c, const std::string& nonce, const std::string& url) {
                       Json header = account_header(c, nonce, url);
                       header["b64"] = false;
                       header["crit"] = {"b64"};
                       const std::string payload = contact_update_text();
                       return flattened_jws(*c.account_key(), b64(header), payload);
                     },
                     0, {});
               }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-protected-not-json", "A protected header that is not JSON is refused", "6.2",
       Level::Must,
       "A JWS whose protected header does not decode to a JSON object is refused, and the "
       "request has no effect: it cannot be verified (RFC 7515 §5.2 step 3): " +
           std::string(kVerifyQuote)},
      [](CaseContext& ctx) {
        return refused_built_update(
            ctx,
            [](client::AcmeClient& c, const std::string& /*nonce*/, const std::string& /*url*/) {
              const std::string protected_b64 = base64url_encode(std::string("not json"));
              const std::string payload = base64url_encode(contact_update_text());
              return flattened_jws(*c.account_key(), protected_b64, payload);
            },
            0, {});
      }));

  out.push_back(
      rfc_case({"rfc8555-6.2-payload-not-base64url", "A payload that is not base64url is refused",
                "6.2", Level::Must,
                "A JWS whose payload member is not base64url is refused, and the request has "
                "no effect: it fails JWS validation (RFC 7515 §5.2 step 7): " +
                    std::string(kVerifyQuote)},
               [](CaseContext& ctx) {
                 return refused_built_update(
                     ctx,
                     [](client::AcmeClient& c, const std::string& nonce, const std::string& url) {
                       const std::string protected_b64 = b64(account_header(c, nonce, url));
                       const std::string payload = "{not base64url!}";
                       return flattened_jws(*c.account_key(), protected_b64, payload);
                     },
                     0, {});
               }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-es256", "ES256 account keys are supported", "6.2", Level::Must,
       "\"An ACME server MUST implement the \"ES256\" signature algorithm\": an "
       "account with a P-256 key signing ES256 can be created and used."},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto key = need(pki::PrivateKey::generate(pki::KeySpec::p256()), "generate a key");
        auto account = c->new_account(client::make_signer(key, "ES256"), account_request(ctx));
        if (!account)
          return Verdict::fail("newAccount with an ES256 key succeeds", describe(account.error()));
        return expect_status(c->post(account->url, std::nullopt), 200);
      }));

  out.push_back(rfc_case(
      {"rfc8555-6.2-eddsa", "EdDSA (Ed25519) account keys are supported", "6.2", Level::Should,
       "The server \"SHOULD implement the \"EdDSA\" signature algorithm using the "
       "\"Ed25519\" variant\": an account with an Ed25519 key can be created."},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto key = need(pki::PrivateKey::generate(pki::KeySpec::ed25519()), "generate a key");
        auto account = c->new_account(client::make_signer(key), account_request(ctx));
        return check(account.ok(), "newAccount with an Ed25519 key succeeds",
                     account ? "ok" : describe(account.error()));
      }));
}

}  // namespace attestlab::conformance
