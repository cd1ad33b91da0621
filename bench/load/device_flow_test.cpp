#include "bench/load/device_flow.h"

#include <gtest/gtest.h>

#include <set>

#include "core/clock.h"

namespace attestlab::load {
namespace {

TEST(DeviceFlow, FaultEnrollmentsAreSpreadEvenlyAndTakeKnobsInTurn) {
  std::uint64_t faults = 0;
  std::set<std::uint64_t> ordinals;
  std::uint64_t longest_gap = 0, since = 0;
  for (std::uint64_t k = 0; k < 1000; ++k) {
    std::uint64_t ordinal = 0;
    if (is_fault_enrollment(k, 0.1, &ordinal)) {
      ++faults;
      EXPECT_TRUE(ordinals.insert(ordinal).second) << "ordinal " << ordinal << " twice";
      longest_gap = std::max(longest_gap, since);
      since = 0;
    } else {
      ++since;
    }
  }
  EXPECT_EQ(faults, 100u);
  EXPECT_EQ(*ordinals.rbegin(), 99u);
  EXPECT_EQ(longest_gap, 9u);
  EXPECT_FALSE(is_fault_enrollment(5, 0));
  for (std::uint64_t k = 0; k < 10; ++k) EXPECT_TRUE(is_fault_enrollment(k, 1));
}

TEST(DeviceFlow, DefaultMixFaultsAreKnownKnobs) {
  EXPECT_GE(default_mix_faults().size(), 10u);
  FlowTarget t;
  t.urls = {"https://127.0.0.1:1/dir"};
  auto ca = sim::AppleCa::create(SystemClock().now());
  ASSERT_TRUE(ca.ok());
  t.apple_ca = std::make_shared<const sim::AppleCa>(std::move(*ca));
  DeviceFlowOptions options;
  options.devices = 3;
  options.fault_share = 0.5;
  auto flow = make_device_flow(t, options);  // no I/O: the pool is made locally
  ASSERT_TRUE(flow.ok()) << flow.error().detail;
  EXPECT_EQ((*flow)->name(), "mix");
  EXPECT_EQ((*flow)->challenge(), "device-attest-01");
}

TEST(DeviceFlow, RefusesWhatCannotRun) {
  FlowTarget t;
  t.urls = {"https://127.0.0.1:1/dir"};
  DeviceFlowOptions options;
  EXPECT_FALSE(make_device_flow(t, options).ok());  // no mock Apple CA
  auto ca = sim::AppleCa::create(SystemClock().now());
  ASSERT_TRUE(ca.ok());
  t.apple_ca = std::make_shared<const sim::AppleCa>(std::move(*ca));
  options.fault_share = 0.2;
  options.faults = {"no_such_fault"};
  auto unknown = make_device_flow(t, options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().detail.find("no_such_fault"), std::string::npos);
  options.faults = {};
  options.fault_share = 1.5;
  EXPECT_FALSE(make_device_flow(t, options).ok());
}

}  // namespace
}  // namespace attestlab::load
