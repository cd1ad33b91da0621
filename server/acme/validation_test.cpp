#include "server/acme/validation.h"

#include <gtest/gtest.h>

#include <atomic>

#include "core/bytes.h"
#include "testing/acme_server_fixture.h"

namespace attestlab::server {
namespace {

TEST(ValidationPool, RunsJobsOffTheCallingThread) {
  ValidationPool pool(3);
  std::atomic<int> done{0};
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> on_caller{false};
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pool.submit([&] {
      if (std::this_thread::get_id() == caller) on_caller = true;
      ++done;
    }));
  }
  for (int i = 0; i < 500 && done < 50; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(done.load(), 50);
  EXPECT_FALSE(on_caller.load());
  pool.stop();
  EXPECT_FALSE(pool.submit([] {}));
  pool.stop();  // idempotent
}

// The queue is bounded: with the worker busy and max_queued jobs waiting, submit refuses
// (without being stopped); once the worker frees up, jobs are taken again.
TEST(ValidationPool, BoundedQueueRefusesWhenFull) {
  ValidationPool pool(1, 2);
  std::mutex gate;
  std::unique_lock hold(gate);
  std::atomic<int> done{0};
  std::atomic<bool> started{false};
  ASSERT_TRUE(pool.submit([&] {
    started = true;
    std::lock_guard wait(gate);
    ++done;
  }));
  for (int i = 0; i < 500 && !started; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(started.load());
  EXPECT_TRUE(pool.submit([&] { ++done; }));
  EXPECT_TRUE(pool.submit([&] { ++done; }));
  EXPECT_FALSE(pool.submit([&] { ++done; }));  // full
  EXPECT_FALSE(pool.stopped());
  EXPECT_EQ(pool.queued(), 2u);
  hold.unlock();
  for (int i = 0; i < 500 && done < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(done.load(), 3);
  EXPECT_TRUE(pool.submit([&] { ++done; }));
  pool.stop();
  EXPECT_TRUE(pool.stopped());
}

TEST(ValidationDeny, CidrMatching) {
  EXPECT_TRUE(ip_in_cidr("127.0.0.1", "127.0.0.0/8"));
  EXPECT_TRUE(ip_in_cidr("10.1.2.3", "10.0.0.0/8"));
  EXPECT_FALSE(ip_in_cidr("11.0.0.1", "10.0.0.0/8"));
  EXPECT_TRUE(ip_in_cidr("192.168.1.7", "192.168.1.7"));
  EXPECT_FALSE(ip_in_cidr("192.168.1.8", "192.168.1.7"));
  EXPECT_TRUE(ip_in_cidr("172.31.255.255", "172.16.0.0/12"));
  EXPECT_FALSE(ip_in_cidr("172.32.0.0", "172.16.0.0/12"));
  EXPECT_TRUE(ip_in_cidr("::1", "::1/128"));
  EXPECT_TRUE(ip_in_cidr("fd12::1", "fc00::/7"));
  EXPECT_FALSE(ip_in_cidr("2001:db8::1", "fc00::/7"));
  EXPECT_TRUE(ip_in_cidr("::ffff:127.0.0.1", "127.0.0.0/8"));  // v4-mapped
  EXPECT_FALSE(ip_in_cidr("127.0.0.1", "::1/128"));
  EXPECT_TRUE(ip_in_cidr("8.8.8.8", "0.0.0.0/0"));
  for (const char* bad :
       {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "x/8", "::/129", "1.2.3.4/-1"}) {
    EXPECT_FALSE(valid_cidr(bad)) << bad;
    EXPECT_FALSE(ip_in_cidr("10.0.0.1", bad)) << bad;
  }
  EXPECT_TRUE(valid_cidr("10.0.0.0/8"));
  EXPECT_TRUE(valid_cidr("fe80::/10"));
}

TEST(Http01Check, ComparesTrimmedBody) {
  testing::Http01Responder responder;
  responder.provision("tok", "tok.thumb\r\n");
  ValidationOptions options;
  options.http01_port = responder.port();
  options.timeout_ms = 3000;
  Identifier ip{"ip", "127.0.0.1"};
  EXPECT_TRUE(check_http01(ip, "tok", "tok.thumb", options).ok());
  auto wrong = check_http01(ip, "tok", "tok.other", options);
  EXPECT_EQ(wrong.error().type, "incorrectResponse");
  auto missing = check_http01(ip, "absent", "absent.thumb", options);
  EXPECT_EQ(missing.error().type, "unauthorized");
  options.http01_port = testing::free_port();
  EXPECT_EQ(check_http01(ip, "tok", "tok.thumb", options).error().type, "connection");
}

TEST(Dns01Check, FindsTxtRecord) {
  testing::ChallTestSrv dns;
  ASSERT_TRUE(dns.start());
  ValidationOptions options;
  options.dns_server = "127.0.0.1:" + std::to_string(dns.dns_port);
  options.timeout_ms = 3000;
  Identifier name{"dns", "txt.example"};
  EXPECT_EQ(check_dns01(name, "tok.thumb", options).error().type, "unauthorized");
  ASSERT_TRUE(dns.set_txt("_acme-challenge.txt.example.", "something-else"));
  EXPECT_EQ(check_dns01(name, "tok.thumb", options).error().type, "incorrectResponse");
  ASSERT_TRUE(dns.set_txt("_acme-challenge.txt.example.",
                          base64url_encode(sha256(std::string("tok.thumb")))));
  EXPECT_TRUE(check_dns01(name, "tok.thumb", options).ok());
}

}  // namespace
}  // namespace attestlab::server
