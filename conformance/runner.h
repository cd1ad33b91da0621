// Runs selected cases against one target: in parallel on worker threads, each case with
// its own WireLog and a deadline, results in id order.
//
// Verdicts become results as follows (see TARGETS.md "Outcomes"):
//   - a case needing a capability the target lacks: skip, reason names the capability;
//   - a case whose dependency (Case::depends_on) ran and did not pass: skip, "see <id>";
//   - a failed SHOULD (or MAY) case: "fail" with --strict, otherwise "non-strict" whose
//     reason starts with "SHOULD not met: " (expected/observed kept) — reported, not counted;
//   - a pass or fail while one of the case's requests got no answer (a transport error):
//     "error" — nothing was judged, so a case never passes on a refused connection;
//   - a case exceeding its timeout: "error" ("timed out after N ms"); its thread is left
//     to finish on its own (see TargetRunSummary::stragglers);
//   - a precondition the case does not test failing: "error".
// After a timeout or a transport error the runner asks the liveness probe whether the
// target still answers. When it does not, the target is down: the run records which case
// it was answering (TargetRun::target_down), the cases still running become errors and the
// cases not started are skipped at once ("not run: target down").
// Thread-safety: run_target may be called from one thread at a time per target; it
// creates and joins its own threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/wire_log.h"
#include "conformance/case.h"
#include "conformance/target.h"
#include "core/result.h"
#include "reports/run_result.h"

namespace attestlab::conformance {

struct RunOptions {
  int jobs = 4;
  bool strict = false;
  // Overrides the profile's timing.case_timeout when set.
  std::optional<std::chrono::milliseconds> case_timeout;
  // Called once per finished case (any thread, serialized), e.g. for progress lines.
  std::function<void(const reports::CaseResult&, std::size_t done, std::size_t total)> on_case_done;
  // Whether the target still answers; ok when it does, else an error whose detail says
  // what the probe saw. Empty: the target's directory and a nonce are fetched
  // (client::probe_target), then the run's shared account sends a newOrder; each request
  // waits at most 10 s, and any HTTP answer means the target is there.
  std::function<Result<void>()> liveness;
  // Polled by the watchdog (every 50 ms): true once the user asked the run to stop
  // (SIGINT/SIGTERM). Cases running then become errors "interrupted", the rest are skipped
  // as "not run: interrupted"; run_target returns at once with what was run.
  std::function<bool()> interrupted;
};

struct TargetRunSummary {
  reports::TargetRun run;
  // Case threads still running after their timeout when run_target returned. They hold
  // their own references to everything they use; a process that exits while some remain
  // should do so with std::_Exit after flushing its output.
  std::size_t stragglers = 0;
};

// The first capability of c the target lacks, as a skip reason; nullopt when none.
std::optional<std::string> missing_capability(const Case& c, const TargetProfile& target);

// Applies the level rules above to a verdict.
Verdict apply_level(const Case& c, Verdict verdict, bool strict);
// The transport rule above: a pass or fail becomes an error when one of `exchanges` got no
// response; other verdicts are returned unchanged.
Verdict apply_transport_rule(Verdict verdict, const std::vector<client::WireExchange>& exchanges);
// The dependency rule above: a skip naming the first dependency in `finished` (case id →
// its outcome) that did not pass; nullopt when every dependency that ran passed.
std::optional<Verdict> unmet_dependency(const Case& c,
                                        const std::map<std::string, reports::Outcome>& finished);

// Runs `selected` against target. `all` is the whole registry: the devices of every case
// go into the target's inventory file so it does not depend on the selection.
// Errors: the harness could not be set up (http-01 port taken, CA directory unreadable,
// inventory file not writable).
Result<TargetRunSummary> run_target(const TargetProfile& target, const CaseList& selected,
                                    const CaseList& all, const RunOptions& options);

}  // namespace attestlab::conformance
