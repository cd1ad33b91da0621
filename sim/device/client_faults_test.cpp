#include "sim/device/client_faults.h"

#include <gtest/gtest.h>

namespace attestlab::sim {

TEST(ClientFaults, EveryNameSwitchesExactlyItsKnob) {
  for (const auto& name : client_fault_names()) {
    ClientFaults f;
    ASSERT_TRUE(set_client_fault(f, name).ok()) << name;
    auto on = enabled_client_faults(f);
    ASSERT_EQ(on.size(), 1u) << name;
    EXPECT_EQ(on[0], name);
  }
}

TEST(ClientFaults, UnknownNameIsRefused) {
  ClientFaults f;
  auto r = set_client_fault(f, "no_such_knob");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "malformed");
  EXPECT_TRUE(enabled_client_faults(f).empty());
}

}  // namespace attestlab::sim
