#include "bench/load/load_run.h"

#include <gtest/gtest.h>

#include <random>

#include "bench/load/load_text.h"

namespace attestlab::load {
namespace {

// What one enrollment of a simulated load did.
struct Sample {
  std::uint64_t k;
  bool ok;
  std::uint64_t latency_us;
  std::uint64_t service_us;
  double finished_at_s;
  std::uint64_t step_us[kStepCount];
  std::string error_type;
  int status;
};

std::vector<Sample> simulated_load(std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<Sample> out;
  for (std::uint64_t k = 0; k < n; ++k) {
    Sample s{};
    s.k = k;
    s.ok = rng() % 20 != 0;
    s.service_us = 20000 + rng() % 200000;
    s.latency_us = s.service_us + rng() % 50000;
    s.finished_at_s = static_cast<double>(k) / 20.0 + static_cast<double>(s.latency_us) / 1e6;
    for (auto& v : s.step_us) v = rng() % 30000;
    s.error_type = rng() % 2 ? "badNonce" : "connection";
    s.status = s.error_type == "badNonce" ? 400 : 0;
    out.push_back(s);
  }
  return out;
}

void record(LoadStats& stats, const Sample& s) {
  ++stats.started;
  for (std::size_t i = 0; i < kStepCount; ++i) stats.steps[i].record(s.step_us[i]);
  stats.requests += 9;
  if (s.ok) {
    ++stats.completed;
    stats.latency.record(s.latency_us);
    stats.service.record(s.service_us);
  } else {
    ++stats.failed;
    stats.count_error({"finalize", s.error_type, s.status}, "detail of " + s.error_type);
  }
  stats.record_in_timeline(s.finished_at_s, s.ok, s.latency_us);
}

LoadRun run_with(LoadStats stats, int shard, int shards, std::int64_t window_start_ms) {
  LoadRun r;
  r.target_name = "t";
  r.urls = {"https://127.0.0.1:1/dir"};
  r.flow = "plain";
  r.challenge = "http-01";
  r.plan.rate = 20;
  r.plan.duration_s = 30;
  r.workers = 8;
  r.shards = {shard};
  r.shard_count = shards;
  r.window_start_unix_ms = window_start_ms;
  r.elapsed_s = 30;
  r.scheduled = stats.started;
  r.generator_cpu_ms = 100;
  r.server_cpu_ms = 400;
  r.stats = std::move(stats);
  return r;
}

// Enrollments refused by the target's quota are errors, and the summary says what measured
// them: the quota, not the capacity.
TEST(LoadRun, SummaryNamesAQuotaWhenTheTargetRefusedRateLimited) {
  LoadRun run;
  run.target_name = "t";
  run.flow = "plain";
  run.shards = {0};
  run.stats.completed = 10;
  run.stats.failed = 5;
  run.stats.errors[ErrorKey{"directory", "connection", 0}] = 1;
  EXPECT_EQ(format_summary(run).find("rateLimited:"), std::string::npos);
  run.stats.errors[ErrorKey{"account", "rateLimited", 429}] = 3;
  run.stats.errors[ErrorKey{"order", "rateLimited", 429}] = 1;
  const std::string text = format_summary(run);
  EXPECT_NE(text.find("note: 4 refused rateLimited: the target's quota, not its capacity"),
            std::string::npos)
      << text;
}

TEST(LoadRun, MergedShardsEqualTheSingleRunOfTheSameSamples) {
  const auto samples = simulated_load(600);
  LoadStats single;
  for (const auto& s : samples) record(single, s);
  for (int n : {2, 3}) {
    std::vector<LoadRun> shards;
    for (int i = 0; i < n; ++i) {
      LoadStats stats;
      for (const auto& s : samples)
        if (s.k % static_cast<std::uint64_t>(n) == static_cast<std::uint64_t>(i)) record(stats, s);
      // Through the result JSON, as `attestlab report merge` reads them.
      auto back = LoadRun::from_json(run_with(std::move(stats), i, n, 1000).to_json());
      ASSERT_TRUE(back.ok()) << back.error().detail;
      shards.push_back(std::move(*back));
    }
    auto merged = merge_load_runs(shards);
    ASSERT_TRUE(merged.ok()) << merged.error().detail;
    EXPECT_EQ(merged->stats.latency, single.latency);
    EXPECT_EQ(merged->stats.service, single.service);
    EXPECT_EQ(merged->stats, single) << n << " shards";
    EXPECT_EQ(merged->scheduled, single.started);
    EXPECT_EQ(merged->shards.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(merged->stats.latency.percentile(99), single.latency.percentile(99));
    // Generators add their CPU; the one server is watched by all of them.
    EXPECT_DOUBLE_EQ(*merged->generator_cpu_ms, 100.0 * n);
    EXPECT_DOUBLE_EQ(*merged->server_cpu_ms, 400.0);
  }
}

TEST(LoadRun, TimelinesAlignOnTheWallClock) {
  LoadStats a, b;
  a.record_in_timeline(0.5, true, 1000);
  b.record_in_timeline(0.5, true, 2000);  // b's window opened 3 s after a's
  auto merged = merge_load_runs({run_with(a, 0, 2, 10000), run_with(b, 1, 2, 13000)});
  ASSERT_TRUE(merged.ok()) << merged.error().detail;
  ASSERT_EQ(merged->stats.timeline.size(), 4u);
  EXPECT_EQ(merged->stats.timeline[0].completed, 1u);
  EXPECT_EQ(merged->stats.timeline[3].completed, 1u);
  EXPECT_EQ(merged->stats.timeline[3].latency.max(), 2000u);
  EXPECT_EQ(merged->window_start_unix_ms, 10000);
  EXPECT_DOUBLE_EQ(merged->elapsed_s, 33.0);
}

TEST(LoadRun, OnlyShardsOfOneLoadMerge) {
  LoadStats s;
  EXPECT_FALSE(merge_load_runs({run_with(s, 0, 2, 0), run_with(s, 0, 2, 0)}).ok());  // same shard
  LoadRun other = run_with(s, 1, 2, 0);
  other.flow = "device";
  EXPECT_FALSE(merge_load_runs({run_with(s, 0, 2, 0), other}).ok());
  other = run_with(s, 1, 2, 0);
  other.plan.rate = 21;
  EXPECT_FALSE(merge_load_runs({run_with(s, 0, 2, 0), other}).ok());
  EXPECT_FALSE(merge_load_runs({}).ok());
}

TEST(LoadRun, DerivedFiguresCountUnfinishedAsErrors) {
  LoadStats s;
  s.completed = 90;
  s.failed = 4;
  s.faults["stale_token"] = {3, 3, 0};
  LoadRun r = run_with(s, 0, 1, 0);
  r.scheduled = 100;  // 90 + 4 + 3 fault enrollments finished: 3 never did
  EXPECT_EQ(r.unfinished(), 3u);
  EXPECT_NEAR(r.error_share(), 7.0 / 97.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.throughput(), 3.0);
  EXPECT_NEAR(*r.server_cpu_ms_per_enrollment(), 400.0 / 90.0, 1e-12);
  r.server_cpu_ms.reset();
  EXPECT_FALSE(r.server_cpu_ms_per_enrollment().has_value());
}

TEST(LoadRun, FromJsonRefusesMalformedDocuments) {
  const Json good = run_with(LoadStats(), 0, 1, 0).to_json();
  ASSERT_TRUE(LoadRun::from_json(good).ok());
  for (const char* key : {"flow", "plan", "shards", "shard_count", "stats", "scheduled", "urls"}) {
    Json j = good;
    j.erase(key);
    EXPECT_FALSE(LoadRun::from_json(j).ok()) << "without " << key;
  }
  Json j = good;
  j["shards"] = Json::array({3});
  EXPECT_FALSE(LoadRun::from_json(j).ok());
  j = good;
  j["stats"]["latency_us"]["count"] = 5;
  EXPECT_FALSE(LoadRun::from_json(j).ok());
  j = good;
  j["plan"]["model"] = "sideways";
  EXPECT_FALSE(LoadRun::from_json(j).ok());
  EXPECT_FALSE(LoadRun::from_json(Json("load")).ok());
}

}  // namespace
}  // namespace attestlab::load
