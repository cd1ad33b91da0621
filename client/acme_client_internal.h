// Declarations shared by the translation units of AcmeClient (acme_client.cpp: transport,
// nonces, signed POSTs; acme_client_responses.cpp; acme_client_raw_post.cpp;
// acme_client_account.cpp; acme_client_order.cpp; acme_client_certificate.cpp). Internal:
// nothing outside client/acme_client*.cpp includes it.
#pragma once

#include <optional>
#include <string>

#include "core/http.h"
#include "core/json.h"
#include "core/result.h"

namespace attestlab::client::acme_detail {

inline constexpr const char* kJoseJson = "application/jose+json";
inline constexpr const char* kPemChain = "application/pem-certificate-chain";

// The problem document of an error response, if the body is one (RFC 7807). The media
// type is not required here: a conformance case checks it, the client just reads it.
std::optional<Json> problem_of(const http::Response& r);

// Whether r is a problem document of type badNonce (RFC 8555 §6.5).
bool is_bad_nonce(const http::Response& r);

// The first 200 characters of body, for error details.
std::string body_excerpt(const std::string& body);

// The error an unsuccessful response stands for: its problem document as an Error, or
// kErrorUnexpectedResponse when it has none. status set either way.
Error error_of(const http::Response& r);

// ok() for any 2xx; otherwise error_of the response (or the transport error).
Result<void> expect_ok(const Result<http::Response>& response);

}  // namespace attestlab::client::acme_detail
