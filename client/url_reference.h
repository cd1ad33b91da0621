// URLs a server hands back in header fields: RFC 3986 reference resolution, and the
// Location field (RFC 7231 §7.1.2) read as the client must read it. Pure functions,
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/http.h"
#include "core/result.h"

namespace attestlab::client {

// The target URI of `reference` resolved against the absolute URI `base` (RFC 3986 §5.2:
// an absolute reference stands as it is, with its dot segments removed; "//host/p",
// "/p", "p", "?q", "../p" take what they lack from base). Error("malformed") when base has
// no scheme or either holds a space or a control character.
Result<std::string> resolve_reference(std::string_view base, std::string_view reference);

// The URL of a response's Location field: RFC 7231 §7.1.2 "Location = URI-reference", and
// "When it has the form of a relative reference ([RFC3986], Section 4.2), the final value
// is computed by resolving it against the effective request URI", here request_url.
// kErrorUnexpectedResponse (status set) when the field is missing or empty, when the
// response has it more than once (a single URI-reference may not be repeated, RFC 7230
// §3.2.2: no value is picked from an ambiguous answer), or when it does not resolve.
Result<std::string> location_url(const http::Response& response, const std::string& request_url);

}  // namespace attestlab::client
