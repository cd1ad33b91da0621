// Building blocks shared by the cases_*.cpp files: an account whose state a case can
// watch for unwanted changes, hand-built JWS requests for the requirements post_raw
// cannot express (general serialization, unencoded payloads, HMAC signatures), the usual
// first steps of a challenge, and a device attestation with one edit to the honest leaf.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "client/acme_signer.h"
#include "conformance/case.h"
#include "conformance/context.h"
#include "conformance/device_flows.h"
#include "core/http.h"
#include "core/json.h"

namespace attestlab::conformance {

inline constexpr const char* kContactBefore = "mailto:before@example.com";
inline constexpr const char* kContactAfter = "mailto:after@example.com";

// Passes when the response's one Location field is `url`, once resolved against
// request_url (a relative reference is allowed: RFC 7231 §7.1.2).
Verdict location_is(const Result<http::Response>& r, const std::string& request_url,
                    const std::string& url);

// A newAccount request, with external account binding when the target requires it.
client::NewAccountRequest account_request(const CaseContext& ctx);

// A fresh account with contact [kContactBefore].
struct WatchedAccount {
  std::unique_ptr<client::AcmeClient> client;
  client::Account account;
};
WatchedAccount watched_account(CaseContext& ctx, const std::string& label = "client");
// {"contact": [kContactAfter]}: the update a refused request must not apply.
Json contact_update();
std::string contact_update_text();
// Passes when the account (fetched by its own client) still has contact [kContactBefore].
Verdict contact_unchanged(client::AcmeClient& c, const std::string& account_url);

// A new order's first authorization (as fetched) and its challenge of `type`; the case
// aborts when the authorization does not offer one.
struct OfferedChallenge {
  client::Order order;
  client::Authorization authz;
  client::Challenge challenge;
};
OfferedChallenge offered_challenge(CaseContext& ctx, client::AcmeClient& c, const std::string& type,
                                   std::vector<client::Identifier> ids = {});
// A new order's first authorization, validated (the case aborts when it does not become valid).
client::Authorization validated_first_authz(CaseContext& ctx, client::AcmeClient& c);

// Slot 0's device orders its serial and answers with the leaf the genuine CA issues after
// `edit` changed the honest one (edit gets the leaf and the challenge token).
AttestOutcome submit_edited_leaf(
    CaseContext& ctx,
    const std::function<sim::LeafSpec(sim::LeafSpec, const std::string& token)>& edit);

// POSTs a body built around a fresh nonce (nonce → body), re-built and re-sent with a new
// nonce while the target answers badNonce (random rejection), up to `attempts` times.
Result<http::Response> post_built(client::AcmeClient& c, const std::string& url,
                                  const std::function<std::string(const std::string& nonce)>& build,
                                  int attempts = 6);

// The protected header a request by the client's account would carry (alg of the
// account key, kid, nonce, url).
Json account_header(const client::AcmeClient& c, const std::string& nonce, const std::string& url);

// A JWS signature (JOSE form: r||s for ECDSA) by signer over `input`.
std::string jose_signature_b64u(const client::JwsSigner& signer, const std::string& input);
// The flattened JWS {"protected", "payload", "signature"} (serialized), signed by signer over
// protected_b64 + "." + payload exactly as given (neither is encoded here).
std::string flattened_jws(const client::JwsSigner& signer, const std::string& protected_b64,
                          const std::string& payload);

// A fresh P-256 signer.
std::shared_ptr<const client::JwsSigner> fresh_signer(pki::KeySpec spec = pki::KeySpec::p256());

}  // namespace attestlab::conformance
