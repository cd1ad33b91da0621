// The server under concurrent clients, through an in-process AcmeServer over HTTPS: many
// enrollments at once, racing finalizes of one order, racing account updates, one set of
// nonces raced for by many threads, and two challenges of one authorization answered at once. These
// are the tests scripts/sanitizers.sh runs under ThreadSanitizer; their assertions hold without it
// too.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "testing/acme_server_fixture.h"

namespace attestlab::server::testing {
namespace {

constexpr int kThreads = 4;

class AcmeConcurrencyTest : public AcmeServerFixture {
 protected:
  // Clients of one account (same key and kid), each with its own connection and nonces.
  std::vector<std::unique_ptr<TestAcmeClient>> clones(const TestAcmeClient& c) {
    std::vector<std::unique_ptr<TestAcmeClient>> out;
    for (int i = 0; i < kThreads; ++i) {
      out.push_back(make_client());
      out.back()->key = c.key;
      out.back()->kid = c.kid;
    }
    return out;
  }
};

// Starts fn(i) on kThreads threads, released together, and joins them.
template <class Fn>
void race(Fn fn) {
  std::atomic<int> waiting{kThreads};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      waiting.fetch_sub(1);
      while (waiting.load() > 0) std::this_thread::yield();
      fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

TEST_F(AcmeConcurrencyTest, ManyClientsEnrollAtOnce) {
  start_server();
  std::vector<std::unique_ptr<TestAcmeClient>> clients;
  for (int i = 0; i < kThreads; ++i) clients.push_back(make_client());
  std::vector<std::string> certificates(kThreads);
  race([&](int i) {
    TestAcmeClient& c = *clients[i];
    if (c.new_account().status != 201) return;
    std::string order_url = ready_ip_order(c);
    Reply order = c.post_as_get(order_url);
    auto csr_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
    Reply done = c.post(order.body["finalize"],
                        Json{{"csr", TestAcmeClient::csr_b64(csr_key, {}, {"127.0.0.1"})}});
    if (done.status == 200 && done.body["certificate"].is_string())
      certificates[i] = done.body["certificate"];
  });
  std::set<std::string> distinct;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_FALSE(certificates[i].empty()) << "client " << i << " got no certificate";
    Reply cert = clients[i]->post_as_get(certificates[i]);
    EXPECT_EQ(cert.status, 200);
    distinct.insert(certificates[i]);
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kThreads));
}

TEST_F(AcmeConcurrencyTest, RacingFinalizesIssueExactlyOneCertificate) {
  start_server();
  auto owner = account_client();
  std::string order_url = ready_ip_order(*owner);
  Json order = owner->post_as_get(order_url).body;
  auto racers = clones(*owner);
  std::vector<Reply> replies(kThreads);
  race([&](int i) {
    auto csr_key = *pki::PrivateKey::generate(pki::KeySpec::p256());
    replies[i] = racers[i]->post(
        order["finalize"], Json{{"csr", TestAcmeClient::csr_b64(csr_key, {}, {"127.0.0.1"})}});
  });
  int issued = 0;
  for (const auto& r : replies) {
    if (r.status == 200) {
      ++issued;
      EXPECT_EQ(r.status_field(), "valid") << r.response.body;
    } else {
      EXPECT_EQ(r.status, 403) << r.response.body;
      EXPECT_EQ(r.problem(), "orderNotReady") << r.response.body;
    }
  }
  EXPECT_EQ(issued, 1);
  Reply final_order = owner->post_as_get(order_url);
  EXPECT_EQ(final_order.status_field(), "valid");
  ASSERT_TRUE(final_order.body["certificate"].is_string());
  EXPECT_EQ(owner->post_as_get(final_order.body["certificate"]).status, 200);
}

TEST_F(AcmeConcurrencyTest, RacingAccountUpdatesLeaveOneOfThem) {
  start_server();
  auto owner = account_client();
  auto racers = clones(*owner);
  std::vector<int> statuses(kThreads);
  race([&](int i) {
    std::string contact = "mailto:racer" + std::to_string(i) + "@example.com";
    statuses[i] = racers[i]->post(owner->kid, Json{{"contact", {contact}}}).status;
  });
  for (int s : statuses) EXPECT_EQ(s, 200);
  Reply account = owner->post_as_get(owner->kid);
  ASSERT_EQ(account.status, 200);
  ASSERT_EQ(account.body["contact"].size(), 1u) << account.response.body;
  std::string contact = account.body["contact"][0];
  EXPECT_TRUE(contact.starts_with("mailto:racer")) << contact;
}

TEST_F(AcmeConcurrencyTest, EachNonceIsAcceptedOnceAcrossThreads) {
  start_server();
  auto owner = account_client();
  auto racers = clones(*owner);
  constexpr int kNonces = 6;
  std::vector<std::string> nonces;
  for (int n = 0; n < kNonces; ++n) {
    Reply head = owner->request("HEAD", owner->url("newNonce"));
    nonces.push_back(head.header("Replay-Nonce"));
    ASSERT_FALSE(nonces.back().empty());
  }
  std::vector<std::atomic<int>> accepted(kNonces);
  std::atomic<int> refused{0};
  race([&](int i) {
    for (int n = 0; n < kNonces; ++n) {
      SignOptions opt;
      opt.nonce = nonces[n];
      Reply r = racers[i]->post(owner->kid, std::nullopt, opt);
      if (r.status == 200) {
        accepted[n].fetch_add(1);
      } else if (r.problem() == "badNonce") {
        refused.fetch_add(1);
      }
    }
  });
  for (int n = 0; n < kNonces; ++n) EXPECT_EQ(accepted[n].load(), 1) << "nonce " << n;
  EXPECT_EQ(refused.load(), kNonces * (kThreads - 1));
}

// Two challenges of one authorization answered at once (http-01 and dns-01; RFC 8555
// §7.5.1): neither answer's write undoes the other's, so neither validation is dropped; the
// authorization becomes valid and every challenge answered gets its own outcome (none stays
// "processing"). An answer that came after the authorization was decided is refused
// (malformed), as it would be one after the other.
TEST_F(AcmeConcurrencyTest, TwoChallengesOfOneAuthorizationAnsweredAtOnceAreBothDecided) {
  ChallTestSrv dns;
  ASSERT_TRUE(dns.start()) << "pebble-challtestsrv did not start";
  config.dns_server = "127.0.0.1:" + std::to_string(dns.dns_port);
  // Long enough for each response to carry its validation's outcome (a bound, not a timing
  // assertion: a validation no worker decides is answered "processing" at once).
  config.challenge_answer_wait = std::chrono::seconds(30);
  start_server();
  auto owner = account_client();
  auto racers = clones(*owner);
  constexpr int kAuthzs = 16;
  std::vector<std::pair<std::string, std::string>> names;
  for (int i = 0; i < kAuthzs; ++i)
    names.push_back({"dns", "race" + std::to_string(i) + ".example"});
  Reply order = owner->new_order(names);
  ASSERT_EQ(order.status, 201) << order.response.body;
  const std::array<std::string, 2> types = {"http-01", "dns-01"};
  for (const auto& authz_url : order.body["authorizations"]) {
    Json authz = owner->post_as_get(authz_url).body;
    const std::string name = authz["identifier"]["value"];
    SCOPED_TRACE(name);
    std::array<Json, 2> challenges;
    for (std::size_t k = 0; k < types.size(); ++k) {
      challenges[k] = TestAcmeClient::challenge_of(authz, types[k]);
      ASSERT_FALSE(challenges[k].is_null()) << types[k];
    }
    const std::string http_token = challenges[0]["token"], dns_token = challenges[1]["token"];
    responder.provision(http_token, owner->key_authorization(http_token));
    ASSERT_TRUE(dns.set_txt("_acme-challenge." + name + ".",
                            base64url_encode(sha256(owner->key_authorization(dns_token)))));
    std::array<Reply, 2> replies;
    std::latch start(2);
    std::vector<std::thread> threads;
    for (std::size_t k = 0; k < types.size(); ++k) {
      const std::string url = challenges[k]["url"];
      threads.emplace_back([&, k, url] {
        start.arrive_and_wait();
        replies[k] = racers[k]->post(url, Json::object());
      });
    }
    for (auto& t : threads) t.join();
    // A valid authorization lists the challenges that were attempted (RFC 8555 §7.1.4).
    Json decided = owner->post_as_get(authz_url).body;
    EXPECT_EQ(decided["status"], "valid") << decided;
    int answered = 0;
    for (std::size_t k = 0; k < types.size(); ++k) {
      const Reply& reply = replies[k];
      const Json stored = TestAcmeClient::challenge_of(decided, types[k]);
      if (reply.status == 200) {
        ++answered;
        EXPECT_EQ(reply.status_field(), "valid") << types[k] << ": " << reply.response.body;
        EXPECT_EQ(stored.is_object() ? stored["status"] : Json("(not listed: pending)"), "valid")
            << types[k] << ": " << decided;
      } else {
        EXPECT_EQ(reply.status, 400) << types[k] << ": " << reply.response.body;
        EXPECT_EQ(reply.problem(), "malformed") << types[k];
        EXPECT_TRUE(stored.is_null()) << types[k] << ": " << decided;
      }
    }
    EXPECT_GE(answered, 1);
  }
}

}  // namespace
}  // namespace attestlab::server::testing
