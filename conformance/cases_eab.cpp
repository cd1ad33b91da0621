// RFC 8555 §7.3.4 (external account binding). Each case uses EAB credential number N of
// the profile (see TARGETS.md: targets that bind a key id to one account need several).
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

// The MUST every refused-binding case rests on (the target declares that it verifies them).
constexpr const char* kEabRejectQuote =
    "RFC 8555 §7.3.4: \"If any of these checks fail, then the CA MUST reject the newAccount "
    "request.\"";

struct BindingSpec {
  std::string kid;
  Bytes mac_key;
  std::string url;   // inner "url"
  Json payload_jwk;  // what the inner JWS binds
  std::string alg = "HS256";
  const client::JwsSigner* sign_with = nullptr;  // non-MAC signature instead of the HMAC
};

Json build_binding(const BindingSpec& s) {
  const Json header = {{"alg", s.alg}, {"kid", s.kid}, {"url", s.url}};
  const std::string protected_b64 = base64url_encode(header.dump());
  const std::string payload_b64 = base64url_encode(s.payload_jwk.dump());
  const std::string input = protected_b64 + "." + payload_b64;
  const std::string signature = s.sign_with != nullptr
                                    ? jose_signature_b64u(*s.sign_with, input)
                                    : base64url_encode(hmac_sha256(s.mac_key, input));
  return Json{{"protected", protected_b64}, {"payload", payload_b64}, {"signature", signature}};
}

struct EabAttempt {
  Result<http::Response> response;
  std::shared_ptr<const client::JwsSigner> key;
};

// newAccount for a fresh key with the binding `tamper` makes from a correct one.
EabAttempt new_account_with(
    CaseContext& ctx, std::size_t key_index,
    const std::function<void(BindingSpec&, const client::Directory&)>& tamper) {
  auto c = ctx.client();
  auto dir = need(c->directory(), "fetch the directory");
  const EabKey credential = ctx.target().eab->key(key_index);
  auto key = fresh_signer();
  BindingSpec spec{credential.kid,
                   need(base64url_decode(credential.hmac_key_b64u), "decode the EAB key"),
                   dir.new_account, key->jwk()};
  tamper(spec, dir);
  Json payload = {{"termsOfServiceAgreed", true}, {"externalAccountBinding", build_binding(spec)}};
  client::RawPostOptions o;
  o.signer = key;
  return EabAttempt{post_raw_retrying(*c, dir.new_account, Json::object(), payload.dump(), o), key};
}

Verdict no_account_for(CaseContext& ctx, const std::shared_ptr<const client::JwsSigner>& key) {
  auto c = ctx.client("lookup");
  auto dir = need(c->directory(), "fetch the directory");
  client::RawPostOptions o;
  o.signer = key;
  auto r = post_raw_retrying(*c, dir.new_account, Json::object(),
                             Json{{"onlyReturnExisting", true}}.dump(), o);
  return check(r && is_problem(*r, "accountDoesNotExist"),
               "no account exists for the key afterwards", describe(r));
}

Verdict refused_binding(CaseContext& ctx, std::size_t key_index,
                        const std::function<void(BindingSpec&, const client::Directory&)>& tamper) {
  EabAttempt a = new_account_with(ctx, key_index, tamper);
  return first_failure({expect_refused(a.response), no_account_for(ctx, a.key)});
}

}  // namespace

void add_eab_cases(CaseList& out) {
  out.push_back(rfc_case(
      {"rfc8555-7.3.4-eab-required",
       "Without a binding, an EAB-only server refuses newAccount",
       "7.3.4",
       Level::Should,
       "A server that requires external account binding refuses newAccount without one with "
       "externalAccountRequired: RFC 8555 §7.3.4: \"If the CA receives a newAccount request "
       "without an \"externalAccountBinding\" field, then it SHOULD reply with an error of type "
       "\"externalAccountRequired\".\" (the refusal is the premise: the target declares "
       "eab.required)",
       {"eab-required"}},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto dir = need(c->directory(), "fetch the directory");
        client::RawPostOptions o;
        o.signer = fresh_signer();
        auto r = post_raw_retrying(*c, dir.new_account, Json::object(),
                                   Json{{"termsOfServiceAgreed", true}}.dump(), o);
        return expect_problem(r, 0, {"externalAccountRequired"});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.1.1-eab-required-advertised",
       "An EAB-only server says so in the directory",
       "7.1.1",
       Level::Must,
       "A server that requires external account binding sets meta.externalAccountRequired to "
       "true: RFC 8555 §7.3.4: \"If such a CA requires that newAccount requests contain an "
       "\"externalAccountBinding\" field, then it MUST provide the value \"true\" in the "
       "\"externalAccountRequired\" subfield of the \"meta\" field in the directory "
       "object.\"",
       {"eab-required"}},
      [](CaseContext& ctx) {
        auto c = ctx.client();
        auto dir = need(c->directory(), "fetch the directory");
        return check(dir.external_account_required, "meta.externalAccountRequired true",
                     dir.raw.value("meta", Json::object()).dump());
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.4-eab-valid",
       "A valid binding creates the account",
       "7.3.4",
       Level::May,
       "newAccount with a correct externalAccountBinding (HS256 over the account JWK, kid and "
       "url of newAccount) creates the account (201); no BCP 14 keyword obliges the server to "
       "create it: RFC 8555 §7.3.4: \"If all of these checks pass and the CA creates a new "
       "account, then the CA may consider the new account associated with the external account "
       "corresponding to the MAC key.\"",
       {"eab"}},
      [](CaseContext& ctx) {
        EabAttempt a = new_account_with(ctx, 0, [](BindingSpec&, const client::Directory&) {});
        return expect_status(a.response, 201);
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.4-eab-bad-mac",
       "A binding with a wrong MAC is refused",
       "7.3.4",
       Level::Must,
       "newAccount whose binding is MACed with the wrong key is refused and creates no account "
       "(step \"Verify that the MAC on the JWS verifies using that MAC key\"): " +
           std::string(kEabRejectQuote),
       {"eab"}},
      [](CaseContext& ctx) {
        return refused_binding(
            ctx, 1, [](BindingSpec& s, const client::Directory&) { s.mac_key = random_bytes(32); });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.4-eab-unknown-kid",
       "A binding with an unknown key id is refused",
       "7.3.4",
       Level::Must,
       "newAccount whose binding names an unknown key id is refused and creates no account "
       "(step \"Retrieve the MAC key corresponding to the key identifier in the \"kid\" "
       "field\"): " +
           std::string(kEabRejectQuote),
       {"eab"}},
      [](CaseContext& ctx) {
        return refused_binding(ctx, 2, [](BindingSpec& s, const client::Directory&) {
          s.kid = "attestlab-unknown-" + hex_encode(random_bytes(4));
        });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.4-eab-wrong-url",
       "The binding's url must be newAccount's",
       "7.3.4",
       Level::Must,
       "newAccount whose binding carries a \"url\" other than the newAccount URL is refused and "
       "creates no account (criterion \"The \"url\" field MUST be set to the same value as the "
       "outer JWS\"): " +
           std::string(kEabRejectQuote),
       {"eab"}},
      [](CaseContext& ctx) {
        return refused_binding(
            ctx, 3, [](BindingSpec& s, const client::Directory& d) { s.url = d.new_order; });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.4-eab-other-key",
       "The binding must cover the account key",
       "7.3.4",
       Level::Must,
       "newAccount whose binding's payload is a different JWK than the account key is refused "
       "and creates no account (step \"Verify that the payload of the JWS represents the same "
       "key as was used to verify the outer JWS\"): " +
           std::string(kEabRejectQuote),
       {"eab"}},
      [](CaseContext& ctx) {
        return refused_binding(ctx, 4, [](BindingSpec& s, const client::Directory&) {
          s.payload_jwk = fresh_signer()->jwk();
        });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.4-eab-not-mac",
       "The binding must use a MAC algorithm",
       "7.3.4",
       Level::Must,
       "newAccount whose binding is signed with a signature algorithm (ES256) instead of a MAC "
       "is refused and creates no account (criterion \"The \"alg\" field MUST indicate a "
       "MAC-based algorithm\"): " +
           std::string(kEabRejectQuote),
       {"eab"}},
      [](CaseContext& ctx) {
        auto other = fresh_signer();
        return refused_binding(ctx, 5, [other](BindingSpec& s, const client::Directory&) {
          s.alg = "ES256";
          s.sign_with = other.get();
        });
      }));
}

}  // namespace attestlab::conformance
