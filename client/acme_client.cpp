#include "client/acme_client.h"

#include <algorithm>
#include <thread>

#include "core/jose.h"

namespace attestlab::client {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kJoseJson = "application/jose+json";
constexpr const char* kPemChain = "application/pem-certificate-chain";

// The problem document of an error response, if the body is one (RFC 7807). The media
// type is not required here: a conformance case checks it, the client just reads it.
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
  constexpr std::size_t kMax = 200;
  return body.size() <= kMax ? body : body.substr(0, kMax) + "...";
}

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

}  // namespace

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
    if (auto nonce = result->header("replay-nonce"); nonce && !nonce->empty()) nonce_ = *nonce;
    last_problem_ = problem_of(*result);
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
  const auto nonce = r->header("replay-nonce");
  if (r->status / 100 != 2 || !nonce || nonce->empty()) {
    return Error::make(kErrorUnexpectedResponse,
                       "newNonce answered HTTP " + std::to_string(r->status) +
                           (nonce ? "" : " without Replay-Nonce"),
                       r->status);
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
    headers.emplace("content-type", kJoseJson);
    std::string note;
    if (attempt > 0) {
      note = "retry " + std::to_string(attempt) + "/" + std::to_string(max_retries) +
             " after badNonce";
    }
    auto r = exchange("POST", url, std::move(headers), jws->to_json().dump(), note);
    if (!r.ok() || attempt >= max_retries || !is_bad_nonce(*r)) return r;
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

Result<Json> AcmeClient::expect_json(const Result<http::Response>& response, int ok_status_min,
                                     int ok_status_max) {
  if (!response.ok()) return response.error();
  const http::Response& r = *response;
  if (r.status < ok_status_min || r.status > ok_status_max) {
    if (auto problem = problem_of(r)) return problem_to_error(*problem, r.status);
    return Error::make(
        kErrorUnexpectedResponse,
        "HTTP " + std::to_string(r.status) + " without a problem document: " + body_excerpt(r.body),
        r.status);
  }
  auto json = parse_json(r.body);
  if (!json.ok()) {
    return Error::make(kErrorUnexpectedResponse,
                       "response body is not JSON: " + body_excerpt(r.body), r.status);
  }
  return json;
}

namespace {

Result<void> expect_ok(const Result<http::Response>& response) {
  if (!response.ok()) return response.error();
  const http::Response& r = *response;
  if (r.status / 100 == 2) return ok();
  if (auto problem = problem_of(r)) return problem_to_error(*problem, r.status);
  return Error::make(
      kErrorUnexpectedResponse,
      "HTTP " + std::to_string(r.status) + " without a problem document: " + body_excerpt(r.body),
      r.status);
}

Result<std::string> location_of(const http::Response& r) {
  auto location = r.header("location");
  if (!location || location->empty()) {
    return Error::make(kErrorUnexpectedResponse, "response lacks a Location header", r.status);
  }
  return *location;
}

}  // namespace

Result<void> AcmeClient::need_account() const {
  if (!account_key_ || account_url_.empty()) {
    return Error::make(kErrorClientUsage, "no account: call new_account or use_account first");
  }
  return ok();
}

void AcmeClient::set_account(std::shared_ptr<const JwsSigner> key, std::string url) {
  auto thumbprint = key ? jwk_thumbprint(key->jwk()) : Result<std::string>(std::string());
  account_thumbprint_ = thumbprint.ok() ? *thumbprint : std::string();
  account_key_ = std::move(key);
  account_url_ = std::move(url);
}

// --- accounts -----------------------------------------------------------------------------

Result<Account> AcmeClient::new_account(const pki::PrivateKey& key, const NewAccountRequest& req) {
  return new_account(make_signer(key), req);
}

Result<Account> AcmeClient::new_account(std::shared_ptr<const JwsSigner> key,
                                        const NewAccountRequest& req) {
  if (!key) return Error::make(kErrorClientUsage, "no account key");
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  Json payload = Json::object();
  if (!req.contact.empty()) payload["contact"] = req.contact;
  if (req.terms_of_service_agreed) payload["termsOfServiceAgreed"] = *req.terms_of_service_agreed;
  if (req.only_return_existing) payload["onlyReturnExisting"] = true;
  if (req.eab) {
    const Json eab_header = {{"alg", "HS256"}, {"kid", req.eab->kid}, {"url", dir->new_account}};
    payload["externalAccountBinding"] =
        jose::sign_hs256(eab_header, key->jwk().dump(), req.eab->mac_key);
  }
  auto r = signed_post(dir->new_account, payload.dump(), *key, KeyId::Jwk);
  auto json = expect_json(r);
  if (!json.ok()) return json.error();
  auto url = location_of(*r);
  if (!url.ok()) return url.error();
  auto account = Account::from_json(*json, *url);
  if (!account.ok()) return account.error();
  account->created = r->status == 201;
  set_account(std::move(key), *url);
  return account;
}

void AcmeClient::use_account(std::shared_ptr<const JwsSigner> key, std::string account_url) {
  set_account(std::move(key), std::move(account_url));
}

Result<Account> AcmeClient::get_account() {
  ATTESTLAB_TRY(need_account());
  auto json = expect_json(post(account_url_, std::nullopt));
  if (!json.ok()) return json.error();
  return Account::from_json(*json, account_url_);
}

Result<Account> AcmeClient::update_account(const std::vector<std::string>& contact) {
  ATTESTLAB_TRY(need_account());
  auto json = expect_json(post(account_url_, Json{{"contact", contact}}));
  if (!json.ok()) return json.error();
  return Account::from_json(*json, account_url_);
}

Result<Account> AcmeClient::deactivate_account() {
  ATTESTLAB_TRY(need_account());
  auto json = expect_json(post(account_url_, Json{{"status", "deactivated"}}));
  if (!json.ok()) return json.error();
  return Account::from_json(*json, account_url_);
}

Result<void> AcmeClient::key_change(const pki::PrivateKey& new_key) {
  return key_change(make_signer(new_key));
}

Result<void> AcmeClient::key_change(std::shared_ptr<const JwsSigner> new_key) {
  if (!new_key) return Error::make(kErrorClientUsage, "no new key");
  ATTESTLAB_TRY(need_account());
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  if (dir->key_change.empty()) {
    return Error::make(kErrorUnexpectedResponse, "the directory has no keyChange");
  }
  const Json inner_header = {
      {"alg", new_key->alg()}, {"jwk", new_key->jwk()}, {"url", dir->key_change}};
  const Json inner_payload = {{"account", account_url_}, {"oldKey", account_key_->jwk()}};
  auto inner = sign_jws(inner_header, inner_payload.dump(), *new_key);
  if (!inner.ok()) return inner.error();
  ATTESTLAB_TRY(
      expect_ok(signed_post(dir->key_change, inner->to_json().dump(), *account_key_, KeyId::Kid)));
  set_account(std::move(new_key), account_url_);
  return ok();
}

// --- orders, authorizations, challenges -----------------------------------------------------

Result<Order> AcmeClient::new_order(const std::vector<Identifier>& identifiers) {
  NewOrderRequest req;
  req.identifiers = identifiers;
  return new_order(req);
}

Result<Order> AcmeClient::new_order(const NewOrderRequest& req) {
  ATTESTLAB_TRY(need_account());
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  Json ids = Json::array();
  for (const auto& id : req.identifiers) ids.push_back(id.to_json());
  Json payload = {{"identifiers", ids}};
  if (req.not_before) payload["notBefore"] = *req.not_before;
  if (req.not_after) payload["notAfter"] = *req.not_after;
  if (req.profile) payload["profile"] = *req.profile;
  auto r = post(dir->new_order, payload);
  auto json = expect_json(r);
  if (!json.ok()) return json.error();
  auto url = location_of(*r);
  if (!url.ok()) return url.error();
  return Order::from_json(*json, *url);
}

Result<Order> AcmeClient::get_order(const std::string& url) {
  auto json = expect_json(post(url, std::nullopt));
  if (!json.ok()) return json.error();
  return Order::from_json(*json, url);
}

Result<Authorization> AcmeClient::get_authz(const std::string& url) {
  auto json = expect_json(post(url, std::nullopt));
  if (!json.ok()) return json.error();
  return Authorization::from_json(*json, url);
}

Result<Challenge> AcmeClient::get_challenge(const std::string& url) {
  auto json = expect_json(post(url, std::nullopt));
  if (!json.ok()) return json.error();
  return Challenge::from_json(*json);
}

Result<Challenge> AcmeClient::respond_challenge(const std::string& url, const Json& payload) {
  auto json = expect_json(post(url, payload));
  if (!json.ok()) return json.error();
  return Challenge::from_json(*json);
}

void AcmeClient::sleep_for(milliseconds d) {
  if (d <= milliseconds::zero()) return;
  if (options_.sleep) {
    options_.sleep(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

milliseconds AcmeClient::retry_delay(const http::Response& r) const {
  if (auto value = r.header("retry-after")) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (auto seconds = parse_retry_after(*value, now)) {
      // "Retry-After: 0" must not turn the poll into a busy loop.
      return std::max(milliseconds(*seconds * 1000), milliseconds(50));
    }
  }
  return options_.poll_interval;
}

namespace {

// Shared loop of poll_authz / poll_order: fetch, stop when done, else wait. Elapsed time
// is the larger of real time and time slept, so a virtual-time sleep hook (which returns
// at once) still reaches the deadline.
template <class T, class Fetch, class Done>
Result<T> poll_until(Fetch fetch, Done done, milliseconds timeout, const char* what,
                     const std::function<milliseconds()>& delay,
                     const std::function<void(milliseconds)>& sleep) {
  const auto started = SteadyClock::now();
  milliseconds slept{0};
  for (;;) {
    Result<T> current = fetch();
    if (!current.ok() || done(*current)) return current;
    const auto real = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);
    const auto remaining = timeout - std::max(real, slept);
    if (remaining <= milliseconds::zero()) {
      return Error::make(kErrorTimeout, std::string(what) + " still \"" + current->status +
                                            "\" after " + std::to_string(timeout.count()) + " ms");
    }
    const auto wait = std::min(delay(), remaining);
    sleep(wait);
    slept += wait;
  }
}

}  // namespace

Result<Authorization> AcmeClient::poll_authz(const std::string& url, milliseconds timeout) {
  if (timeout <= milliseconds::zero()) timeout = options_.poll_timeout;
  return poll_until<Authorization>(
      [&] {
        ++stats_.polls;
        return get_authz(url);
      },
      [](const Authorization& a) { return a.status != "pending"; }, timeout, "authorization",
      [&] { return last_response_ ? retry_delay(*last_response_) : options_.poll_interval; },
      [&](milliseconds d) { sleep_for(d); });
}

Result<Order> AcmeClient::poll_order(const std::string& url, milliseconds timeout) {
  if (timeout <= milliseconds::zero()) timeout = options_.poll_timeout;
  return poll_until<Order>(
      [&] {
        ++stats_.polls;
        return get_order(url);
      },
      [](const Order& o) { return o.status != "pending" && o.status != "processing"; }, timeout,
      "order",
      [&] { return last_response_ ? retry_delay(*last_response_) : options_.poll_interval; },
      [&](milliseconds d) { sleep_for(d); });
}

Result<Order> AcmeClient::finalize(const Order& order, const Bytes& csr_der) {
  if (order.finalize.empty()) return Error::make(kErrorClientUsage, "order has no finalize URL");
  auto json = expect_json(post(order.finalize, Json{{"csr", base64url_encode(csr_der)}}));
  if (!json.ok()) return json.error();
  return Order::from_json(*json, order.url);
}

Result<CertificateChain> AcmeClient::download_certificate(const std::string& url) {
  ATTESTLAB_TRY(need_account());
  const http::Headers accept = {{"accept", kPemChain}};
  auto r = signed_post(url, "", *account_key_, KeyId::Kid, accept);
  ATTESTLAB_TRY(expect_ok(r));
  CertificateChain chain;
  chain.pem = r->body;
  if (chain.pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Error::make(kErrorUnexpectedResponse,
                       "certificate response is not PEM: " + body_excerpt(r->body), r->status);
  }
  for (const auto& value : r->all("link")) {
    for (auto& [link, rel] : parse_link_header(value)) {
      if (rel == "alternate") chain.alternates.push_back(link);
      if (rel == "up") chain.up = link;
    }
  }
  return chain;
}

Result<Authorization> AcmeClient::deactivate_authz(const std::string& url) {
  auto json = expect_json(post(url, Json{{"status", "deactivated"}}));
  if (!json.ok()) return json.error();
  return Authorization::from_json(*json, url);
}

Result<void> AcmeClient::revoke(const Bytes& cert_der, std::optional<int> reason) {
  ATTESTLAB_TRY(need_account());
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  Json payload = {{"certificate", base64url_encode(cert_der)}};
  if (reason) payload["reason"] = *reason;
  return expect_ok(post(dir->revoke_cert, payload));
}

Result<void> AcmeClient::revoke_with_cert_key(const Bytes& cert_der, std::optional<int> reason,
                                              const JwsSigner& cert_key) {
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  Json payload = {{"certificate", base64url_encode(cert_der)}};
  if (reason) payload["reason"] = *reason;
  return expect_ok(signed_post(dir->revoke_cert, payload.dump(), cert_key, KeyId::Jwk));
}

std::string AcmeClient::key_authorization(const std::string& token) const {
  return client::key_authorization(token, account_thumbprint_);
}

std::string AcmeClient::dns01_txt_value(const std::string& token) const {
  return client::dns01_txt_value(key_authorization(token));
}

// --- low level ------------------------------------------------------------------------------

Result<http::Response> AcmeClient::post_raw(const std::string& url, const Json& protected_overrides,
                                            const std::string& payload,
                                            const RawPostOptions& options) {
  std::string body;
  std::string nonce_sent;
  if (options.raw_body) {
    body = *options.raw_body;
  } else {
    const JwsSigner* signer = options.signer ? options.signer.get() : account_key_.get();
    if (signer == nullptr) return Error::make(kErrorClientUsage, "no key to sign with");
    const bool with_kid = options.include_jwk_and_kid ||
                          ((!options.signer || options.use_kid) && !options.use_jwk_instead_of_kid);
    const bool with_jwk = options.include_jwk_and_kid || !with_kid;
    if (with_kid && account_url_.empty()) {
      return Error::make(kErrorClientUsage, "no account URL for \"kid\"");
    }

    Json header = {{"alg", options.alg.value_or(signer->alg())}};
    if (with_jwk) header["jwk"] = signer->jwk();
    if (with_kid) header["kid"] = account_url_;
    if (options.nonce) {
      nonce_sent = *options.nonce;
    } else if (options.reuse_nonce) {
      if (last_sent_nonce_.empty()) {
        return Error::make(kErrorClientUsage, "reuse_nonce: no nonce was sent before");
      }
      nonce_sent = last_sent_nonce_;
    } else if (!options.omit_nonce) {
      auto nonce = take_nonce();
      if (!nonce.ok()) return nonce.error();
      nonce_sent = *nonce;
    }
    if (!options.omit_nonce) header["nonce"] = nonce_sent;
    header["url"] = options.header_url.value_or(url);
    // JSON merge patch (RFC 7386) at the top level: null removes a member.
    if (protected_overrides.is_object()) {
      for (const auto& [name, value] : protected_overrides.items()) {
        if (value.is_null()) {
          header.erase(name);
        } else {
          header[name] = value;
        }
      }
    }

    auto jws = sign_jws(header, payload, *signer);
    if (!jws.ok()) return jws.error();
    if (header.contains("alg") && header["alg"] == "none") jws->signature_b64.clear();
    if (options.corrupt_signature) {
      auto sig = base64url_decode(jws->signature_b64);
      Bytes bytes = sig.ok() ? *sig : Bytes{};
      if (bytes.empty()) bytes.push_back(0);
      bytes[bytes.size() / 2] ^= 0x01;
      jws->signature_b64 = base64url_encode(bytes);
    }
    if (options.signature_b64) jws->signature_b64 = *options.signature_b64;
    body = jws->to_json().dump();
  }
  if (!nonce_sent.empty()) last_sent_nonce_ = nonce_sent;

  http::Headers headers = options.extra_headers;
  const std::string content_type = options.content_type.value_or(kJoseJson);
  if (!content_type.empty()) headers.emplace("content-type", content_type);
  return exchange("POST", url, std::move(headers), body, "post_raw");
}

Result<http::Response> AcmeClient::get(const std::string& url) {
  return exchange("GET", url, {}, "", "");
}

Result<http::Response> AcmeClient::head(const std::string& url) {
  return exchange("HEAD", url, {}, "", "");
}

}  // namespace attestlab::client
