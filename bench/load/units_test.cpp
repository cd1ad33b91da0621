#include "bench/load/units.h"

#include <gtest/gtest.h>

namespace attestlab::load {
namespace {

TEST(Units, Durations) {
  EXPECT_DOUBLE_EQ(parse_duration("20s")->count(), 20);
  EXPECT_DOUBLE_EQ(parse_duration("20")->count(), 20);
  EXPECT_DOUBLE_EQ(parse_duration("500ms")->count(), 0.5);
  EXPECT_DOUBLE_EQ(parse_duration("1.5m")->count(), 90);
  EXPECT_DOUBLE_EQ(parse_duration("2h")->count(), 7200);
  EXPECT_DOUBLE_EQ(parse_duration("0")->count(), 0);
  for (const char* bad :
       {"", "s", "-1s", "1e3s", "20 s", "20sec", "1.2.3s", "ms", "9999999h", "nan"}) {
    auto d = parse_duration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.error().type, "malformed");
    }
  }
}

TEST(Units, Rates) {
  EXPECT_DOUBLE_EQ(*parse_rate("20/s"), 20);
  EXPECT_DOUBLE_EQ(*parse_rate("20"), 20);
  EXPECT_DOUBLE_EQ(*parse_rate("0.5/s"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_rate("120/m"), 2);
  for (const char* bad : {"", "0", "0/s", "-5/s", "20/h", "20 /s", "fast", "2000000/s"})
    EXPECT_FALSE(parse_rate(bad).ok()) << bad;
}

TEST(Units, Shards) {
  auto s = parse_shard("2/4");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->first, 1);
  EXPECT_EQ(s->second, 4);
  EXPECT_EQ(parse_shard("1/1")->first, 0);
  for (const char* bad : {"", "0/2", "3/2", "1/0", "a/b", "1", "1/2/3", "-1/2", "1/"})
    EXPECT_FALSE(parse_shard(bad).ok()) << bad;
}

}  // namespace
}  // namespace attestlab::load
