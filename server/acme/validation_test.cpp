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
