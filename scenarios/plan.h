// Binding scenarios to concrete devices before anything runs: every device (named or in a
// fleet) gets a generated identity, unique across the whole run, so the target's
// inventory can be written once for all scenarios and runs never collide in a target's
// inventory or certificate store.
//
// The same scenarios (same order) and the same seed give the same identities, which is
// how a foreign target's inventory is prepared ahead of a run (`attestlab scenario
// prepare --seed N` then `scenario run ... --seed N`). Pure values; not thread-safe
// while being built, read-only afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "scenarios/scenario.h"
#include "sim/device/device.h"

namespace attestlab::scenarios {

struct PlannedDevice {
  std::string id;  // the DeviceSpec id, or "fleet-S-N" (step S, device N) in a fleet
  sim::DeviceKind kind = sim::DeviceKind::IPhone;
  sim::DeviceIdentity identity;  // generated, with the spec's overrides applied
  InventoryMembership inventory = InventoryMembership::Active;
  std::string listed_udid;  // PairMismatch: the (other) UDID listed with its serial
};

struct ScenarioPlan {
  Scenario scenario;
  std::vector<PlannedDevice> devices;                        // scenario.devices order
  std::map<std::size_t, std::vector<PlannedDevice>> fleets;  // by step index

  const PlannedDevice* find(const std::string& id) const;
};

// Plans every scenario with one identity generator seeded with `seed`.
std::vector<ScenarioPlan> plan_run(const std::vector<Scenario>& scenarios, std::uint64_t seed);

// The policy platform name of a kind's OS: iOS, iPadOS, macOS, tvOS, visionOS, watchOS.
const char* platform_of(sim::DeviceKind kind);

// The inventory (attestlab serve --inventory format: [{serial, udid, status, platform}])
// listing every planned device as its membership says.
Json inventory_json(const std::vector<ScenarioPlan>& plans);

// The union of the scenarios' assumes_policy members: objects (per-platform floors) are
// merged key by key, anything else must be equal where two scenarios set it.
// Error("malformed", "<member>: <file> and <file> disagree") otherwise.
Result<Json> merged_assumed_policy(const std::vector<Scenario>& scenarios);

}  // namespace attestlab::scenarios
