#include "server/acme/problem.h"

#include <array>

#include "server/faults.h"

namespace attestlab::server {

const std::vector<std::string>& supported_jws_algorithms() {
  static const std::vector<std::string> algs = {"ES256", "ES384", "ES512",
                                                "RS256", "PS256", "EdDSA"};
  return algs;
}

namespace {

struct StatusOfType {
  std::string_view type;
  int status;
};

// RFC 8555 leaves most statuses to the server; these follow Boulder and Pebble, and
// RFC 8555 where it is explicit (orderNotReady 403, rateLimited 429).
constexpr std::array<StatusOfType, 12> kNon400 = {{
    {"unauthorized", 403},
    {"orderNotReady", 403},
    {"externalAccountRequired", 403},
    {"userActionRequired", 403},
    {"caa", 403},
    {"incorrectResponse", 403},
    {"compound", 403},
    {"rateLimited", 429},
    {"serverInternal", 500},
    {"conflict", 409},
    {"notFound", 404},
    {"methodNotAllowed", 405},
}};

std::string rendered_type(const std::string& type) {
  if (ATTESTLAB_FAULT(wrong_error_type)) return "malformed";
  if (type == "conflict" || type == "notFound" || type == "methodNotAllowed") return "malformed";
  return type.empty() ? std::string("serverInternal") : type;
}

}  // namespace

int problem_status(const Error& error) {
  if (error.status >= 400 && error.status <= 599) return error.status;
  for (const auto& entry : kNon400) {
    if (entry.type == error.type) return entry.status;
  }
  return 400;
}

Json problem_json(const Error& error, const std::vector<Subproblem>& subproblems) {
  Json doc = Json::object();
  doc["type"] = std::string(kAcmeErrorPrefix) + rendered_type(error.type);
  doc["detail"] = error.detail;
  doc["status"] = problem_status(error);
  if (error.type == "badSignatureAlgorithm") doc["algorithms"] = supported_jws_algorithms();
  if (!subproblems.empty()) {
    Json subs = Json::array();
    for (const auto& sub : subproblems) {
      Json s = Json::object();
      s["type"] = std::string(kAcmeErrorPrefix) + rendered_type(sub.error.type);
      s["detail"] = sub.error.detail;
      s["identifier"] = sub.identifier.to_json();
      subs.push_back(std::move(s));
    }
    doc["subproblems"] = std::move(subs);
  }
  return doc;
}

http::Response problem_response(const Error& error, const std::vector<Subproblem>& subproblems) {
  http::Response response;
  response.status = problem_status(error);
  response.set("Content-Type", "application/problem+json");
  response.body = problem_json(error, subproblems).dump();
  return response;
}

}  // namespace attestlab::server
