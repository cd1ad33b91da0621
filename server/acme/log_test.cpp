#include "server/acme/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "core/clock.h"

namespace attestlab::server {
namespace {

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(Log, ParseLevel) {
  EXPECT_EQ(*parse_log_level("quiet"), LogLevel::Quiet);
  EXPECT_EQ(*parse_log_level("debug"), LogLevel::Debug);
  EXPECT_FALSE(parse_log_level("verbose").ok());
}

TEST(Log, RequestLineIsJson) {
  std::FILE* f = std::tmpfile();
  Logger logger(LogLevel::Info, f);
  logger.request("POST", "new-order", 201, 1.25, "acct\"1", "hidden at info");
  std::string text = read_all(f);
  std::fclose(f);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto json = parse_json(text);
  ASSERT_TRUE(json.ok()) << text;
  EXPECT_EQ((*json)["method"], "POST");
  EXPECT_EQ((*json)["route"], "new-order");
  EXPECT_EQ((*json)["status"], 201);
  EXPECT_DOUBLE_EQ((*json)["dur_ms"].get<double>(), 1.25);
  EXPECT_EQ((*json)["account"], "acct\"1");
  EXPECT_FALSE(json->contains("detail"));
  EXPECT_TRUE((*json)["ts"].is_string());
}

// The line's time and duration are written digit by digit: the same text snprintf wrote.
TEST(Log, TimestampAndDurationKeepTheirFormat) {
  const std::vector<double> durations = {0,      0.0004, 0.0006,  0.001,    0.5,       1.25,
                                         9.9996, 10.0,   123.456, 999.9994, 86400000.0};
  for (double ms : durations) {
    std::FILE* f = std::tmpfile();
    Logger logger(LogLevel::Info, f);
    const std::int64_t before = system_millis() / 1000;
    logger.request("GET", "directory", 200, ms, "");
    const std::int64_t after = system_millis() / 1000;
    std::string text = read_all(f);
    std::fclose(f);
    auto json = parse_json(text);
    ASSERT_TRUE(json.ok()) << text;
    char expected[64];
    std::snprintf(expected, sizeof expected, "%.3f", ms);
    EXPECT_NE(text.find(std::string("\"dur_ms\":") + expected + "}"), std::string::npos) << text;
    const std::string ts = (*json)["ts"].get<std::string>();
    ASSERT_EQ(ts.size(), 24u) << ts;  // YYYY-MM-DDTHH:MM:SS.mmmZ
    for (std::size_t i : {4u, 7u}) EXPECT_EQ(ts[i], '-') << ts;
    EXPECT_EQ(ts[10], 'T');
    EXPECT_EQ(ts[19], '.');
    EXPECT_EQ(ts[23], 'Z');
    std::int64_t when = 0;
    ASSERT_TRUE(parse_rfc3339(ts, when)) << ts;
    EXPECT_GE(when, before);
    EXPECT_LE(when, after);
  }
}

TEST(Log, LevelsFilter) {
  std::FILE* f = std::tmpfile();
  Logger quiet(LogLevel::Quiet, f);
  quiet.request("GET", "directory", 200, 0.1, "");
  quiet.event(LogLevel::Info, "x");
  Logger info(LogLevel::Info, f);
  info.event(LogLevel::Debug, "not shown");
  EXPECT_EQ(read_all(f), "");
  Logger debug(LogLevel::Debug, f);
  debug.request("POST", "finalize", 400, 0.5, "", "bad \n csr");
  debug.event(LogLevel::Debug, "shown", Json{{"k", 1}});
  std::string text = read_all(f);
  std::fclose(f);
  auto first = parse_json(text.substr(0, text.find('\n')));
  ASSERT_TRUE(first.ok()) << text;
  EXPECT_EQ((*first)["detail"], "bad \n csr");
  auto second = parse_json(text.substr(text.find('\n') + 1));
  ASSERT_TRUE(second.ok()) << text;
  EXPECT_EQ((*second)["k"], 1);
}

}  // namespace
}  // namespace attestlab::server
