// Looking at what a target answered and turning it into verdicts: every failure says
// exactly what was expected and what came back (status, problem type, detail, header).
// Pure functions except the send helpers; thread-safe.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "client/acme_client.h"
#include "conformance/case.h"
#include "core/http.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::conformance {

inline constexpr const char* kProblemJson = "application/problem+json";

// "HTTP 400 urn:ietf:params:acme:error:badNonce (JWS has an invalid anti-replay nonce)",
// "HTTP 201 {order}" ... short, for expected/observed lines.
std::string describe(const http::Response& r);
std::string describe(const Result<http::Response>& r);

// The body as a JSON object, if it is one.
std::optional<Json> json_body(const http::Response& r);
// The problem document's type shortened to the ACME name ("badNonce"), or the whole type
// for other namespaces; nullopt when the body is not a problem document (a JSON object
// with a string "type").
std::optional<std::string> problem_type(const http::Response& r);
bool is_problem(const http::Response& r, const std::string& short_type);
bool is_bad_nonce(const http::Response& r);
// Media type without parameters, lowercased ("application/problem+json").
std::string media_type(const http::Response& r);

// The response is an error (4xx) carrying a problem document whose type is one of
// `types` (short names; empty = any type), with HTTP status `status` (0 = any 4xx).
Verdict expect_problem(const Result<http::Response>& r, int status,
                       const std::vector<std::string>& types);
// The request was refused (any 4xx); the type is reported but not judged.
Verdict expect_refused(const Result<http::Response>& r);
// The status is exactly `status`.
Verdict expect_status(const Result<http::Response>& r, int status);
// The status is 2xx.
Verdict expect_success(const Result<http::Response>& r);

// The first verdict that did not pass, or pass (with the notes of passing ones joined).
Verdict first_failure(std::initializer_list<Verdict> verdicts);
// A boolean check as a verdict.
Verdict check(bool condition, const std::string& expected, const std::string& observed);

// post_raw, re-sent (with the fresh nonce of the rejection) while the target answers
// badNonce, up to `attempts` times: for requests whose nonce is valid, where a badNonce
// is the target's random rejection (Pebble rejects 5 % on purpose) and not the point.
Result<http::Response> post_raw_retrying(client::AcmeClient& c, const std::string& url,
                                         const Json& overrides, const std::string& payload,
                                         const client::RawPostOptions& options = {},
                                         int attempts = 6);
// A signed POST-as-GET (or POST with payload) by the account, retried on badNonce.
Result<http::Response> post_retrying(client::AcmeClient& c, const std::string& url,
                                     const std::optional<Json>& payload);

// The RFC 3339 timestamp syntax ACME uses ("2026-01-01T00:00:00Z", fractions and offsets
// allowed).
bool looks_like_rfc3339(const std::string& s);
// base64url alphabet only, no padding.
bool is_base64url(const std::string& s);

}  // namespace attestlab::conformance
