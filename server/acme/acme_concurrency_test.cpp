// The server under concurrent clients, through an in-process AcmeServer over HTTPS: many
// enrollments at once, racing finalizes of one order, racing account updates, and one set
// of nonces raced for by many threads. These are the tests scripts/sanitizers.sh runs
// under ThreadSanitizer; their assertions hold without it too.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

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

}  // namespace
}  // namespace attestlab::server::testing
