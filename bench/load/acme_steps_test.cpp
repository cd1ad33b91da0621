#include "bench/load/acme_steps.h"

#include <gtest/gtest.h>

#include "core/http.h"

namespace attestlab::load {
namespace {

using namespace std::chrono_literals;

// A Retry-After date in year 9999 is ~2.5e14 ms away: as nanoseconds (StopSignal's unit)
// that overflows 64 bits. The pause must stay within the poll deadline instead.
TEST(PollPause, AFarRetryAfterDateIsBoundedByTheDeadline) {
  auto server = http::Server::start({}, [](const http::Request&) {
    http::Response r;
    r.set("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT");
    r.set("Content-Type", "application/json");
    r.body = "{}";
    return r;
  });
  ASSERT_TRUE(server.ok());
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/dir";
  client::AcmeClient c(url, {}, nullptr);
  (void)c.directory();
  ASSERT_TRUE(c.last_response().has_value());

  FlowTarget t;
  t.poll_interval = 50ms;
  t.honor_retry_after = true;
  const auto now = std::chrono::steady_clock::now();
  const auto pause = poll_pause(c, t, now + 2s);
  EXPECT_GT(pause, 1s);
  EXPECT_LE(pause, 2s);
  EXPECT_EQ(poll_pause(c, t, now - 1s), 0ms);

  t.honor_retry_after = false;
  EXPECT_EQ(poll_pause(c, t, now + 2s), 50ms);
  (*server)->stop();
}

}  // namespace
}  // namespace attestlab::load
