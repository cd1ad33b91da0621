// The WireLog: sequence numbers under concurrent recording, enabling, and JSON that
// survives binary and long bodies.
#include "client/wire_log.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace attestlab::client {
namespace {

TEST(WireLog, ConcurrentRecordsGetUniqueSequenceNumbers) {
  WireLog log;
  constexpr int kThreads = 8, kEach = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kEach; ++i) {
        WireExchange e;
        e.method = "GET";
        e.url = "https://x/" + std::to_string(t) + "/" + std::to_string(i);
        log.record(std::move(e));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::uint64_t> seqs;
  std::set<std::string> urls;
  for (const auto& e : log.exchanges()) {
    seqs.insert(e.seq);
    urls.insert(e.url);
  }
  EXPECT_EQ(seqs.size(), log.size());
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), log.size());
  EXPECT_EQ(urls.size(), log.size());
  EXPECT_EQ(log.exchanges(10, 15).size(), 5u);
  EXPECT_EQ(log.to_json(log.size() - 2).size(), 2u);
  EXPECT_TRUE(log.exchanges(5000, 6000).empty());
}

TEST(WireLog, DisabledLogRecordsNothing) {
  WireLog log(false);
  EXPECT_EQ(log.record(WireExchange{}), 0u);
  EXPECT_EQ(log.size(), 0u);
  log.set_enabled(true);
  EXPECT_EQ(log.record(WireExchange{}), 1u);
  log.clear();
  EXPECT_EQ(log.size(), 0u);
}

TEST(WireLog, JsonSurvivesBinaryBodiesAndCutsLongOnes) {
  WireExchange e;
  e.method = "POST";
  e.url = "https://x/";
  e.request_body = std::string("ok\xff\xfe", 4) + "\xc3\xa9";  // invalid bytes, then é
  e.jws_payload = Json(std::string("\xc0\x80", 2));            // overlong NUL
  e.status = 200;
  e.response_headers = {{"Content-Type", "application/json"}};
  e.response_body = std::string(100, 'a');
  const Json j = e.to_json(10);
  const std::string dumped = j.dump();  // throws on invalid UTF-8; must not
  EXPECT_EQ(j["request"]["body"], "ok\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
  EXPECT_EQ(j["request"]["jws"]["payload"], "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(j["response"]["body"], std::string(10, 'a'));
  EXPECT_EQ(j["response"]["body_truncated"], true);
  EXPECT_EQ(j["response"]["headers"][0][0], "Content-Type");
  EXPECT_FALSE(j.contains("error"));
}

// A log keeps at most kKeptBodyBytes of a body (a hostile target may send 10 MiB on every
// request), and says so when it reports the exchange, whatever max_body it is asked for.
TEST(WireLog, KeepsAtMostTheReportedPartOfALongBody) {
  WireLog log;
  WireExchange e;
  e.method = "POST";
  e.request_body = std::string(WireLog::kKeptBodyBytes + 1, 'r');
  e.status = 200;
  e.response_body = "[" + std::string(3 * 1024 * 1024, '1') + "]";
  log.record(std::move(e));
  WireExchange small;
  small.status = 200;
  small.response_body = "[1]";
  log.record(std::move(small));

  const std::vector<WireExchange> kept = log.exchanges();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].request_body.size(), WireLog::kKeptBodyBytes);
  EXPECT_EQ(kept[0].response_body.size(), WireLog::kKeptBodyBytes);
  EXPECT_LE(kept[0].response_body.capacity(), WireLog::kKeptBodyBytes + 64);
  EXPECT_TRUE(kept[0].request_body_cut);
  EXPECT_TRUE(kept[0].response_body_cut);
  const Json j = kept[0].to_json(10 * 1024 * 1024);
  EXPECT_EQ(j["request"]["body_truncated"], true);
  EXPECT_EQ(j["response"]["body_truncated"], true);
  EXPECT_FALSE(j["response"].contains("json"));  // a cut body is not parsed
  EXPECT_EQ(j["response"]["body"].get<std::string>().size(), WireLog::kKeptBodyBytes);
  // A body of the limit or under is kept whole and parsed as before.
  EXPECT_FALSE(kept[1].response_body_cut);
  const Json whole = kept[1].to_json();
  EXPECT_EQ(whole["response"]["json"], Json::array({1}));
  EXPECT_FALSE(whole["response"].contains("body_truncated"));
}

}  // namespace
}  // namespace attestlab::client
