#include "bench/load/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace attestlab::load {
namespace {

// Latency-like samples: log-uniform from 1 µs to ~20 min, plus some small exact values.
std::vector<std::uint64_t> samples(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(0.0, 9.1);
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(i % 10 == 0 ? rng() % 300
                              : static_cast<std::uint64_t>(std::pow(10.0, exponent(rng))));
  }
  return out;
}

std::uint64_t nearest_rank(std::vector<std::uint64_t> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  if (p <= 0) return sorted.front();
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

TEST(Histogram, BucketsTileTheValueRange) {
  for (std::size_t i = 0; i + 1 < Histogram::kBucketCount; ++i) {
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_lowest(i)), i);
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_highest(i)), i);
    ASSERT_EQ(Histogram::bucket_highest(i) + 1, Histogram::bucket_lowest(i + 1)) << i;
    // A bucket's width is at most 1/128 of its lowest value (exact below 256).
    const std::uint64_t width = Histogram::bucket_highest(i) - Histogram::bucket_lowest(i) + 1;
    if (i < 256) {
      ASSERT_EQ(width, 1u);
    } else {
      ASSERT_LE(width * 128, Histogram::bucket_lowest(i));
    }
  }
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBucketCount - 1);
  EXPECT_EQ(Histogram::bucket_highest(Histogram::kBucketCount - 1), UINT64_MAX);
}

TEST(Histogram, PercentilesAreWithinTheStatedErrorOfTheSortedReference) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto values = samples(seed, 20000);
    Histogram h;
    for (auto v : values) h.record(v);
    ASSERT_EQ(h.count(), values.size());
    for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
      const double exact = static_cast<double>(nearest_rank(values, p));
      const double got = static_cast<double>(h.percentile(p));
      EXPECT_LE(std::abs(got - exact), exact * Histogram::kRelativeError)
          << "p" << p << " seed " << seed << ": " << got << " vs " << exact;
    }
    EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
    EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  }
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 256; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 127u);
  EXPECT_EQ(h.percentile(100), 255u);
  EXPECT_EQ(h.sum(), 255u * 256u / 2u);
  EXPECT_DOUBLE_EQ(h.mean(), 127.5);
}

TEST(Histogram, EmptyHistogramReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, MergeEqualsTheHistogramOfTheUnion) {
  const auto a_values = samples(7, 5000);
  const auto b_values = samples(8, 3000);
  Histogram a, b, all;
  for (auto v : a_values) {
    a.record(v);
    all.record(v);
  }
  for (auto v : b_values) {
    b.record(v);
    all.record(v);
  }
  Histogram merged = a;
  merged.merge(b);
  EXPECT_EQ(merged, all);
  Histogram other_order = b;
  other_order.merge(a);
  EXPECT_EQ(other_order, all);
  EXPECT_EQ(merged.percentile(99), all.percentile(99));
  // Merging an empty histogram changes nothing; merging into an empty one copies.
  Histogram empty;
  merged.merge(empty);
  EXPECT_EQ(merged, all);
  empty.merge(all);
  EXPECT_EQ(empty, all);
  // A different sample set is a different histogram.
  Histogram c = all;
  c.record(12345);
  EXPECT_FALSE(c == all);
}

TEST(Histogram, RecordTimesEqualsRepeatedRecord) {
  Histogram once, repeated;
  once.record(5000, 3);
  for (int i = 0; i < 3; ++i) repeated.record(5000);
  EXPECT_EQ(once, repeated);
  once.record(7, 0);
  EXPECT_EQ(once, repeated);
}

TEST(Histogram, JsonRoundTripIsExact) {
  Histogram h;
  for (auto v : samples(11, 2000)) h.record(v);
  auto back = Histogram::from_json(h.to_json());
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, h);
  auto empty = Histogram::from_json(Histogram().to_json());
  ASSERT_TRUE(empty.ok()) << empty.error().detail;
  EXPECT_EQ(empty->count(), 0u);
}

TEST(Histogram, FromJsonRefusesWhatToJsonNeverWrites) {
  Histogram h;
  h.record(1000);
  h.record(2000);
  const Json good = h.to_json();
  auto refused = [](const Json& j) {
    auto r = Histogram::from_json(j);
    return !r.ok() && r.error().type == "malformed";
  };
  EXPECT_TRUE(refused(Json::array()));
  Json j = good;
  j["sub_bucket_bits"] = 7;
  EXPECT_TRUE(refused(j));
  j = good;
  j["count"] = 3;
  EXPECT_TRUE(refused(j));
  j = good;
  j["buckets"].push_back(Json::array({Histogram::kBucketCount, 1}));
  EXPECT_TRUE(refused(j));
  j = good;
  j["buckets"] = Json::array({j["buckets"][1], j["buckets"][0]});
  EXPECT_TRUE(refused(j));
  j = good;
  j["min"] = 5;
  EXPECT_TRUE(refused(j));
  j = good;
  j["max"] = -1;
  EXPECT_TRUE(refused(j));
  j = good;
  j["buckets"][0] = "x";
  EXPECT_TRUE(refused(j));
  j = good;
  j.erase("sum");
  EXPECT_TRUE(refused(j));
}

}  // namespace
}  // namespace attestlab::load
