// What `attestlab scenario run` and `attestlab demo` share: running planned scenarios
// against a target with progress lines, the summary table, and the lines naming each
// violated expectation.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/result.h"
#include "scenarios/engine.h"
#include "scenarios/plan.h"
#include "scenarios/scenario.h"
#include "scenarios/target.h"

namespace attestlab::cli {

// A seed from the system's random source (identities differ between runs).
std::uint64_t random_seed();

// Runs plans against target (clocked may be empty), printing one line per finished
// scenario to `progress` unless quiet.
scenarios::RunSummary run_planned(const std::vector<scenarios::ScenarioPlan>& plans,
                                  const scenarios::Target& target,
                                  const scenarios::ClockedTargetFactory& clocked, int jobs,
                                  bool quiet, std::ostream& progress);

// Table: scenario, steps (run/total), checks passed/total, verdict, time.
void print_summary_table(const scenarios::RunSummary& summary, std::ostream& out);

// One block per failed or errored case: "FAIL scenario step N (type): title" followed by
// the violated expectations, expected and observed.
void print_failures(const scenarios::RunSummary& summary, std::ostream& out);

}  // namespace attestlab::cli
