#include "bench/load/schedule.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <vector>

namespace attestlab::load {
namespace {

std::vector<Slot> all_slots(const Schedule& s) {
  std::vector<Slot> out;
  for (std::uint64_t j = 0; j < 1000000; ++j) {
    auto slot = s.open_slot(j);
    if (!slot) break;
    out.push_back(*slot);
  }
  return out;
}

// Shard `index` of `count` of the load `plan` describes.
LoadPlan shard_of(LoadPlan plan, int index, int count) {
  plan.shard_index = index;
  plan.shard_count = count;
  return plan;
}

TEST(Schedule, ConstantRateIsEvenlySpaced) {
  const LoadPlan plan{.rate = 20, .duration_s = 2};
  Schedule s(plan);
  const auto slots = all_slots(s);
  ASSERT_EQ(slots.size(), 40u);
  for (std::size_t k = 0; k < slots.size(); ++k) {
    EXPECT_EQ(slots[k].index, k);
    EXPECT_NEAR(slots[k].offset_s, static_cast<double>(k) / 20.0, 1e-12);
    EXPECT_TRUE(slots[k].measured);
  }
  EXPECT_EQ(s.measured_due_before(1.0), 20u);
  EXPECT_EQ(s.measured_due_before(100.0), 40u);
  EXPECT_EQ(s.measured_due_before(std::numeric_limits<double>::infinity()), 40u);
  EXPECT_DOUBLE_EQ(*s.end_offset_s(), 2.0);
}

TEST(Schedule, WarmupEnrollmentsComeFirstAndAreNotMeasured) {
  const LoadPlan plan{.rate = 10, .duration_s = 1, .warmup_s = 1.5};
  Schedule s(plan);
  EXPECT_EQ(s.first_measured(), 15u);
  const auto slots = all_slots(s);
  ASSERT_EQ(slots.size(), 25u);
  for (const auto& slot : slots) EXPECT_EQ(slot.measured, slot.index >= 15) << slot.index;
  EXPECT_EQ(s.measured_due_before(1.0), 0u);
  EXPECT_EQ(s.measured_due_before(2.05), 6u);
}

TEST(Schedule, CountLimitsMeasuredEnrollments) {
  const LoadPlan plan{.rate = 100, .count = 7, .warmup_s = 0.05};
  Schedule s(plan);
  const auto slots = all_slots(s);
  ASSERT_EQ(slots.size(), 12u);  // 5 warm-up + 7 measured
  EXPECT_EQ(s.measured_due_before(1e9), 7u);
  EXPECT_NEAR(*s.end_offset_s(), 0.11, 1e-9);
}

TEST(Schedule, RampReachesTheRateLinearly) {
  const LoadPlan plan{.rate = 100, .ramp_s = 2, .duration_s = 4};
  Schedule s(plan);
  // N(t) = r t² / 2R during the ramp: 25 by t = 1, 100 by t = 2, then 100 a second.
  EXPECT_EQ(s.measured_due_before(1.0), 25u);
  EXPECT_EQ(s.measured_due_before(2.0), 100u);
  EXPECT_EQ(s.measured_due_before(3.0), 200u);
  const auto slots = all_slots(s);
  ASSERT_EQ(slots.size(), 300u);
  for (std::size_t k = 1; k < slots.size(); ++k)
    ASSERT_GT(slots[k].offset_s, slots[k - 1].offset_s);
  // Spacing shrinks during the ramp and is 1/rate after it.
  EXPECT_GT(slots[2].offset_s - slots[1].offset_s, slots[90].offset_s - slots[89].offset_s);
  EXPECT_NEAR(slots[250].offset_s - slots[249].offset_s, 0.01, 1e-9);
}

TEST(Schedule, ShardsPartitionTheSingleGeneratorSchedule) {
  const LoadPlan plan{.rate = 37, .ramp_s = 0.7, .duration_s = 3, .warmup_s = 0.4};
  const auto single = all_slots(Schedule(plan));
  for (int n : {2, 3, 5}) {
    std::set<std::uint64_t> seen;
    std::uint64_t due = 0;
    for (int i = 0; i < n; ++i) {
      Schedule s(shard_of(plan, i, n));
      for (const auto& slot : all_slots(s)) {
        ASSERT_EQ(slot.index % static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(i));
        ASSERT_TRUE(seen.insert(slot.index).second) << "index " << slot.index << " twice";
        ASSERT_DOUBLE_EQ(slot.offset_s, single[slot.index].offset_s);
        ASSERT_EQ(slot.measured, single[slot.index].measured);
      }
      due += s.measured_due_before(2.0);
    }
    EXPECT_EQ(seen.size(), single.size()) << n << " shards";
    EXPECT_EQ(due, Schedule(plan).measured_due_before(2.0)) << n << " shards";
  }
}

TEST(Schedule, ClosedModelSplitsConcurrencyAndCount) {
  LoadPlan plan{.model = Model::Closed, .concurrency = 7, .count = 100};
  int workers = 0;
  std::uint64_t count = 0;
  for (int i = 0; i < 3; ++i) {
    Schedule s(shard_of(plan, i, 3));
    workers += s.shard_concurrency();
    count += *s.shard_measured_count();
    EXPECT_FALSE(s.end_offset_s().has_value());
  }
  EXPECT_EQ(workers, 7);
  EXPECT_EQ(count, 100u);
  plan.count.reset();
  plan.duration_s = 5;
  plan.warmup_s = 1;
  EXPECT_DOUBLE_EQ(*Schedule(plan).end_offset_s(), 6.0);
}

}  // namespace
}  // namespace attestlab::load
