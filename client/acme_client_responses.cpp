// How AcmeClient reads what the server answered: problem documents, JSON bodies, and the
// errors a response that breaks the protocol turns into (the Location field: url_reference.h).
#include "client/acme_client.h"
#include "client/acme_client_internal.h"
#include "core/utf8.h"

namespace attestlab::client {
namespace acme_detail {

std::optional<Json> problem_of(const http::Response& r) {
  if (r.status < 400 || r.body.empty()) return std::nullopt;
  auto parsed = parse_json(r.body);
  if (!parsed.ok() || !parsed->is_object() || !get_string(*parsed, "type")) return std::nullopt;
  return std::move(parsed.value());
}

bool is_bad_nonce(const http::Response& r) {
  auto problem = problem_of(r);
  if (!problem) return false;
  return problem_to_error(*problem, r.status).type == "badNonce";
}

std::string body_excerpt(const std::string& body) {
  return utf8_excerpt(body, 200);
}

Error error_of(const http::Response& r) {
  if (auto problem = problem_of(r)) return problem_to_error(*problem, r.status);
  return Error::make(
      kErrorUnexpectedResponse,
      "HTTP " + std::to_string(r.status) + " without a problem document: " + body_excerpt(r.body),
      r.status);
}

Result<void> expect_ok(const Result<http::Response>& response) {
  if (!response.ok()) return response.error();
  if (response->status / 100 == 2) return ok();
  return error_of(*response);
}

}  // namespace acme_detail

Result<Json> AcmeClient::expect_json(const Result<http::Response>& response, int ok_status_min,
                                     int ok_status_max) {
  if (!response.ok()) return response.error();
  const http::Response& r = *response;
  if (r.status < ok_status_min || r.status > ok_status_max) return acme_detail::error_of(r);
  auto json = parse_json(r.body);
  if (!json.ok()) {
    return Error::make(kErrorUnexpectedResponse,
                       "response body is not JSON: " + acme_detail::body_excerpt(r.body), r.status);
  }
  return json;
}

}  // namespace attestlab::client
