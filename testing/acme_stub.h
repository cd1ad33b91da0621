// Test support (header-only, for *_test.cpp files only): a tiny stand-in ACME server over
// plain HTTP for the load generator's tests. It speaks just enough of RFC 8555 for the
// plain flow (directory, newNonce, newAccount, newOrder, authorization with one http-01
// challenge that turns valid when answered, finalize that issues at once, certificate
// download) and checks nothing it is sent (no JWS verification). What it offers instead
// is control and honest counts: a delay on every answer (a slow target), badNonce on every
// n-th POST, a forced problem at finalize or keyChange, the number of certificates it
// issued, stop() (a target that goes away mid-run) and go_silent() (a target that stops
// answering: every request from then on waits until stop()), and optionally authorization
// deactivation, honest or not (Options::deactivation).
//
// Thread-safe: handlers run on several server threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/http.h"
#include "core/json.h"
#include "core/pki.h"

namespace attestlab::load::testing {

class AcmeStub {
 public:
  struct Options {
    std::chrono::milliseconds delay{0};  // every answer is held back this long
    int bad_nonce_every = 0;             // every n-th POST is refused with badNonce (0: never)
    int finalize_status = 0;             // finalize answers this problem status (0: issues)
    std::string finalize_problem = "unauthorized";
    int key_change_status = 0;   // keyChange answers this status (e.g. 501, not implemented)
    bool bare_orders = false;    // orders list no identifiers and no authorizations
    bool no_key_change = false;  // the directory has no keyChange
    int new_account_status = 0;  // newAccount answers this problem status (0: creates)
    std::string new_account_problem = "invalidContact";
    // Authorizations accept {"status":"deactivated"} (any POST with a payload) and read
    // "deactivated" from then on; an order with a deactivated authorization is "invalid",
    // and finalizing an order that is not "ready" answers 403 orderNotReady.
    bool deactivation = false;
    // With deactivation: a deactivated authorization that was valid still counts, so its
    // order stays "ready" and is finalized (what RFC 8555 §7.5.2 forbids).
    bool deactivated_still_sufficient = false;
    int threads = 8;
  };

  explicit AcmeStub(Options options) : options_(std::move(options)) {
    http::ServerOptions server;
    server.threads = options_.threads;
    auto started =
        http::Server::start(server, [this](const http::Request& r) { return handle(r); });
    if (started) server_ = std::move(started.value());
  }
  ~AcmeStub() { stop(); }
  AcmeStub(const AcmeStub&) = delete;
  AcmeStub& operator=(const AcmeStub&) = delete;

  bool running() const { return server_ != nullptr; }
  std::string directory_url() const { return base() + "/dir"; }
  std::uint64_t issued() const { return issued_.load(); }
  std::uint64_t posts() const { return posts_.load(); }
  void stop() {
    stopping_ = true;
    std::lock_guard lock(stop_mu_);
    if (server_) server_->stop();
  }
  void go_silent() { silent_ = true; }
  std::uint64_t requests() const { return requests_.load(); }

 private:
  std::string base() const {
    return "http://127.0.0.1:" + std::to_string(server_ ? server_->port() : 0);
  }

  http::Response reply(int status, const Json& body, const std::string& location = "") {
    http::Response r;
    r.status = status;
    r.set("Replay-Nonce", "n" + std::to_string(++nonces_));
    if (!location.empty()) r.set("Location", location);
    if (!body.is_null()) {
      r.set("Content-Type", status >= 400 ? "application/problem+json" : "application/json");
      r.body = body.dump();
    }
    return r;
  }

  http::Response problem(int status, const std::string& type) {
    return reply(status, Json{{"type", "urn:ietf:params:acme:error:" + type}, {"detail", "stub"}});
  }

  // "/order/12" → 12 (0 when not a number).
  static std::uint64_t id_of(const std::string& target) {
    const auto slash = target.rfind('/');
    try {
      return std::stoull(target.substr(slash + 1));
    } catch (...) {
      return 0;
    }
  }

  http::Response handle(const http::Request& req) {
    ++requests_;
    while (silent_ && !stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (options_.delay.count() > 0) std::this_thread::sleep_for(options_.delay);
    const std::string& t = req.target;
    const std::string b = base();
    if (t == "/dir") {
      Json dir{{"newNonce", b + "/nonce"},
               {"newAccount", b + "/acct"},
               {"newOrder", b + "/order"},
               {"revokeCert", b + "/revoke"},
               {"keyChange", b + "/keychange"}};
      if (options_.no_key_change) dir.erase("keyChange");
      return reply(200, dir);
    }
    if (t == "/nonce") return reply(200, Json());
    if (req.method != "POST") return problem(405, "malformed");
    const std::uint64_t n = ++posts_;
    if (options_.bad_nonce_every > 0 &&
        n % static_cast<std::uint64_t>(options_.bad_nonce_every) == 0)
      return problem(400, "badNonce");
    if (t == "/keychange" && options_.key_change_status != 0)
      return problem(options_.key_change_status, "serverInternal");
    if (t == "/acct" && options_.new_account_status != 0)
      return problem(options_.new_account_status, options_.new_account_problem);
    if (t == "/acct") {
      return reply(201, Json{{"status", "valid"}}, b + "/acct/" + std::to_string(++accounts_));
    }
    if (t == "/order") {
      const std::uint64_t id = ++orders_;
      return reply(201, order(id, "pending"), b + "/order/" + std::to_string(id));
    }
    const std::uint64_t id = id_of(t);
    if (t.rfind("/authz/", 0) == 0) {
      if (options_.deactivation && has_payload(req)) {
        std::lock_guard lock(mu_);
        deactivated_.insert(id);
      }
      const std::string status = contains(deactivated_, id) ? "deactivated"
                                 : answered(id)             ? "valid"
                                                            : "pending";
      return reply(
          200, Json{{"status", status},
                    {"identifier", {{"type", "dns"}, {"value", "x.load.example"}}},
                    {"challenges", Json::array({Json{{"type", "http-01"},
                                                     {"url", b + "/chall/" + std::to_string(id)},
                                                     {"token", "token" + std::to_string(id)},
                                                     {"status", status}}})}});
    }
    if (t.rfind("/chall/", 0) == 0) {
      {
        std::lock_guard lock(mu_);
        answered_.insert(id);
      }
      return reply(200, Json{{"type", "http-01"},
                             {"url", b + t},
                             {"token", "token" + std::to_string(id)},
                             {"status", "valid"}});
    }
    if (t.rfind("/finalize/", 0) == 0) {
      if (options_.finalize_status != 0)
        return problem(options_.finalize_status, options_.finalize_problem);
      if (options_.deactivation && order_status(id) != "ready")
        return problem(403, "orderNotReady");
      ++issued_;
      return reply(200, order(id, "valid"));
    }
    if (t.rfind("/order/", 0) == 0) return reply(200, order(id, order_status(id)));
    if (t.rfind("/cert/", 0) == 0) {
      http::Response r = reply(200, Json());
      r.set("Content-Type", "application/pem-certificate-chain");
      r.body = certificate_pem();
      return r;
    }
    return problem(404, "malformed");
  }

  std::string order_status(std::uint64_t id) {
    if (options_.deactivation && !options_.deactivated_still_sufficient &&
        contains(deactivated_, id))
      return "invalid";
    return answered(id) ? "ready" : "pending";
  }

  static bool has_payload(const http::Request& req) {
    auto body = parse_json(req.body);
    return body.ok() && body->is_object() && body->value("payload", "") != "";
  }

  bool contains(const std::set<std::uint64_t>& ids, std::uint64_t id) {
    std::lock_guard lock(mu_);
    return ids.count(id) > 0;
  }

  // One self-signed certificate, strict PEM (the client refuses anything else), made once.
  static const std::string& certificate_pem() {
    static const std::string pem = [] {
      auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
      pki::CertificateSpec spec;
      spec.subject = {{"CN", "x.load.example"}};
      spec.not_before = 1'700'000'000;
      spec.not_after = spec.not_before + 100LL * 365 * 24 * 3600;
      auto cert = key ? pki::issue_certificate(spec, key->public_key(), nullptr, *key)
                      : Result<pki::Certificate>(key.error());
      return cert ? cert->to_pem() : std::string();
    }();
    return pem;
  }

  Json order(std::uint64_t id, const std::string& status) const {
    const std::string b = base();
    Json o{{"status", status},
           {"identifiers", Json::array({Json{{"type", "dns"}, {"value", "x.load.example"}}})},
           {"authorizations", Json::array({b + "/authz/" + std::to_string(id)})},
           {"finalize", b + "/finalize/" + std::to_string(id)}};
    if (status == "valid") o["certificate"] = b + "/cert/" + std::to_string(id);
    if (options_.bare_orders) o["identifiers"] = o["authorizations"] = Json::array();
    return o;
  }

  bool answered(std::uint64_t id) { return contains(answered_, id); }

  Options options_;
  std::mutex stop_mu_;
  std::unique_ptr<http::Server> server_;
  std::atomic<std::uint64_t> nonces_{0}, posts_{0}, accounts_{0}, orders_{0}, issued_{0},
      requests_{0};
  std::atomic<bool> silent_{false}, stopping_{false};
  std::mutex mu_;
  std::set<std::uint64_t> answered_;     // authorizations whose challenge was answered
  std::set<std::uint64_t> deactivated_;  // with Options::deactivation
};

}  // namespace attestlab::load::testing
