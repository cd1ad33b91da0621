#include "conformance/checks.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "client/acme_types.h"
#include "conformance/context.h"
#include "core/utf8.h"

namespace attestlab::conformance {

std::optional<Json> json_body(const http::Response& r) {
  auto parsed = parse_json(r.body);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  return std::move(parsed.value());
}

std::optional<std::string> problem_type(const http::Response& r) {
  auto body = json_body(r);
  if (!body) return std::nullopt;
  const std::string* type = get_string(*body, "type");
  if (type == nullptr) return std::nullopt;
  const std::string prefix = client::kAcmeErrorPrefix;
  if (type->compare(0, prefix.size(), prefix) == 0) return type->substr(prefix.size());
  return *type;
}

bool is_problem(const http::Response& r, const std::string& short_type) {
  auto t = problem_type(r);
  return t && *t == short_type;
}

bool is_bad_nonce(const http::Response& r) {
  return r.status == 400 && is_problem(r, "badNonce");
}

std::string media_type(const http::Response& r) {
  std::string v = r.header("content-type").value_or("");
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.back() == ' ') v.pop_back();
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v;
}

std::string describe(const http::Response& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  if (auto t = problem_type(r)) {
    auto body = json_body(r);
    out += " problem " + *t;
    if (const std::string* detail = get_string(*body, "detail")) {
      out += " (" + utf8_excerpt(*detail, 160) + ")";
    }
  } else if (!r.body.empty()) {
    std::string b = utf8_excerpt(r.body, 120);
    for (char& c : b) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    out += " body " + b;
  }
  const std::string mt = media_type(r);
  if (!mt.empty()) out += " [" + mt + "]";
  return out;
}

std::string describe(const Result<http::Response>& r) {
  if (!r) return "no response: " + describe(r.error());
  return describe(*r);
}

namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

Verdict expect_problem(const Result<http::Response>& r, int status,
                       const std::vector<std::string>& types) {
  std::string expected = status != 0 ? "HTTP " + std::to_string(status) : "HTTP 4xx";
  expected += types.empty() ? " with a problem document" : " problem " + join(types, " or ");
  if (!r) return Verdict::fail(expected, describe(r));
  const bool status_ok = status != 0 ? r->status == status : (r->status >= 400 && r->status < 500);
  const auto type = problem_type(*r);
  const bool type_ok =
      type && (types.empty() || std::find(types.begin(), types.end(), *type) != types.end());
  if (status_ok && type_ok) return Verdict::pass();
  return Verdict::fail(expected, describe(*r));
}

Verdict expect_refused(const Result<http::Response>& r) {
  if (r && r->status >= 400 && r->status < 500)
    return Verdict::pass("refused with " + describe(*r));
  return Verdict::fail("HTTP 4xx (request refused)", describe(r));
}

Verdict expect_status(const Result<http::Response>& r, int status) {
  if (r && r->status == status) return Verdict::pass();
  return Verdict::fail("HTTP " + std::to_string(status), describe(r));
}

Verdict expect_success(const Result<http::Response>& r) {
  if (r && r->status >= 200 && r->status < 300) return Verdict::pass();
  return Verdict::fail("HTTP 2xx", describe(r));
}

Verdict first_failure(std::initializer_list<Verdict> verdicts) {
  std::string notes;
  for (const auto& v : verdicts) {
    if (!v.passed()) return v;
    if (!v.reason.empty()) notes += (notes.empty() ? "" : "; ") + v.reason;
  }
  return Verdict::pass(notes);
}

Verdict check(bool condition, const std::string& expected, const std::string& observed) {
  return condition ? Verdict::pass() : Verdict::fail(expected, observed);
}

Result<http::Response> post_raw_retrying(client::AcmeClient& c, const std::string& url,
                                         const Json& overrides, const std::string& payload,
                                         const client::RawPostOptions& options, int attempts) {
  Result<http::Response> r = c.post_raw(url, overrides, payload, options);
  for (int i = 1; i < attempts && r && is_bad_nonce(*r); ++i) {
    r = c.post_raw(url, overrides, payload, options);
  }
  return r;
}

Result<http::Response> post_retrying(client::AcmeClient& c, const std::string& url,
                                     const std::optional<Json>& payload) {
  // AcmeClient::post already retries badNonce (AcmeClientOptions::bad_nonce_retries).
  return c.post(url, payload);
}

bool looks_like_rfc3339(const std::string& s) {
  static const std::regex re(
      R"(^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
  return std::regex_match(s, re);
}

bool is_base64url(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
}

}  // namespace attestlab::conformance
