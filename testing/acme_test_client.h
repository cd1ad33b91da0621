// Test-only helpers for driving a real AcmeServer over HTTPS: a small ACME client that
// signs with jose::sign and can break any part of a request on purpose, and an http-01
// responder. Header-only; used by server/*_test.cpp and bench/acme_bench.cpp.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/http.h"
#include "core/jose.h"
#include "core/json.h"
#include "core/pki.h"

namespace attestlab::server::testing {

struct Reply {
  int status = 0;
  http::Response response;
  Json body;          // parsed when the body is JSON, else null
  std::string error;  // transport error, if any

  std::string header(const std::string& name) const { return response.header(name).value_or(""); }
  std::string location() const { return header("Location"); }
  // The problem type without the ACME prefix, or "" when the body is not a problem.
  std::string problem() const {
    if (!body.is_object() || !body.contains("type") || !body["type"].is_string()) return "";
    std::string type = body["type"];
    const std::string prefix = "urn:ietf:params:acme:error:";
    return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
  }
  std::string status_field() const {
    return body.is_object() && body.contains("status") && body["status"].is_string()
               ? body["status"].get<std::string>()
               : "";
  }
};

// How to sign one request; every field's default produces a correct request.
struct SignOptions {
  bool use_jwk = false;                  // jwk instead of kid
  const pki::PrivateKey* key = nullptr;  // signing key (default: the account key)
  std::optional<std::string> nonce;      // override the nonce
  std::optional<std::string> url;        // override the "url" header
  std::string alg;                       // override "alg" (signature made per key)
  bool drop_nonce = false;
  bool both_jwk_and_kid = false;
  std::string content_type = "application/jose+json";
  std::optional<std::string> raw_payload;  // exact payload text
  bool corrupt_signature = false;
  std::optional<std::string> kid;  // override the kid
  // Rewrites the protected header's JSON text before signing (e.g. to repeat a member,
  // which a Json object cannot hold); the signature covers the edited text.
  std::function<std::string(const std::string&)> edit_header;
};

class TestAcmeClient {
 public:
  TestAcmeClient(const std::string& directory_url, const std::string& trust_pem_file,
                 pki::KeySpec key_spec = pki::KeySpec::p256())
      : client_(make_options(trust_pem_file)), directory_url_(directory_url) {
    key = *pki::PrivateKey::generate(key_spec);
    Reply dir = get(directory_url);
    directory = dir.body;
  }

  Json directory;
  pki::PrivateKey key;
  std::string kid;

  std::string url(const char* name) const { return directory.value(name, std::string()); }

  Reply request(const std::string& method, const std::string& url,
                const http::Headers& headers = {}, const std::string& body = "") {
    Reply reply;
    auto response = client_.request(method, url, headers, body);
    if (!response) {
      reply.error = response.error().detail;
      return reply;
    }
    reply.status = response->status;
    reply.response = std::move(*response);
    if (auto n = reply.response.header("Replay-Nonce")) nonce_ = *n;
    auto parsed = parse_json(reply.response.body);
    if (parsed) reply.body = std::move(*parsed);
    return reply;
  }

  Reply get(const std::string& url) { return request("GET", url); }

  // A nonce from the last response, else a fresh one from newNonce.
  std::string nonce() {
    if (nonce_.empty()) request("HEAD", url("newNonce"));
    std::string n = nonce_;
    nonce_.clear();
    return n;
  }

  // The flattened JWS a request with these options would send.
  Json sign(const std::string& url, const std::optional<Json>& payload,
            const SignOptions& opt = {}) {
    const pki::PrivateKey& signer = opt.key ? *opt.key : key;
    Json header = Json::object();
    if (!opt.drop_nonce) header["nonce"] = opt.nonce ? *opt.nonce : nonce();
    header["url"] = opt.url ? *opt.url : url;
    if (opt.use_jwk || opt.both_jwk_and_kid)
      header["jwk"] = jose::Jwk(signer.public_key()).to_json();
    if (!opt.use_jwk || opt.both_jwk_and_kid) header["kid"] = opt.kid ? *opt.kid : kid;
    std::string payload_text =
        opt.raw_payload ? *opt.raw_payload : (payload ? payload->dump() : std::string());
    Json jws;
    if (opt.edit_header) {
      header["alg"] = opt.alg.empty() ? jose::Jwk(signer.public_key()).default_alg() : opt.alg;
      std::string protected_b64 = base64url_encode(opt.edit_header(header.dump()));
      std::string payload_b64 = base64url_encode(payload_text);
      const pki::KeySpec spec = signer.spec();
      Bytes der = *signer.sign(to_bytes(protected_b64 + "." + payload_b64),
                               spec.bits > 256 ? pki::Digest::SHA384 : pki::Digest::SHA256);
      Bytes raw =
          spec.kind == pki::KeyKind::EC ? *pki::ecdsa_der_to_raw(der, (spec.bits + 7) / 8) : der;
      jws = Json{{"protected", protected_b64},
                 {"payload", payload_b64},
                 {"signature", base64url_encode(raw)}};
    } else if (opt.alg == "none" || opt.alg == "HS256") {
      header["alg"] = opt.alg;
      std::string protected_b64 = base64url_encode(header.dump());
      std::string payload_b64 = base64url_encode(payload_text);
      std::string signature = opt.alg == "none"
                                  ? std::string()
                                  : base64url_encode(hmac_sha256(
                                        to_bytes("secret"), protected_b64 + "." + payload_b64));
      jws = Json{{"protected", protected_b64}, {"payload", payload_b64}, {"signature", signature}};
    } else if (auto signed_jws = jose::sign_raw(header, payload_text, signer, opt.alg)) {
      jws = std::move(*signed_jws);
    } else {
      // An alg that does not fit the key: claim it, sign the way the key normally signs.
      header["alg"] = opt.alg;
      std::string protected_b64 = base64url_encode(header.dump());
      std::string payload_b64 = base64url_encode(payload_text);
      Bytes der = *signer.sign(to_bytes(protected_b64 + "." + payload_b64), pki::Digest::SHA256);
      Bytes raw = signer.spec().kind == pki::KeyKind::EC
                      ? *pki::ecdsa_der_to_raw(der, (signer.spec().bits + 7) / 8)
                      : der;
      jws = Json{{"protected", protected_b64},
                 {"payload", payload_b64},
                 {"signature", base64url_encode(raw)}};
    }
    if (opt.corrupt_signature) {
      std::string sig = jws["signature"];
      sig[sig.size() / 2] = sig[sig.size() / 2] == 'A' ? 'B' : 'A';
      jws["signature"] = sig;
    }
    return jws;
  }

  Reply post(const std::string& url, const std::optional<Json>& payload,
             const SignOptions& opt = {}) {
    Json jws = sign(url, payload, opt);
    return request("POST", url, {{"content-type", opt.content_type}}, jws.dump());
  }
  Reply post_as_get(const std::string& url) { return post(url, std::nullopt); }

  Reply new_account(Json payload = Json{{"termsOfServiceAgreed", true},
                                        {"contact", {"mailto:t@example.com"}}}) {
    SignOptions opt;
    opt.use_jwk = true;
    Reply reply = post(url("newAccount"), payload, opt);
    if (reply.status == 201 || reply.status == 200) kid = reply.location();
    return reply;
  }

  Reply new_order(const std::vector<std::pair<std::string, std::string>>& identifiers) {
    Json ids = Json::array();
    for (const auto& [type, value] : identifiers)
      ids.push_back(Json{{"type", type}, {"value", value}});
    return post(url("newOrder"), Json{{"identifiers", ids}});
  }

  std::string thumbprint() const { return jose::Jwk(key.public_key()).thumbprint(); }
  std::string key_authorization(const std::string& token) const {
    return token + "." + thumbprint();
  }

  // Polls a resource with POST-as-GET until its status is not one of `moving`.
  Reply poll(const std::string& url, std::vector<std::string> moving = {"pending", "processing"},
             std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    Reply reply;
    for (;;) {
      reply = post_as_get(url);
      std::string status = reply.status_field();
      bool still = std::find(moving.begin(), moving.end(), status) != moving.end();
      if (!still || std::chrono::steady_clock::now() > deadline) return reply;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // The challenge of `type` in an authorization object.
  static Json challenge_of(const Json& authz, const std::string& type) {
    for (const auto& c : authz.value("challenges", Json::array())) {
      if (c.value("type", "") == type) return c;
    }
    return Json();
  }

  // A CSR for names (dns or ip) signed by csr_key.
  static std::string csr_b64(const pki::PrivateKey& csr_key, const std::vector<std::string>& dns,
                             const std::vector<std::string>& ips = {}, const std::string& cn = "") {
    pki::CsrSpec spec;
    if (!cn.empty()) spec.subject = {{"CN", cn}};
    spec.sans.dns = dns;
    spec.sans.ip = ips;
    auto csr = pki::build_csr(spec, csr_key);
    return base64url_encode(csr->to_der());
  }

 private:
  static http::ClientOptions make_options(const std::string& trust) {
    http::ClientOptions o;
    o.trust_ca_pem_file = trust;
    return o;
  }

  http::Client client_;
  std::string directory_url_;
  std::string nonce_;
};

// A plain-HTTP server answering /.well-known/acme-challenge/TOKEN with what was provisioned.
class Http01Responder {
 public:
  Http01Responder() {
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    server_ =
        http::Server::start(options, [this](const http::Request& r) { return answer(r); }).value();
  }
  ~Http01Responder() { server_->stop(); }
  std::uint16_t port() const { return server_->port(); }
  void provision(const std::string& token, const std::string& key_authorization) {
    std::lock_guard lock(mutex_);
    answers_[token] = key_authorization;
  }
  int hits() {
    std::lock_guard lock(mutex_);
    return hits_;
  }
  // Holds every answer back this long (a slow validation); its one thread just sleeps.
  void set_delay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delay_ = delay;
  }

 private:
  http::Response answer(const http::Request& r) {
    static const std::string prefix = "/.well-known/acme-challenge/";
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(mutex_);
      delay = delay_;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    http::Response response;
    std::lock_guard lock(mutex_);
    ++hits_;
    if (r.target.rfind(prefix, 0) == 0) {
      auto it = answers_.find(r.target.substr(prefix.size()));
      if (it != answers_.end()) {
        response.body = it->second;
        return response;
      }
    }
    response.status = 404;
    return response;
  }

  std::unique_ptr<http::Server> server_;
  std::mutex mutex_;
  std::map<std::string, std::string> answers_;
  int hits_ = 0;
  std::chrono::milliseconds delay_{0};
};

}  // namespace attestlab::server::testing
