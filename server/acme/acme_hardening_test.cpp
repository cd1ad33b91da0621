// Server hardening (issue 13) that needs a running server: first start of a data dir,
// file modes, and the limits of bounded work, each next to a client served normally.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "server/acme/acme_context.h"
#include "server/store/store.h"
#include "testing/acme_server_fixture.h"

namespace attestlab::server::testing {
namespace {

class AcmeHardeningTest : public AcmeServerFixture {
 protected:
  void TearDown() override {
    if (second) second->stop();
    second.reset();
    AcmeServerFixture::TearDown();
  }
  // A second server on the same data dir and store: another process, as far as the
  // store is concerned (its own connection, cache and nonce service).
  void start_second() {
    auto started = AcmeServer::start(config, clock, LogLevel::Quiet);
    ASSERT_TRUE(started.ok()) << started.error().detail;
    second = std::move(*started);
  }
  static Reply rollover(TestAcmeClient& c, const pki::PrivateKey& target) {
    Json inner_header{{"url", c.url("keyChange")},
                      {"jwk", jose::Jwk(target.public_key()).to_json()}};
    Json inner_payload{{"account", c.kid}, {"oldKey", jose::Jwk(c.key.public_key()).to_json()}};
    return c.post(c.url("keyChange"), *jose::sign(inner_header, inner_payload, target));
  }
  Account stored_account(const std::string& kid) {
    auto store = open_sqlite_store(data_dir + "/attestlab.db");
    EXPECT_TRUE(store.ok());
    auto found = (*store)->account_by_id(kid.substr(kid.rfind('/') + 1));
    EXPECT_TRUE(found.ok() && found->has_value());
    return found.ok() && found->has_value() ? **found : Account{};
  }
  // Runs 127.0.0.1's http-01 challenge with `served` as the response; the final authz.
  Reply http01_outcome(TestAcmeClient& c, const std::string& served) {
    Reply order = c.new_order({{"ip", "127.0.0.1"}});
    Reply authz = c.post_as_get(order.body["authorizations"][0]);
    Json challenge = TestAcmeClient::challenge_of(authz.body, "http-01");
    responder.provision(challenge["token"], served);
    c.post(challenge["url"], Json::object());
    return c.poll(order.body["authorizations"][0]);
  }
  std::unique_ptr<AcmeServer> second;
};

// Account updates are compare-and-set on the fields they change: a key rollover on one
// process is never undone by a contact update on another (signed with the old key still
// in that process's cache), and a deactivation is never undone by a concurrent update.
TEST_F(AcmeHardeningTest, AccountUpdatesNeverUndoEachOther) {
  start_server();
  start_second();
  // In sequence, across processes: keyChange at the second, then a contact update at the
  // first, signed with the old key that the first still has cached.
  {
    auto c = account_client();
    ASSERT_EQ(c->post_as_get(c->kid).status, 200);  // cached at the first server
    auto at_second = same_account_at(*second, *c);
    auto new_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
    ASSERT_EQ(rollover(*at_second, new_key).status, 200);
    Reply contact = c->post(c->kid, Json{{"contact", {"mailto:late@example.com"}}});
    EXPECT_EQ(contact.problem(), "unauthorized") << contact.response.body;
    Account now = stored_account(c->kid);
    EXPECT_EQ(now.thumbprint, jose::Jwk(new_key.public_key()).thumbprint());
  }
  // Racing, in threads on two processes.
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(round);
    auto c = account_client();
    auto at_second = same_account_at(*second, *c);
    auto new_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
    const std::string mail = "mailto:round" + std::to_string(round) + "@example.com";
    Reply contact, rolled;
    std::thread t1([&] { contact = c->post(c->kid, Json{{"contact", {mail}}}); });
    std::thread t2([&] { rolled = rollover(*at_second, new_key); });
    t1.join();
    t2.join();
    ASSERT_EQ(rolled.status, 200) << rolled.response.body;
    Account after = stored_account(c->kid);
    EXPECT_EQ(after.thumbprint, jose::Jwk(new_key.public_key()).thumbprint());
    if (contact.status == 200) {
      EXPECT_EQ(after.contact, std::vector<std::string>{mail});
    } else {
      EXPECT_EQ(contact.problem(), "unauthorized") << contact.response.body;
    }

    // Deactivation (new key, first server) against a contact update (second server),
    // once the first server's account cache (AccountCache::kFreshness) knows the new key.
    std::this_thread::sleep_for(AccountCache::kFreshness + std::chrono::milliseconds(200));
    c->key = new_key;
    at_second->key = new_key;
    Reply deactivated, contact2;
    std::thread t3([&] { deactivated = c->post(c->kid, Json{{"status", "deactivated"}}); });
    std::thread t4([&] {
      contact2 = at_second->post(at_second->kid, Json{{"contact", {"mailto:z@x.org"}}});
    });
    t3.join();
    t4.join();
    ASSERT_EQ(deactivated.status, 200) << deactivated.response.body;
    Account final_state = stored_account(c->kid);
    EXPECT_EQ(final_state.status, "deactivated");
    if (contact2.status != 200) {
      EXPECT_EQ(contact2.problem(), "unauthorized");
    }
  }
}

// Two servers starting at once on a fresh data dir: one creates the CA, the TLS identity,
// the database and the nonce key, the other loads them (they used to race and each keep
// its own TLS key in memory). Private keys and the database are owner-only.
TEST_F(AcmeHardeningTest, ConcurrentFirstStartSharesOneIdentityAndFilesArePrivate) {
  std::unique_ptr<AcmeServer> servers[2];
  std::string errors[2];
  std::thread starters[2];
  for (int i = 0; i < 2; ++i) {
    starters[i] = std::thread([&, i] {
      auto started = AcmeServer::start(config, clock, LogLevel::Quiet);
      if (started)
        servers[i] = std::move(*started);
      else
        errors[i] = started.error().detail;
    });
  }
  for (auto& t : starters) t.join();
  ASSERT_TRUE(servers[0] && servers[1]) << errors[0] << " / " << errors[1];
  EXPECT_EQ(servers[0]->tls_certificate_pem(), servers[1]->tls_certificate_pem());
  auto on_disk = pki::read_file(data_dir + "/tls/cert.pem");
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(*on_disk, servers[0]->tls_certificate_pem());

  // A nonce from one is good at the other: one nonce key.
  TestAcmeClient a(servers[0]->directory_url(), data_dir + "/tls/cert.pem");
  TestAcmeClient b(servers[1]->directory_url(), data_dir + "/tls/cert.pem");
  std::string nonce = a.nonce();
  SignOptions opt;
  opt.use_jwk = true;
  opt.nonce = nonce;
  Reply created = b.post(b.url("newAccount"), Json{{"termsOfServiceAgreed", true}}, opt);
  EXPECT_EQ(created.status, 201) << created.response.body;

  for (const char* file :
       {"/attestlab.db", "/ca/root.key", "/ca/intermediate.key", "/tls/key.pem"}) {
    struct stat st {};
    ASSERT_EQ(::stat((data_dir + file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  for (auto& s : servers) s->stop();
}

// A finalize interrupted by a crash left its order "processing" forever. At start the
// server marks such orders invalid with a problem document; one claimed moments ago (it
// may belong to another live process) is left alone until it is overdue.
TEST_F(AcmeHardeningTest, OrdersStuckInProcessingAreSettledOnStart) {
  start_server();
  auto c = account_client();
  std::string crashed_url = ready_ip_order(*c);
  std::string recent_url = ready_ip_order(*c);
  server->stop();
  server.reset();
  {
    auto store = open_sqlite_store(data_dir + "/attestlab.db");
    ASSERT_TRUE(store.ok());
    for (const auto& [url, since] :
         {std::pair{crashed_url, clock->now() - 600}, std::pair{recent_url, clock->now()}}) {
      auto order = (*store)->order_by_id(url.substr(url.rfind('/') + 1));
      ASSERT_TRUE(order.ok() && order->has_value());
      Order stuck = **order;
      ASSERT_EQ(stuck.status, "ready");
      stuck.status = "processing";
      stuck.processing_since = since;
      ASSERT_TRUE((*store)->update_order(stuck, "ready").ok());
    }
  }
  start_server();
  auto again = same_account_at(*server, *c);
  auto rebase = [&](const std::string& url) {
    std::string base = again->url("newOrder").substr(0, again->url("newOrder").rfind("/new-order"));
    return base + "/order/" + url.substr(url.rfind('/') + 1);
  };
  Reply crashed = again->post_as_get(rebase(crashed_url));
  EXPECT_EQ(crashed.status_field(), "invalid") << crashed.response.body;
  EXPECT_EQ(crashed.body["error"]["type"], "urn:ietf:params:acme:error:serverInternal");
  EXPECT_NE(crashed.body["error"].value("detail", "").find("interrupted"), std::string::npos);
  EXPECT_EQ(again->post_as_get(rebase(recent_url)).status_field(), "processing");
  clock->advance(kFinalizeInterruptedAfter + 1);
  (void)again->nonce();
  EXPECT_EQ(again->post_as_get(rebase(recent_url)).status_field(), "invalid");
  // The server goes on serving new orders.
  EXPECT_EQ(again->new_order({{"ip", "127.0.0.1"}}).status, 201);
}

// An http-01 response is bounded (a key authorization is ~90 bytes): a 1 MiB answer fails
// the challenge without being read, while another client's challenge succeeds meanwhile.
TEST_F(AcmeHardeningTest, Http01ResponseIsBounded) {
  start_server();
  auto c = account_client();
  auto other = account_client();
  Reply big;
  std::thread t([&] { big = http01_outcome(*c, std::string(1 << 20, 'a')); });
  std::string ready = ready_ip_order(*other);
  t.join();
  EXPECT_EQ(big.status_field(), "invalid") << big.response.body;
  Json error = TestAcmeClient::challenge_of(big.body, "http-01")["error"];
  EXPECT_NE(error.value("detail", "").find("exceeds 4096 bytes"), std::string::npos) << error;
  EXPECT_EQ(other->post_as_get(ready).status_field(), "ready");
}

// --validation-deny: validation never connects to a denied network.
TEST_F(AcmeHardeningTest, ValidationDenyKeepsValidationAwayFromNetworks) {
  config.validation_deny = {"10.0.0.0/8", "127.0.0.0/8"};
  start_server();
  auto c = account_client();
  const int hits_before = responder.hits();
  Reply denied = http01_outcome(*c, "anything");
  EXPECT_EQ(denied.status_field(), "invalid");
  Json error = TestAcmeClient::challenge_of(denied.body, "http-01")["error"];
  EXPECT_EQ(error["type"], "urn:ietf:params:acme:error:rejectedIdentifier") << error;
  EXPECT_NE(error.value("detail", "").find("127.0.0.0/8"), std::string::npos) << error;
  EXPECT_EQ(responder.hits(), hits_before);  // never connected
  server->stop();
  server.reset();
  config.validation_deny = {"not-a-cidr"};
  auto refused = AcmeServer::start(config, clock, LogLevel::Quiet);
  EXPECT_FALSE(refused.ok());
}

// A TCP listener that never accepts: an http-01 fetch to it hangs until its timeout.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::listen(fd_, 64) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentListener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// The validation queue is bounded: with the only worker stuck on a hanging http-01 fetch
// and the queue full, a further challenge answer gets rateLimited with Retry-After and its
// challenge stays pending; other clients are served meanwhile.
TEST_F(AcmeHardeningTest, FullValidationQueueAnswersRateLimited) {
  SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  config.http01_port = silent.port();
  config.validation_threads = 1;
  config.validation_queue_limit = 1;
  start_server();
  auto c = account_client();
  std::vector<std::string> challenges;
  for (int i = 0; i < 3; ++i) {
    Reply order = c->new_order({{"ip", "127.0.0." + std::to_string(i + 1)}});
    ASSERT_EQ(order.status, 201);
    Json authz = c->post_as_get(order.body["authorizations"][0]).body;
    challenges.push_back(TestAcmeClient::challenge_of(authz, "http-01")["url"].get<std::string>());
  }
  EXPECT_EQ(c->post(challenges[0], Json::object()).status, 200);  // taken by the worker
  // Wait until the worker holds it, so the next one waits in the queue.
  for (int i = 0; i < 200; ++i) {
    if (c->post_as_get(challenges[0]).status_field() == "processing") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(c->post(challenges[1], Json::object()).status, 200);  // queued
  Reply refused = c->post(challenges[2], Json::object());
  EXPECT_EQ(refused.status, 429) << refused.response.body;
  EXPECT_EQ(refused.problem(), "rateLimited");
  EXPECT_FALSE(refused.header("Retry-After").empty());
  EXPECT_NE(refused.body.value("detail", "").find("limit 1"), std::string::npos);
  EXPECT_EQ(c->post_as_get(challenges[2]).status_field(), "pending");
  // Another client is served normally meanwhile.
  auto other = account_client();
  EXPECT_EQ(other->new_order({{"ip", "127.0.0.1"}}).status, 201);
}

void expect_malformed(const Reply& r) {
  EXPECT_EQ(r.status, 400) << r.response.body;
  EXPECT_EQ(r.problem(), "malformed");
}

void expect_rate_limited(const Reply& r, const std::string& detail_part) {
  EXPECT_EQ(r.status, 429) << r.response.body;
  EXPECT_EQ(r.problem(), "rateLimited") << r.response.body;
  EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_GT(std::atoi(r.header("Retry-After").c_str()), 0);
  EXPECT_NE(r.body.value("detail", "").find(detail_part), std::string::npos) << r.body;
}

// Quotas from the policy file's "limits": new accounts per IP, new orders per account and
// per device identifier, failed validations per account. Each is hit while another client
// goes on being served, and each window reopens after an hour.
TEST_F(AcmeHardeningTest, QuotasFromPolicyFileAnswerRateLimited) {
  const std::string policy = data_dir + "/policy.json";
  ASSERT_TRUE(pki::write_file(policy, R"({"_": "test", "limits": {
      "new_accounts_per_ip_per_hour": 3, "new_orders_per_account_per_hour": 3,
      "new_orders_per_identifier_per_hour": 1, "failed_validations_per_account_per_hour": 1}})")
                  .ok());
  config.policy_file = policy;
  start_server();
  auto busy = account_client();   // 1
  auto other = account_client();  // 2
  auto third = account_client();  // 3
  auto fourth = make_client();
  expect_rate_limited(fourth->new_account(), "new accounts");
  // Meanwhile the existing accounts are served.
  EXPECT_EQ(other->new_order({{"ip", "127.0.0.1"}}).status, 201);

  // New orders per account.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(busy->new_order({{"ip", "127.0.0.1"}}).status, 201);
  expect_rate_limited(busy->new_order({{"ip", "127.0.0.1"}}), "new orders of this account");
  EXPECT_EQ(third->new_order({{"permanent-identifier", "C02XL0GVJGH5"}}).status, 201);

  // New orders per device identifier, whichever account asks.
  expect_rate_limited(other->new_order({{"permanent-identifier", "C02XL0GVJGH5"}}), "C02XL0GVJGH5");
  EXPECT_EQ(other->new_order({{"permanent-identifier", "C02XL0GVJGH6"}}).status, 201);

  // Failed validations per account: after one, the account's next answer is refused.
  Reply failed = http01_outcome(*third, "wrong key authorization");
  EXPECT_EQ(failed.status_field(), "invalid");
  Reply order = third->new_order({{"ip", "127.0.0.1"}});
  ASSERT_EQ(order.status, 201);
  Json challenge = TestAcmeClient::challenge_of(
      third->post_as_get(order.body["authorizations"][0]).body, "http-01");
  expect_rate_limited(third->post(challenge["url"], Json::object()), "failed validations");
  EXPECT_EQ(third->post_as_get(challenge["url"]).status_field(), "pending");

  // An hour later every window has room again.
  clock->advance(RateLimiter::kWindow + 1);
  for (auto* c : {busy.get(), third.get(), fourth.get()}) (void)c->nonce();  // expired ones
  EXPECT_EQ(busy->new_order({{"ip", "127.0.0.1"}}).status, 201);
  EXPECT_EQ(fourth->new_account().status, 201);
  responder.provision(challenge["token"], third->key_authorization(challenge["token"]));
  EXPECT_EQ(third->post(challenge["url"], Json::object()).status, 200);
}

// A newOrder refused by a later check consumes no quota: neither the account's nor the
// device identifier's (it used to take both before reading notAfter).
TEST_F(AcmeHardeningTest, RefusedNewOrdersConsumeNoQuota) {
  const std::string policy = data_dir + "/policy.json";
  ASSERT_TRUE(pki::write_file(policy, R"({"_": "test", "limits": {
      "new_orders_per_account_per_hour": 1, "new_orders_per_identifier_per_hour": 1}})")
                  .ok());
  config.policy_file = policy;
  start_server();
  auto c = account_client();
  const Json device = {{{"type", "permanent-identifier"}, {"value", "C02XL0GVJGH5"}}};
  for (int i = 0; i < 3; ++i) {
    expect_malformed(
        c->post(c->url("newOrder"), Json{{"identifiers", device}, {"notAfter", "not-a-date"}}));
  }
  EXPECT_EQ(c->new_order({{"permanent-identifier", "C02XL0GVJGH5"}}).status, 201);
  expect_rate_limited(c->new_order({{"ip", "127.0.0.1"}}), "new orders of this account");
}

// Content-Type is a single-value field (RFC 9110 §5.3): two of them are refused whichever
// comes first, and the request changes nothing.
TEST_F(AcmeHardeningTest, TwoContentTypeFieldsAreMalformed) {
  start_server();
  auto c = account_client();
  const Json payload = {{"identifiers", {{{"type", "ip"}, {"value", "127.0.0.1"}}}}};
  for (const auto& [first, second] :
       {std::pair<std::string, std::string>{"application/jose+json", "text/plain"},
        std::pair<std::string, std::string>{"text/plain", "application/jose+json"}}) {
    SCOPED_TRACE(first);
    Json jws = c->sign(c->url("newOrder"), payload);
    Reply r = c->request("POST", c->url("newOrder"),
                         {{"content-type", first}, {"content-type", second}}, jws.dump());
    expect_malformed(r);
    EXPECT_NE(r.body.value("detail", "").find("Content-Type"), std::string::npos) << r.body;
  }
}

// Pending authorizations per account are counted in the store: a newOrder that would
// exceed the quota is refused until an authorization is settled; other accounts are served
// meanwhile, and a second server on the same store sees the same count.
TEST_F(AcmeHardeningTest, PendingAuthorizationsQuotaCountsTheStore) {
  const std::string policy = data_dir + "/policy.json";
  ASSERT_TRUE(
      pki::write_file(policy, R"({"limits": {"pending_authorizations_per_account": 2}})").ok());
  config.policy_file = policy;
  start_server();
  auto busy = account_client();
  auto other = account_client();
  Reply first = busy->new_order({{"ip", "127.0.0.1"}});
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(busy->new_order({{"ip", "127.0.0.2"}}).status, 201);
  expect_rate_limited(busy->new_order({{"ip", "127.0.0.3"}}), "pending authorizations");
  // Two identifiers at once would also exceed it for a fresh account with one pending.
  EXPECT_EQ(other->new_order({{"ip", "127.0.0.1"}}).status, 201);
  expect_rate_limited(other->new_order({{"ip", "127.0.0.2"}, {"ip", "127.0.0.3"}}),
                      "pending authorizations");

  // A second server on the same store counts the same authorizations.
  start_second();
  auto via_second = same_account_at(*second, *busy);
  expect_rate_limited(via_second->new_order({{"ip", "127.0.0.3"}}), "pending authorizations");

  // Deactivating one (RFC 8555 §7.5.2) settles it and makes room.
  const std::string authz = first.body["authorizations"][0];
  EXPECT_EQ(busy->post(authz, Json{{"status", "deactivated"}}).status_field(), "deactivated");
  EXPECT_EQ(busy->new_order({{"ip", "127.0.0.3"}}).status, 201);
}

// The URL of the Link rel="next" of a response, or "".
std::string next_link(const Reply& r) {
  for (const auto& link : r.response.all("Link")) {
    if (link.find("rel=\"next\"") == std::string::npos) continue;
    return link.substr(link.find('<') + 1, link.find('>') - link.find('<') - 1);
  }
  return "";
}

// An account's orders list comes in pages linked by rel="next" (RFC 8555 §7.1.2.1).
TEST_F(AcmeHardeningTest, OrdersListIsPaginated) {
  config.orders_page_size = 2;
  start_server();
  auto c = account_client();
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(c->new_order({{"ip", "127.0.0.1"}}).location());
  std::set<std::string> listed;
  std::string url = c->kid + "/orders";
  int pages = 0;
  while (!url.empty() && pages < 10) {
    Reply page = c->post_as_get(url);
    ASSERT_EQ(page.status, 200) << page.response.body;
    EXPECT_LE(page.body["orders"].size(), 2u);
    for (const auto& o : page.body["orders"]) listed.insert(o.get<std::string>());
    url = next_link(page);
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, created);
  expect_malformed(c->post_as_get(c->kid + "/orders?cursor=x"));
}

TEST(RateLimitsPolicy, ParsesAndRefuses) {
  RateLimits defaults;
  auto parsed = rate_limits_from_json(
      Json::parse(R"({"match": "either", "limits": {"new_accounts_per_ip_per_hour": 0}})"),
      defaults);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->new_accounts_per_ip_per_hour, 0);
  EXPECT_EQ(parsed->new_orders_per_account_per_hour, defaults.new_orders_per_account_per_hour);
  for (const char* bad :
       {R"({"limits": {"new_orders": 1}})", R"({"limits": {"new_accounts_per_ip_per_hour": -1}})",
        R"({"limits": {"new_accounts_per_ip_per_hour": "5"}})", R"({"limits": []})"}) {
    auto refused = rate_limits_from_json(Json::parse(bad), defaults);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().type, "malformed");
  }
  RateLimiter limiter;
  EXPECT_EQ(limiter.take("k", 2, 1000), 0);
  EXPECT_EQ(limiter.take("k", 2, 1001), 0);
  EXPECT_EQ(limiter.take("k", 2, 1002), RateLimiter::kWindow - 2);
  EXPECT_EQ(limiter.take("other", 2, 1002), 0);
  EXPECT_EQ(limiter.take("k", 2, 1000 + RateLimiter::kWindow), 0);
  EXPECT_EQ(limiter.take("k", 0, 1000), 0);  // off
}

// Windows that ended are swept once the map is full; windows still live are kept (their
// quota holds), and a map of live windows is swept once per doubling, not on every new key
// (it was: each new device identifier past the limit scanned the whole map).
TEST(RateLimiterTest, SweepsEndedWindowsAndKeepsLiveOnesWithoutRescanningPerKey) {
  RateLimiter limiter(4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.take("old" + std::to_string(i), 1, 1000), 0);
  EXPECT_EQ(limiter.keys(), 4u);
  // An hour later the four windows have ended: the fifth key sweeps them away.
  const std::int64_t later = 1000 + RateLimiter::kWindow;
  EXPECT_EQ(limiter.take("new0", 1, later), 0);
  EXPECT_EQ(limiter.sweeps(), 1u);
  EXPECT_EQ(limiter.keys(), 1u);
  // 1,000 live windows: every one keeps its quota, and the sweeps stay logarithmic.
  for (int i = 1; i < 1000; ++i) EXPECT_EQ(limiter.take("new" + std::to_string(i), 1, later), 0);
  EXPECT_EQ(limiter.keys(), 1000u);
  EXPECT_LE(limiter.sweeps(), 10u);
  EXPECT_GE(limiter.sweeps(), 2u);
  for (int i = 0; i < 1000; i += 111)
    EXPECT_GT(limiter.take("new" + std::to_string(i), 1, later + 1), 0) << i;
}

}  // namespace
}  // namespace attestlab::server::testing
