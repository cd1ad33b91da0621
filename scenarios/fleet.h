// The fleet step (engine internals): N generated devices go through the scenario's MDM
// and ACME target in parallel, each running the step's actions in order, and every
// device is checked against the expectation of its class ("capable": can attest;
// "legacy": LegacyiPhone, IntelMac or an OS without attestation).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "scenarios/plan.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"

namespace attestlab::scenarios {

struct FleetRun {
  std::string expected;                 // both classes' expectations, one line
  std::string observed;                 // counts per class, one line
  std::vector<std::string> mismatches;  // "fleet-1-17 (iPhone, F2LX…): error: expected …"
  Json wire_log = Json::array();        // exchanges of a few failing devices (or of the first one)
  std::optional<std::string> harness_error;
};

// Runs the fleet with step.fleet.parallel devices at a time (threads of its own).
FleetRun run_fleet(World& world, const Step& step, const std::vector<PlannedDevice>& devices,
                   std::size_t max_wire_exchanges);

}  // namespace attestlab::scenarios
