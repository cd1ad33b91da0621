// RFC 8555 §7.3.5 (account key rollover). Every refused rollover is followed by a check
// that the old key still controls the account.
#include "conformance/case_builder.h"
#include "conformance/case_support.h"
#include "conformance/checks.h"
#include "conformance/context.h"
#include "conformance/flows.h"
#include "conformance/registry.h"
#include "core/bytes.h"

namespace attestlab::conformance {
namespace {

struct InnerSpec {
  const client::JwsSigner* signer = nullptr;  // who signs the inner JWS
  Json jwk;                                   // inner "jwk" header (the new key)
  std::string url;                            // inner "url"
  Json payload;                               // {"account", "oldKey"}
  bool kid_instead_of_jwk = false;
};

std::string inner_jws(const InnerSpec& s) {
  Json header = {{"alg", s.signer->alg()}, {"url", s.url}};
  if (s.kid_instead_of_jwk) {
    header["kid"] = s.payload.value("account", "");
  } else {
    header["jwk"] = s.jwk;
  }
  return need(client::sign_jws(header, s.payload.dump(), *s.signer), "sign the inner JWS")
      .to_json()
      .dump();
}

struct Rollover {
  std::unique_ptr<client::AcmeClient> client;  // the account, with its old key
  client::Account account;
  std::shared_ptr<const client::JwsSigner> old_key;
  std::shared_ptr<const client::JwsSigner> new_key;
  std::string key_change_url;
};

// An account and the directory's keyChange URL; ends the case with a skip when the
// directory has none (a bare --target assumes the "key-change" capability).
Rollover prepare(CaseContext& ctx) {
  Rollover r;
  r.client = ctx.client();
  r.key_change_url = need(r.client->directory(), "fetch the directory").key_change;
  if (r.key_change_url.empty()) {
    abort_case(Verdict::skip("the directory does not advertise keyChange (RFC 8555 §7.3.5)"));
  }
  r.old_key = fresh_signer();
  r.account = need(r.client->new_account(r.old_key, account_request(ctx)), "create an account");
  r.new_key = fresh_signer();
  return r;
}

InnerSpec correct_inner(const Rollover& r) {
  return InnerSpec{r.new_key.get(), r.new_key->jwk(), r.key_change_url,
                   Json{{"account", r.account.url}, {"oldKey", r.old_key->jwk()}}};
}

Result<http::Response> send(Rollover& r, const InnerSpec& inner) {
  return post_raw_retrying(*r.client, r.key_change_url, Json::object(), inner_jws(inner));
}

// The old key still controls the account (POST-as-GET by kid with the old key works).
Verdict old_key_still_works(Rollover& r) {
  auto res = post_raw_retrying(*r.client, r.account.url, Json::object(), "");
  return check(res && res->status == 200, "the old key still controls the account", describe(res));
}

Verdict refused(Rollover& r, const InnerSpec& inner) {
  return first_failure({expect_refused(send(r, inner)), old_key_still_works(r)});
}

// A rollover whose correct inner JWS `edit` damages: refused, and the old key keeps the
// account.
Verdict refused_after(CaseContext& ctx,
                      const std::function<void(const Rollover&, InnerSpec&)>& edit) {
  Rollover r = prepare(ctx);
  InnerSpec inner = correct_inner(r);
  edit(r, inner);
  return refused(r, inner);
}

// Another account made with the rollover's new key (so the key is already in use).
client::Account other_account_with_new_key(CaseContext& ctx, const Rollover& r) {
  auto other = ctx.client("other");
  return need(other->new_account(r.new_key, account_request(ctx)), "create the other account");
}

}  // namespace

// The sentence every refusal below rests on, and the step it names.
std::string steps_must(const char* step) {
  return std::string(
             "RFC 8555 §7.3.5: \"On receiving a keyChange request, the server MUST perform the "
             "following steps in addition to the typical JWS validation:\" ... \"") +
         step +
         "\" ... \"Otherwise, the server responds with an error status code and a problem "
         "document describing the error.\" (any error status counts: the problem document is not "
         "checked)";
}

void add_key_change_cases(CaseList& out) {
  const std::vector<std::string> caps = {"key-change"};
  // The premise of every other case here: a key change that works.
  const std::vector<std::string> after_key_change = {"rfc8555-7.3.5-key-change"};
  out.push_back(rfc_case(
      {"rfc8555-7.3.5-key-change", "keyChange moves the account to the new key", "7.3.5",
       Level::May,
       "A correct keyChange answers 200; afterwards the old key no longer works and the new key "
       "finds the same account. There is no BCP 14 keyword: no BCP 14 keyword binds a server to "
       "offer key change (RFC 8555 "
       "§7.1: \"The server MUST provide \"directory\" and \"newNonce\" resources.\"; "
       "keyChange is a capability of the target profile) nor words the outcome: §7.3.5: \"If all "
       "of these checks pass, then the server updates the corresponding account by replacing "
       "the old account key with the new public key and returns status code 200 (OK).\" The "
       "other 7.3.5 cases depend on this one.",
       caps},
      [](CaseContext& ctx) {
        Rollover r = prepare(ctx);
        auto res = send(r, correct_inner(r));
        const Verdict answer = expect_status(res, 200);
        if (!answer.passed()) return answer;
        auto old_use = post_raw_retrying(*r.client, r.account.url, Json::object(), "");
        auto lookup_client = ctx.client("new-key");
        client::RawPostOptions o;
        o.signer = r.new_key;
        auto dir = need(lookup_client->directory(), "fetch the directory");
        auto found = post_raw_retrying(*lookup_client, dir.new_account, Json::object(),
                                       Json{{"onlyReturnExisting", true}}.dump(), o);
        return first_failure({check(old_use && old_use->status >= 400,
                                    "the old key is refused afterwards", describe(old_use)),
                              expect_status(found, 200),
                              location_is(found, dir.new_account, r.account.url)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-inner-url-mismatch", "The inner url must be keyChange's", "7.3.5",
       Level::Must,
       "A keyChange whose inner JWS \"url\" differs from the outer one is refused; the old key "
       "keeps the account: " +
           steps_must("Check that the \"url\" parameters of the inner and outer JWSs are the "
                      "same."),
       caps, after_key_change},
      [](CaseContext& ctx) {
        return refused_after(
            ctx, [](const Rollover& r, InnerSpec& inner) { inner.url = r.account.url; });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-inner-account-mismatch", "The inner account must be the requester's", "7.3.5",
       Level::Must,
       "A keyChange whose inner \"account\" is not the URL of the account signing the outer JWS is "
       "refused; the old key keeps the account: " +
           steps_must("Check that the \"account\" field of the keyChange object contains the URL "
                      "for the account matching the old key (i.e., the \"kid\" field in the "
                      "outer JWS)."),
       caps, after_key_change},
      [](CaseContext& ctx) {
        return refused_after(ctx, [](const Rollover& r, InnerSpec& inner) {
          inner.payload["account"] = r.account.url + "-other";
        });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-inner-old-key-mismatch", "oldKey must be the current key", "7.3.5",
       Level::Must,
       "A keyChange whose inner \"oldKey\" is not the account's current key is refused; the old "
       "key keeps the account: " +
           steps_must("Check that the \"oldKey\" field of the keyChange object is the same as the "
                      "account key for the account in question."),
       caps, after_key_change},
      [](CaseContext& ctx) {
        return refused_after(ctx, [](const Rollover&, InnerSpec& inner) {
          inner.payload["oldKey"] = fresh_signer()->jwk();
        });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-inner-not-signed-by-new-key", "The inner JWS must be signed by the new key",
       "7.3.5", Level::Must,
       "A keyChange whose inner JWS names the new key but is signed by another key is refused; "
       "the old key keeps the account: " +
           steps_must("Check that the inner JWS verifies using the key in its \"jwk\" field."),
       caps, after_key_change},
      [](CaseContext& ctx) {
        // The impostor outlives the edit: the inner JWS is signed when the rollover is sent.
        auto impostor = fresh_signer();
        return refused_after(
            ctx, [&impostor](const Rollover&, InnerSpec& inner) { inner.signer = impostor.get(); });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-inner-needs-jwk", "The inner JWS must carry jwk", "7.3.5", Level::Must,
       "A keyChange whose inner JWS identifies its key by \"kid\" instead of \"jwk\" is refused; "
       "the old key keeps the account: " +
           steps_must("Check that the JWS protected header of the inner JWS has a \"jwk\" "
                      "field."),
       caps, after_key_change},
      [](CaseContext& ctx) {
        return refused_after(
            ctx, [](const Rollover&, InnerSpec& inner) { inner.kid_instead_of_jwk = true; });
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-new-key-in-use", "A new key that already has an account is refused", "7.3.5",
       Level::Must,
       "A keyChange to a key that already belongs to another account is refused; the old key "
       "keeps its account: " +
           steps_must("Check that no account exists whose account key is the same as the key in "
                      "the \"jwk\" header parameter of the inner JWS."),
       caps, after_key_change},
      [](CaseContext& ctx) {
        Rollover r = prepare(ctx);
        other_account_with_new_key(ctx, r);
        auto res = send(r, correct_inner(r));
        return first_failure({check(res && res->status >= 400, "an error status", describe(res)),
                              old_key_still_works(r)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-new-key-in-use-409", "A key conflict answers 409 with the other account",
       "7.3.5", Level::Should,
       "\"If there is an existing account with the new key provided, then the server "
       "SHOULD use status code 409 (Conflict) and provide the URL of that account in "
       "the Location header field.\"",
       caps, after_key_change},
      [](CaseContext& ctx) {
        Rollover r = prepare(ctx);
        client::Account other_account = other_account_with_new_key(ctx, r);
        auto res = send(r, correct_inner(r));
        return first_failure(
            {expect_status(res, 409), location_is(res, r.key_change_url, other_account.url)});
      }));

  out.push_back(rfc_case(
      {"rfc8555-7.3.5-key-change-keeps-orders", "A key change keeps pending orders", "7.3.5",
       Level::Must,
       "After a key change, the account's pending order is still pending and reachable with the "
       "new key: RFC 8555 §7.3.5: \"Note that changing the account key for an account SHOULD "
       "NOT have any other impact on the account.  For example, the server MUST NOT invalidate "
       "pending orders or authorization transactions based on a change of account key.\"",
       caps, after_key_change},
      [](CaseContext& ctx) {
        Rollover r = prepare(ctx);
        client::Order order = create_order(ctx, *r.client);
        auto res = send(r, correct_inner(r));
        need_that(res && res->status == 200, "the key change succeeds (" + describe(res) + ")");
        auto after = ctx.client("new-key");
        after->use_account(r.new_key, r.account.url);
        auto fetched = after->get_order(order.url);
        if (!fetched)
          return Verdict::fail("the order fetched with the new key", describe(fetched.error()));
        auto authz = after->get_authz(order.authorizations.front());
        return first_failure(
            {check(fetched->status == "pending", "order still \"pending\"",
                   "order \"" + fetched->status + "\""),
             check(authz && authz->status == "pending", "authorization still \"pending\"",
                   authz ? "authorization \"" + authz->status + "\"" : describe(authz.error()))});
      }));
}

}  // namespace attestlab::conformance
