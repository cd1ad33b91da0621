// AcmeClient against a scripted in-process fake server: exact control over nonces,
// Retry-After and broken answers. The pure helpers it builds on are tested in
// acme_types_test.cpp, acme_signer_test.cpp and wire_log_test.cpp; interop with a real
// independent server is in acme_pebble_test.cpp.
#include "client/acme_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "core/utf8.h"

namespace attestlab::client {
namespace {

using namespace std::chrono_literals;

std::string describe(const Error& e) {
  return e.type + " (" + std::to_string(e.status) + "): " + e.detail;
}

// Serves a directory and newNonce, records every POST's decoded protected header, and
// answers POSTs with whatever the test queued (default: 200 {"status":"valid"}). Every
// response carries a fresh Replay-Nonce "nonce-N" unless the queued response has one.
class FakeAcmeServer {
 public:
  FakeAcmeServer() {
    auto server = http::Server::start({}, [this](const http::Request& r) { return handle(r); });
    if (server.ok()) server_ = std::move(server.value());
  }
  ~FakeAcmeServer() {
    if (server_) server_->stop();
  }
  bool up() const { return server_ != nullptr; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  void queue(http::Response r) {
    std::lock_guard lock(mu_);
    queued_.push_back(std::move(r));
  }
  void always(std::function<http::Response(const http::Request&)> fn) {
    std::lock_guard lock(mu_);
    always_ = std::move(fn);
  }
  std::vector<Json> post_headers() const {
    std::lock_guard lock(mu_);
    return post_headers_;
  }
  int nonce_requests() const { return nonce_requests_; }
  std::string nonce_issued(int n) const { return "nonce-" + std::to_string(n); }

  static http::Response problem(int status, const std::string& type, const std::string& nonce) {
    http::Response r;
    r.status = status;
    r.set("Content-Type", "application/problem+json");
    if (!nonce.empty()) r.set("Replay-Nonce", nonce);
    r.body = Json{{"type", std::string(kAcmeErrorPrefix) + type}, {"detail", type + "!"}}.dump();
    return r;
  }

 private:
  http::Response handle(const http::Request& req) {
    http::Response r;
    if (req.method == "GET" && req.target == "/dir") {
      r.set("Content-Type", "application/json");
      r.body = Json{{"newNonce", url("/nonce")},
                    {"newAccount", url("/account")},
                    {"newOrder", url("/order")},
                    {"revokeCert", url("/revoke")},
                    {"keyChange", url("/key-change")}}
                   .dump();
      return r;
    }
    if (req.target == "/nonce") {
      ++nonce_requests_;
      r.set("Replay-Nonce", "head-nonce-" + std::to_string(nonce_requests_.load()));
      r.set("Cache-Control", "no-store");
      return r;
    }
    std::lock_guard lock(mu_);
    if (req.method == "POST") {
      auto body = parse_json(req.body);
      if (body.ok() && body->is_object() && get_string(*body, "protected")) {
        auto raw = base64url_decode(*get_string(*body, "protected"));
        auto header = raw.ok() ? parse_json(to_string(*raw)) : Result<Json>(Error{});
        post_headers_.push_back(header.ok() ? *header : Json());
      }
    }
    if (!queued_.empty()) {
      r = queued_.front();
      queued_.pop_front();
    } else if (always_) {
      r = always_(req);
    } else {
      r.set("Content-Type", "application/json");
      r.set("Location", url("/account/1"));
      r.body = R"({"status":"valid"})";
    }
    if (!r.header("Replay-Nonce")) r.set("Replay-Nonce", nonce_issued(++issued_));
    return r;
  }

  mutable std::mutex mu_;
  std::unique_ptr<http::Server> server_;
  std::deque<http::Response> queued_;
  std::function<http::Response(const http::Request&)> always_;
  std::vector<Json> post_headers_;
  std::atomic<int> nonce_requests_{0};
  int issued_ = 0;
};

class AcmeClientFake : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.up());
    auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
    ASSERT_TRUE(key.ok());
    key_ = *key;
  }
  AcmeClient client(AcmeClientOptions options = {}) {
    return AcmeClient(server_.url("/dir"), std::move(options), &log_);
  }

  FakeAcmeServer server_;
  WireLog log_;
  pki::PrivateKey key_;
};

TEST_F(AcmeClientFake, FetchesANonceOnlyWhenTheCacheIsEmpty) {
  auto c = client();
  auto account = c.new_account(key_);
  ASSERT_TRUE(account.ok()) << describe(account.error());
  EXPECT_EQ(c.account_url(), server_.url("/account/1"));
  ASSERT_TRUE(c.get_account().ok());
  ASSERT_TRUE(c.get_account().ok());
  EXPECT_EQ(server_.nonce_requests(), 1);
  EXPECT_EQ(c.stats().nonce_fetches, 1u);
  EXPECT_EQ(c.stats().requests, 5u);  // directory, HEAD newNonce, three POSTs

  const auto headers = server_.post_headers();
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0]["nonce"], "head-nonce-1");
  EXPECT_TRUE(headers[0].contains("jwk"));
  EXPECT_FALSE(headers[0].contains("kid"));
  EXPECT_EQ(headers[1]["nonce"], server_.nonce_issued(1));  // from the newAccount response
  EXPECT_EQ(headers[1]["kid"], c.account_url());
  EXPECT_FALSE(headers[1].contains("jwk"));
  EXPECT_EQ(headers[2]["nonce"], server_.nonce_issued(2));
  EXPECT_EQ(headers[2]["url"], c.account_url());
}

TEST_F(AcmeClientFake, RetriesBadNonceWithTheNonceFromTheErrorResponse) {
  auto c = client();
  ASSERT_TRUE(c.new_account(key_).ok());
  server_.queue(FakeAcmeServer::problem(400, "badNonce", "from-error-1"));
  server_.queue(FakeAcmeServer::problem(400, "badNonce", "from-error-2"));
  const auto mark = log_.size();
  auto account = c.get_account();
  ASSERT_TRUE(account.ok()) << describe(account.error());
  EXPECT_EQ(c.stats().bad_nonce_retries, 2u);
  EXPECT_EQ(server_.nonce_requests(), 1);

  const auto headers = server_.post_headers();
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[2]["nonce"], "from-error-1");
  EXPECT_EQ(headers[3]["nonce"], "from-error-2");

  const auto entries = log_.exchanges(mark);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].note, "");
  EXPECT_EQ(entries[0].status, 400);
  EXPECT_EQ(entries[1].note, "retry 1/3 after badNonce");
  EXPECT_EQ(entries[2].note, "retry 2/3 after badNonce");
  ASSERT_TRUE(entries[2].jws_protected.has_value());
  EXPECT_EQ((*entries[2].jws_protected)["nonce"], "from-error-2");
  EXPECT_EQ(entries[2].status, 200);
}

TEST_F(AcmeClientFake, GivesUpAfterTheConfiguredNumberOfRetries) {
  auto c = client();
  ASSERT_TRUE(c.new_account(key_).ok());
  server_.always([](const http::Request&) { return FakeAcmeServer::problem(400, "badNonce", ""); });
  auto account = c.get_account();
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.error().type, "badNonce");
  EXPECT_EQ(account.error().status, 400);
  EXPECT_EQ(account.error().detail, "badNonce!");
  EXPECT_EQ(c.stats().bad_nonce_retries, 3u);
  EXPECT_EQ(server_.post_headers().size(), 5u);  // newAccount + 1 + 3 retries
  ASSERT_TRUE(c.last_problem().has_value());
  EXPECT_EQ((*c.last_problem())["type"], "urn:ietf:params:acme:error:badNonce");

  c.set_bad_nonce_retries(0);
  EXPECT_EQ(c.get_account().error().type, "badNonce");
  EXPECT_EQ(c.stats().bad_nonce_retries, 3u);
  EXPECT_EQ(server_.post_headers().size(), 6u);

  // post_raw never retries, whatever the setting.
  c.set_bad_nonce_retries(3);
  auto raw = c.post_raw(c.account_url());
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->status, 400);
  EXPECT_EQ(server_.post_headers().size(), 7u);
}

TEST_F(AcmeClientFake, OtherErrorsAreNotRetried) {
  auto c = client();
  ASSERT_TRUE(c.new_account(key_).ok());
  server_.queue(FakeAcmeServer::problem(403, "unauthorized", ""));
  auto order = c.new_order({Identifier{"dns", "a.example"}});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.error().type, "unauthorized");
  EXPECT_EQ(order.error().status, 403);
  EXPECT_EQ(c.stats().bad_nonce_retries, 0u);
  EXPECT_EQ(server_.post_headers().size(), 2u);
}

TEST_F(AcmeClientFake, BrokenServerAnswersAreUnexpectedResponses) {
  auto c = client();
  http::Response plain;
  plain.status = 500;
  plain.body = "oops";
  server_.queue(plain);
  auto account = c.new_account(key_);
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.error().type, kErrorUnexpectedResponse);
  EXPECT_EQ(account.error().status, 500);
  EXPECT_FALSE(c.last_problem().has_value());
  ASSERT_TRUE(c.last_response().has_value());
  EXPECT_EQ(c.last_response()->body, "oops");

  http::Response no_location;
  no_location.status = 201;
  no_location.body = R"({"status":"valid"})";
  server_.queue(no_location);
  EXPECT_EQ(c.new_account(key_).error().type, kErrorUnexpectedResponse);
  EXPECT_TRUE(c.account_url().empty());

  http::Response not_json;
  not_json.set("Location", server_.url("/account/1"));
  not_json.body = "{";
  server_.queue(not_json);
  EXPECT_EQ(c.new_account(key_).error().type, kErrorUnexpectedResponse);

  // Without an account, account calls fail locally without touching the wire.
  const auto requests = c.stats().requests;
  EXPECT_EQ(c.new_order({Identifier{"dns", "a.example"}}).error().type, kErrorClientUsage);
  EXPECT_EQ(c.stats().requests, requests);
}

// An excerpt of a foreign body goes into Error::detail and from there into reports,
// which must be UTF-8: stray bytes are replaced and the cut never splits a character.
TEST_F(AcmeClientFake, ErrorDetailsQuoteForeignBodiesAsUtf8) {
  auto c = client();
  http::Response plain;
  plain.status = 500;
  plain.body = "\xFF";
  for (int i = 0; i < 150; ++i) plain.body += "\xC3\xA9";
  server_.queue(plain);
  auto account = c.new_account(key_);
  ASSERT_FALSE(account.ok());
  const std::string& detail = account.error().detail;
  EXPECT_EQ(utf8_or_replaced(detail), detail);
  EXPECT_NE(detail.find("\xEF\xBF\xBD"), std::string::npos) << "the stray byte is replaced";
  EXPECT_EQ(detail.substr(detail.size() - 3), "...");
}

TEST_F(AcmeClientFake, ConnectionFailuresAreConnectionErrors) {
  AcmeClientOptions options;
  options.timeout = 2000ms;
  AcmeClient c("http://127.0.0.1:1/dir", options, &log_);
  auto dir = c.directory();
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().type, "connection");
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_FALSE(log_.exchanges()[0].error.empty());
  EXPECT_EQ(log_.exchanges()[0].status, 0);
}

TEST_F(AcmeClientFake, PollingHonorsRetryAfterInVirtualTime) {
  std::vector<std::chrono::milliseconds> slept;
  AcmeClientOptions options;
  options.poll_interval = 700ms;
  options.sleep = [&](std::chrono::milliseconds d) {
    slept.push_back(d);
    return d;
  };
  auto c = client(options);
  ASSERT_TRUE(c.new_account(key_).ok());

  auto pending = [](const char* retry_after) {
    http::Response r;
    r.set("Content-Type", "application/json");
    if (retry_after) r.set("Retry-After", retry_after);
    r.body = R"({"status":"pending","identifier":{"type":"dns","value":"a.example"}})";
    return r;
  };
  server_.queue(pending("2"));
  server_.queue(pending(nullptr));
  http::Response valid;
  valid.body = R"({"status":"valid"})";
  server_.queue(valid);
  auto authz = c.poll_authz(server_.url("/authz/1"));
  ASSERT_TRUE(authz.ok()) << describe(authz.error());
  EXPECT_EQ(authz->status, "valid");
  EXPECT_EQ(authz->url, server_.url("/authz/1"));
  EXPECT_EQ(slept, (std::vector<std::chrono::milliseconds>{2000ms, 700ms}));
  EXPECT_EQ(c.stats().polls, 3u);

  // A pending order polled with a 5 s virtual deadline: Retry-After 2 → polls at
  // 0, 2, 4, then a last 1 s wait to the deadline, one more poll, and a timeout.
  slept.clear();
  server_.always([&](const http::Request&) {
    http::Response r = pending("2");
    r.body = R"({"status":"processing"})";
    return r;
  });
  auto order = c.poll_order(server_.url("/order/1"), 5000ms);
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.error().type, kErrorTimeout);
  EXPECT_NE(order.error().detail.find("processing"), std::string::npos);
  EXPECT_EQ(slept, (std::vector<std::chrono::milliseconds>{2000ms, 2000ms, 1000ms}));
}

// The conformance and scenario hooks cap a long Retry-After (they sleep min(d, cap)):
// the deadline must count the time really slept, or a server answering "pending,
// Retry-After: 30" times out after one short sleep instead of after poll_timeout.
TEST_F(AcmeClientFake, ADeadlineCountsTheTimeTheSleepHookReallySlept) {
  AcmeClientOptions options;
  options.poll_timeout = 400ms;
  std::vector<std::chrono::milliseconds> asked;
  options.sleep = [&](std::chrono::milliseconds d) {
    asked.push_back(d);
    const auto wait = std::min(d, std::chrono::milliseconds(5));
    std::this_thread::sleep_for(wait);
    return wait;
  };
  auto c = client(options);
  ASSERT_TRUE(c.new_account(key_).ok());
  http::Response pending;
  pending.set("Content-Type", "application/json");
  pending.set("Retry-After", "30");
  pending.body = R"({"status":"processing"})";
  for (int i = 0; i < 3; ++i) server_.queue(pending);
  http::Response valid;
  valid.body = R"({"status":"valid"})";
  server_.queue(valid);
  auto order = c.poll_order(server_.url("/order/1"));
  ASSERT_TRUE(order.ok()) << describe(order.error());
  EXPECT_EQ(order->status, "valid");
  EXPECT_EQ(asked.size(), 3u);

  // A server that never finishes still times out, but only once poll_timeout has passed.
  server_.always([&](const http::Request&) { return pending; });
  const auto started = std::chrono::steady_clock::now();
  auto stalled = c.poll_order(server_.url("/order/1"));
  ASSERT_FALSE(stalled.ok());
  EXPECT_EQ(stalled.error().type, kErrorTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 400ms);
}

TEST_F(AcmeClientFake, PostRawBendsExactlyWhatItIsTold) {
  auto c = client();
  ASSERT_TRUE(c.new_account(key_).ok());
  ASSERT_TRUE(c.get_account().ok());
  const std::string used = server_.post_headers().back()["nonce"];
  const auto target = server_.url("/order/1");

  RawPostOptions reuse;
  reuse.reuse_nonce = true;
  ASSERT_TRUE(c.post_raw(target, Json::object(), "", reuse).ok());
  EXPECT_EQ(server_.post_headers().back()["nonce"], used);

  RawPostOptions omit;
  omit.omit_nonce = true;
  omit.header_url = "https://elsewhere/";
  omit.alg = "none";
  omit.use_jwk_instead_of_kid = true;
  const auto mark = log_.size();
  ASSERT_TRUE(c.post_raw(target, Json{{"extra", 1}, {"url", nullptr}}, "{}", omit).ok());
  Json h = server_.post_headers().back();
  EXPECT_FALSE(h.contains("nonce"));
  EXPECT_FALSE(h.contains("url"));  // removed by the null override (after header_url)
  EXPECT_EQ(h["alg"], "none");
  EXPECT_EQ(h["extra"], 1);
  EXPECT_TRUE(h.contains("jwk"));
  EXPECT_FALSE(h.contains("kid"));
  auto entry = log_.exchanges(mark).at(0);
  EXPECT_EQ(entry.note, "post_raw");
  auto body = parse_json(entry.request_body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["signature"], "");  // alg none: unsecured JWS
  EXPECT_EQ(*entry.jws_payload, Json::object());

  RawPostOptions both;
  both.include_jwk_and_kid = true;
  both.content_type = "application/json";
  ASSERT_TRUE(c.post_raw(target, Json::object(), "", both).ok());
  h = server_.post_headers().back();
  EXPECT_TRUE(h.contains("jwk"));
  EXPECT_EQ(h["kid"], c.account_url());
  EXPECT_EQ(h["url"], target);
  auto last = log_.exchanges(log_.size() - 1).at(0);
  bool json_ct = false;
  for (const auto& [name, value] : last.request_headers) {
    json_ct = json_ct || (name == "content-type" && value == "application/json");
  }
  EXPECT_TRUE(json_ct);

  RawPostOptions raw;
  raw.raw_body = "not a jws";
  ASSERT_TRUE(c.post_raw(target, Json::object(), "", raw).ok());
  EXPECT_EQ(log_.exchanges(log_.size() - 1).at(0).request_body, "not a jws");
}

// RFC 8555 §6.5.1: "Clients MUST ignore invalid Replay-Nonce values." Only one field of
// 1*base64url is cached; anything else is never sent back in a JWS.
TEST_F(AcmeClientFake, InvalidReplayNoncesAreNotCached) {
  auto c = client();
  ASSERT_TRUE(c.new_account(key_).ok());
  auto answer = [](std::vector<std::string> nonces) {
    http::Response r;
    r.set("Content-Type", "application/json");
    r.body = R"({"status":"valid"})";
    for (auto& n : nonces) r.add("Replay-Nonce", std::move(n));
    return r;
  };
  const std::vector<std::vector<std::string>> invalid = {
      {"a+b/c="}, {"has space"}, {"n\xC3\xA9"}, {"one", "two"}};
  for (const auto& nonces : invalid) {
    server_.queue(answer(nonces));
    ASSERT_TRUE(c.get_account().ok());
    EXPECT_FALSE(c.cached_nonce().has_value()) << nonces[0] << " cached";
  }
  server_.queue(answer({"Valid_nonce-1"}));
  ASSERT_TRUE(c.get_account().ok());
  EXPECT_EQ(c.cached_nonce(), std::optional<std::string>("Valid_nonce-1"));
  for (const auto& header : server_.post_headers()) {
    for (const auto& nonces : invalid) EXPECT_NE(header["nonce"], nonces[0]);
  }
}

TEST(AcmeClientNonce, NewNonceRefusesAnInvalidValueThatHeadStillShows) {
  auto server = http::Server::start({}, [](const http::Request& req) {
    http::Response r;
    if (req.target == "/dir") {
      r.set("Content-Type", "application/json");
      r.body = Json{{"newNonce", "/nonce"}, {"newAccount", "/a"}, {"newOrder", "/o"}}.dump();
    } else {
      r.set("Replay-Nonce", "bad+nonce=");
    }
    return r;
  });
  ASSERT_TRUE(server.ok());
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());
  AcmeClient c(base + "/dir");
  auto dir = c.directory();
  ASSERT_TRUE(dir.ok()) << describe(dir.error());
  Directory d = *dir;
  d.new_nonce = base + "/nonce";
  c.set_directory(d);
  auto nonce = c.new_nonce();
  ASSERT_FALSE(nonce.ok());
  EXPECT_EQ(nonce.error().type, kErrorUnexpectedResponse);
  EXPECT_NE(nonce.error().detail.find("invalid Replay-Nonce"), std::string::npos)
      << nonce.error().detail;
  auto raw = c.head(d.new_nonce);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->header("replay-nonce"), std::optional<std::string>("bad+nonce="));
  (*server)->stop();
}

// RFC 8555 §6.1: "Use of HTTPS is REQUIRED." A server behind an https directory that
// hands out plain-http URLs must not get requests (signed or not) over plain http.
TEST(AcmeClientHttps, PlainHttpUrlsFromAnHttpsDirectoryAreRefusedUnsent) {
  WireLog log;
  AcmeClient c("https://127.0.0.1:1/dir", {}, &log);
  Directory d;
  d.new_nonce = "http://127.0.0.1:1/nonce";
  d.new_account = "HTTP://127.0.0.1:1/account";
  d.new_order = "https://127.0.0.1:1/order";
  c.set_directory(d);
  auto nonce = c.new_nonce();
  ASSERT_FALSE(nonce.ok());
  EXPECT_EQ(nonce.error().type, kErrorUnexpectedResponse);
  EXPECT_NE(nonce.error().detail.find("http://127.0.0.1:1/nonce"), std::string::npos);
  EXPECT_NE(nonce.error().detail.find("HTTPS is REQUIRED"), std::string::npos);
  auto get = c.get("http://127.0.0.1:1/cert/1");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().type, kErrorUnexpectedResponse);
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  auto account = c.new_account(*key);
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.error().type, kErrorUnexpectedResponse);
  EXPECT_EQ(c.stats().requests, 0u);
  EXPECT_EQ(log.size(), 0u);
  // An https URL is tried (and here finds nobody listening).
  EXPECT_EQ(c.get("https://127.0.0.1:1/x").error().type, "connection");
}

// RFC 8555 §9.1: the chain "MUST use the strict encoding and MUST NOT include explanatory
// text". A download that breaks it is refused with the reason, not handed on.
TEST_F(AcmeClientFake, CertificateDownloadsAreStrictPem) {
  auto key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(key.ok());
  pki::CertificateSpec spec;
  spec.subject = {{"CN", "leaf"}};
  spec.not_before = 1'700'000'000;
  spec.not_after = spec.not_before + 3600;
  auto cert = pki::issue_certificate(spec, key->public_key(), nullptr, *key);
  ASSERT_TRUE(cert.ok());
  const std::string pem = cert->to_pem();
  auto c = client();
  ASSERT_TRUE(c.new_account(key_).ok());
  auto serve = [&](std::string body) {
    http::Response r;
    r.set("Content-Type", "application/pem-certificate-chain");
    r.body = std::move(body);
    server_.queue(r);
    return c.download_certificate(server_.url("/cert/1"));
  };
  auto good = serve(pem);
  ASSERT_TRUE(good.ok()) << describe(good.error());
  EXPECT_EQ(good->pem, pem);
  EXPECT_EQ(good->der, std::vector<Bytes>{cert->to_der()});
  // Each certificate's DER is handed on in the served order (RFC 8555 §7.4.2).
  auto other_key = pki::PrivateKey::generate(pki::KeySpec::p256());
  ASSERT_TRUE(other_key.ok());
  auto other = pki::issue_certificate(spec, other_key->public_key(), nullptr, *other_key);
  ASSERT_TRUE(other.ok());
  auto two = serve(pem + other->to_pem());
  ASSERT_TRUE(two.ok()) << describe(two.error());
  EXPECT_EQ(two->der, (std::vector<Bytes>{cert->to_der(), other->to_der()}));

  auto text = serve("Certificate:\n    Data: ...\n" + pem);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().type, kErrorUnexpectedResponse);
  EXPECT_EQ(text.error().status, 200);
  EXPECT_NE(text.error().detail.find("line 1: explanatory text before the first block"),
            std::string::npos)
      << text.error().detail;

  auto truncated = serve(pem + pem.substr(0, pem.size() / 2));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().detail.find("block 2 is truncated"), std::string::npos)
      << truncated.error().detail;
}

// RFC 7231 §7.1.2: Location is a URI-reference, a relative one resolved against the
// request URL; two Location fields are ambiguous and nothing is picked from them.
TEST_F(AcmeClientFake, LocationIsResolvedAndNeverPickedFromSeveral) {
  auto c = client();
  http::Response relative;
  relative.status = 201;
  relative.set("Content-Type", "application/json");
  relative.set("Location", "/account/7");
  relative.body = R"({"status":"valid"})";
  server_.queue(relative);
  auto account = c.new_account(key_);
  ASSERT_TRUE(account.ok()) << describe(account.error());
  EXPECT_EQ(c.account_url(), server_.url("/account/7"));
  EXPECT_EQ(account->url, server_.url("/account/7"));

  http::Response twice = relative;
  twice.set("Location", "order/1");
  twice.add("Location", server_.url("/order/2"));
  twice.body = R"({"status":"pending","identifiers":[],"authorizations":[],"finalize":"x"})";
  server_.queue(twice);
  auto order = c.new_order({Identifier{"dns", "a.example"}});
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.error().type, kErrorUnexpectedResponse);
  EXPECT_NE(order.error().detail.find("2 Location header fields"), std::string::npos)
      << order.error().detail;
}

TEST_F(AcmeClientFake, NewNonceBelongsToTheCaller) {
  auto c = client();
  auto n1 = c.new_nonce();
  auto n2 = c.new_nonce();
  ASSERT_TRUE(n1.ok() && n2.ok());
  EXPECT_NE(*n1, *n2);
  EXPECT_FALSE(c.cached_nonce().has_value());
  EXPECT_EQ(c.stats().nonce_fetches, 2u);
}

}  // namespace
}  // namespace attestlab::client
