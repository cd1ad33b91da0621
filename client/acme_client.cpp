// AcmeClient's transport: the HTTP connection, the wire log of every exchange, the
// directory, the nonce cache and signed POSTs with their badNonce retries. The RFC 8555
// resource flows built on them are in acme_client_account.cpp, acme_client_order.cpp and
// acme_client_certificate.cpp; deliberately broken POSTs in acme_client_raw_post.cpp.
#include "client/acme_client.h"

#include <algorithm>

#include "client/acme_client_internal.h"
#include "core/ascii.h"
#include "core/utf8.h"

namespace attestlab::client {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Decodes a request body that looks like a flattened JWS, leniently: this is for the log,
// which must also show the broken requests post_raw sends.
void decode_jws_for_log(const std::string& body, WireExchange& out) {
  auto parsed = parse_json(body);
  if (!parsed.ok() || !parsed->is_object()) return;
  if (const auto* protected_b64 = get_string(*parsed, "protected")) {
    auto raw = base64url_decode(*protected_b64);
    if (raw.ok()) {
      auto header = parse_json(to_string(*raw));
      out.jws_protected = header.ok() ? std::move(header.value()) : Json(to_string(*raw));
    }
  }
  if (const auto* payload_b64 = get_string(*parsed, "payload")) {
    auto raw = base64url_decode(*payload_b64);
    if (raw.ok()) {
      const std::string text = to_string(*raw);
      auto payload = text.empty() ? Result<Json>(Error{}) : parse_json(text);
      out.jws_payload = payload.ok() ? std::move(payload.value()) : Json(text);
    }
  }
}

bool has_scheme(const std::string& url, std::string_view scheme) {
  return url.size() > scheme.size() &&
         ascii_iequals(std::string_view(url).substr(0, scheme.size()), scheme);
}

// The response's Replay-Nonce when it is exactly one field of 1*base64url (RFC 8555
// §6.5.1's ABNF); anything else is no nonce.
std::optional<std::string> valid_replay_nonce(const http::Response& r) {
  const std::vector<std::string> values = r.all("replay-nonce");
  if (values.size() != 1 || values[0].empty()) return std::nullopt;
  for (char ch : values[0]) {
    const bool base64url = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    if (!base64url) return std::nullopt;
  }
  return values[0];
}

}  // namespace

std::optional<Error> AcmeClient::downgrade_error(const std::string& url) const {
  if (!has_scheme(directory_url_, "https://") || !has_scheme(url, "http://")) return std::nullopt;
  return Error::make(kErrorUnexpectedResponse,
                     "refused to follow the plain-http URL " + utf8_excerpt(url, 200) +
                         " from a server whose directory is https (RFC 8555 §6.1: \"Use of "
                         "HTTPS is REQUIRED.\")");
}

AcmeClient::AcmeClient(std::string directory_url, AcmeClientOptions options, WireLog* log)
    : directory_url_(std::move(directory_url)), options_(std::move(options)), log_(log) {}

AcmeClient::~AcmeClient() = default;
AcmeClient::AcmeClient(AcmeClient&&) noexcept = default;
AcmeClient& AcmeClient::operator=(AcmeClient&&) noexcept = default;

http::Client& AcmeClient::http() {
  if (!http_) {
    http::ClientOptions o;
    o.trust_ca_pem_file = options_.trust_ca_pem_file;
    o.verify_tls = options_.verify_tls;
    o.timeout = options_.timeout;
    o.connect_host = options_.connect_host;
    o.connect_port = options_.connect_port;
    http_ = std::make_unique<http::Client>(std::move(o));
  }
  return *http_;
}

Result<http::Response> AcmeClient::exchange(const std::string& method, const std::string& url,
                                            http::Headers headers, const std::string& body,
                                            const std::string& note) {
  if (auto refused = downgrade_error(url)) {
    last_problem_.reset();
    last_response_.reset();
    return *refused;
  }
  ++stats_.requests;
  if (headers.find("user-agent") == headers.end() && !options_.user_agent.empty()) {
    headers.emplace("user-agent", options_.user_agent);
  }
  const auto started_wall = std::chrono::system_clock::now();
  const auto started = SteadyClock::now();
  auto result = http().request(method, url, headers, body);
  const double duration_ms =
      std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();

  if (result.ok()) {
    // RFC 8555 §6.5.1: "Clients MUST ignore invalid Replay-Nonce values."
    if (auto nonce = valid_replay_nonce(*result)) nonce_ = *nonce;
    last_problem_ = acme_detail::problem_of(*result);
    last_response_ = *result;
  } else {
    last_problem_.reset();
    last_response_.reset();
  }

  if (log_ != nullptr && log_->enabled()) {
    WireExchange e;
    e.time_ms = std::chrono::duration_cast<milliseconds>(started_wall.time_since_epoch()).count();
    e.label = options_.log_label;
    e.note = note;
    e.method = method;
    e.url = url;
    e.request_headers.assign(headers.begin(), headers.end());
    e.request_body = body;
    if (method == "POST") decode_jws_for_log(body, e);
    e.duration_ms = duration_ms;
    if (result.ok()) {
      e.status = result->status;
      e.response_headers = result->headers;
      e.response_body = result->body;
    } else {
      e.error = result.error().type + ": " + result.error().detail;
    }
    log_->record(std::move(e));
  }
  return result;
}

// --- directory and nonces ---------------------------------------------------------------

Result<Directory> AcmeClient::directory(bool refresh) {
  if (directory_ && !refresh) return *directory_;
  if (directory_url_.empty()) return Error::make(kErrorClientUsage, "no directory URL");
  auto json = expect_json(get(directory_url_));
  if (!json.ok()) return json.error();
  auto dir = Directory::from_json(*json);
  if (!dir.ok()) return dir.error();
  directory_ = *dir;
  return dir;
}

Result<std::string> AcmeClient::new_nonce() {
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  ++stats_.nonce_fetches;
  auto r = head(dir->new_nonce);
  if (!r.ok()) return r.error();
  const auto nonce = valid_replay_nonce(*r);
  if (r->status / 100 != 2 || !nonce) {
    const auto raw = r->all("replay-nonce");
    const std::string what =
        raw.empty()      ? " without Replay-Nonce"
        : raw.size() > 1 ? " with " + std::to_string(raw.size()) + " Replay-Nonce fields"
        : nonce          ? ""
                         : " with the invalid Replay-Nonce \"" + utf8_excerpt(raw[0], 80) + "\"";
    return Error::make(kErrorUnexpectedResponse,
                       "newNonce answered HTTP " + std::to_string(r->status) + what, r->status);
  }
  if (nonce_ == *nonce) nonce_.reset();  // exchange() cached it; it is the caller's
  return *nonce;
}

Result<std::string> AcmeClient::take_nonce() {
  if (nonce_) {
    std::string n = std::move(*nonce_);
    nonce_.reset();
    return n;
  }
  return new_nonce();
}

// --- signing and sending ------------------------------------------------------------------

Result<http::Response> AcmeClient::signed_post(const std::string& url, const std::string& payload,
                                               const JwsSigner& signer, KeyId key_id,
                                               const http::Headers& extra) {
  if (key_id == KeyId::Kid && account_url_.empty()) {
    return Error::make(kErrorClientUsage, "no account: call new_account or use_account first");
  }
  if (auto refused = downgrade_error(url)) return *refused;  // before a nonce is spent
  const int max_retries = std::max(0, options_.bad_nonce_retries);
  for (int attempt = 0;; ++attempt) {
    auto nonce = take_nonce();
    if (!nonce.ok()) return nonce.error();
    Json header = {{"alg", signer.alg()}, {"nonce", *nonce}, {"url", url}};
    if (key_id == KeyId::Kid) {
      header["kid"] = account_url_;
    } else {
      header["jwk"] = signer.jwk();
    }
    auto jws = sign_jws(header, payload, signer);
    if (!jws.ok()) return jws.error();
    last_sent_nonce_ = *nonce;

    http::Headers headers = extra;
    headers.emplace("content-type", acme_detail::kJoseJson);
    std::string note;
    if (attempt > 0) {
      note = "retry " + std::to_string(attempt) + "/" + std::to_string(max_retries) +
             " after badNonce";
    }
    auto r = exchange("POST", url, std::move(headers), jws->to_json().dump(), note);
    if (!r.ok() || attempt >= max_retries || !acme_detail::is_bad_nonce(*r)) return r;
    // RFC 8555 §6.5: the badNonce response carries a fresh Replay-Nonce (now cached);
    // without one, take_nonce() fetches from newNonce.
    ++stats_.bad_nonce_retries;
  }
}

Result<http::Response> AcmeClient::post(const std::string& url,
                                        const std::optional<Json>& payload) {
  if (!account_key_) return Error::make(kErrorClientUsage, "no account key");
  return signed_post(url, payload ? payload->dump() : std::string(), *account_key_, KeyId::Kid);
}

// --- plain requests ---------------------------------------------------------------------------

Result<http::Response> AcmeClient::get(const std::string& url) {
  return exchange("GET", url, {}, "", "");
}

Result<http::Response> AcmeClient::head(const std::string& url) {
  return exchange("HEAD", url, {}, "", "");
}

}  // namespace attestlab::client
