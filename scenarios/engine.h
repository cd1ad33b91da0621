// Runs planned scenarios against a target and turns every checked step into a
// reports::CaseResult (profile = scenario name, the step's WireLog attached).
//
// Each scenario runs in its own simulated world: its own virtual clock (devices, Apple's
// attestation servers and the MDM share it; advance_clock moves it), its own Apple
// attestation servers (so an outage stays in its scenario), devices, keychains and MDM.
// Scenarios run in parallel on RunOptions::jobs threads; one scenario's steps run in
// order on one thread (a fleet step fans out to its own threads).
//
// Outcomes of a step's case:
//   pass   every expectation member held;
//   fail   at least one did not: reason lists each as "member: expected X, observed Y";
//   error  the step could not be carried out (a setup step without expectations failed,
//          the target was unreachable, a referenced certificate does not exist); the
//          remaining steps of that scenario are then skipped;
//   skip   the target lacks something the scenario requires (reason names it), or an
//          earlier step errored.
// Steps without an expectation produce no case unless they error.
//
// Thread-safety: run_scenarios creates and joins its own threads; the Target is read
// from many threads and must not change meanwhile.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "reports/run_result.h"
#include "scenarios/plan.h"
#include "scenarios/target.h"

namespace attestlab::scenarios {

struct RunOptions {
  int jobs = 4;
  // Private targets for scenarios that require server-clock (see target.h).
  ClockedTargetFactory clocked_target;
  // At most this many wire exchanges are kept per case (the first ones; a note says how
  // many were dropped). Fleet steps keep the exchanges of the devices that failed.
  std::size_t max_wire_exchanges = 300;
  // Called once per finished scenario, serialized, from worker threads.
  std::function<void(const struct ScenarioResult&)> on_scenario_done;
};

struct ScenarioResult {
  std::string name;
  std::string summary;
  std::vector<reports::CaseResult> cases;  // step order
  std::size_t steps_total = 0;
  std::size_t steps_run = 0;
  double duration_ms = 0;
  std::string skipped;  // why the whole scenario was skipped; empty when it ran

  int count(reports::Outcome o) const;
  // No case failed or errored (a skipped scenario passes nothing but fails nothing).
  bool ok() const;
  // "pass" | "fail" | "error" | "skip" for summary tables.
  std::string verdict() const;
};

struct RunSummary {
  reports::TargetRun run;                 // every case, ordered by id
  std::vector<ScenarioResult> scenarios;  // input order
};

// Why `target` (with or without a clocked-target factory) cannot run the scenario;
// empty when it can.
std::string missing_requirement(const Scenario& scenario, const Target& target, bool can_clock);

ScenarioResult run_scenario(const ScenarioPlan& plan, const Target& target,
                            const RunOptions& options);
RunSummary run_scenarios(const std::vector<ScenarioPlan>& plans, const Target& target,
                         const RunOptions& options);

}  // namespace attestlab::scenarios
