// RFC 8555 §6.7 problem documents (RFC 7807, application/problem+json) built from the
// project's Error values. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/http.h"
#include "core/json.h"
#include "core/result.h"
#include "server/store/model.h"

namespace attestlab::server {

inline constexpr std::string_view kAcmeErrorPrefix = "urn:ietf:params:acme:error:";

// The JWS algorithms the server accepts, in the order the badSignatureAlgorithm problem
// lists them (RFC 8555 §6.2).
const std::vector<std::string>& supported_jws_algorithms();

// An error about one identifier of a request (RFC 8555 §6.7.1).
struct Subproblem {
  Identifier identifier;
  Error error;
};

// HTTP status for an ACME error short name when the Error does not set one: 403 for
// authorization-type failures (unauthorized, orderNotReady, ...), 429 rateLimited,
// 500 serverInternal, 404 notFound-style "malformed" only when given, else 400.
int problem_status(const Error& error);

// {"type": "urn:ietf:params:acme:error:X", "detail", "status", "subproblems"?,
//  "algorithms"? (badSignatureAlgorithm)}. Error type "conflict" is rendered as
// malformed with status 409, as RFC 8555 §7.3.5 describes key conflicts.
Json problem_json(const Error& error, const std::vector<Subproblem>& subproblems = {});

// A complete response: status, Content-Type application/problem+json, body.
http::Response problem_response(const Error& error,
                                const std::vector<Subproblem>& subproblems = {});

}  // namespace attestlab::server
