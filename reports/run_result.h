// The result model shared by scenarios and the conformance suite, and its renderers.
// JSON is the source of truth (versioned: "schema": "attestlab.result/1"); JUnit XML,
// Markdown and the self-contained HTML report are rendered from it, so
// `attestlab report render` can re-render any saved run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::reports {

inline constexpr const char* kResultSchema = "attestlab.result/1";
// What `attestlab --version` prints, and every result and statement records.
inline constexpr const char* kToolVersion = "attestlab 0.1.0";

// NonStrict (Autobahn's NON-STRICT): a SHOULD or MAY requirement not met. Neither a pass
// nor a failure: it never fails a run (with --strict the runner records Fail instead).
enum class Outcome { Pass, Fail, Skip, Error, NonStrict };
const char* to_string(Outcome o);  // "pass" | "fail" | "skip" | "error" | "non-strict"
Result<Outcome> outcome_from_string(const std::string& s);

// One case (conformance) or one expectation-checked step (scenario) on one target.
struct CaseResult {
  std::string id;           // "rfc8555-6.5-nonce-reuse"
  std::string title;        // short human title
  std::string requirement;  // the requirement in one sentence
  std::string spec;         // "RFC 8555", "draft-ietf-acme-device-attest-10", "Apple MDA"
  std::string section;      // "6.5"
  std::string level;        // "MUST" | "SHOULD" | "MAY" | "policy"
  std::string
      profile;  // "rfc8555" | "device-attest" | "apple" | "apple-mda-policy" | scenario name
  Outcome outcome = Outcome::Pass;
  std::string reason;  // why it failed / was skipped / errored
  std::string expected;
  std::string observed;
  double duration_ms = 0;
  int attempts = 1;               // > 1 when the runner retried
  Json wire_log = Json::array();  // exchanges (see client/wire_log.h)
  // Compared with a baseline (conform --baseline): one of the kBaseline* values; empty
  // without a baseline or when nothing is to say (passes as before, skips).
  std::string baseline;
};

// CaseResult::baseline values.
inline constexpr const char* kBaselineRegression = "regression";       // passed before, fails now
inline constexpr const char* kBaselineNewFailure = "new-failure";      // not in the baseline, fails
inline constexpr const char* kBaselineKnownFailure = "known-failure";  // failed before and now
inline constexpr const char* kBaselineImprovement = "improvement";     // failed before, not now

// A target that stopped answering during a run: a liveness probe of its directory failed
// after a case timed out or met a transport error. Cases not run because of it are skips
// whose reason starts with kNotRunTargetDown.
struct TargetDown {
  std::string during_case;  // the case it was answering when it went silent
  std::string detail;       // what the probe saw
  bool known = false;       // a baseline expected it (during the same case): not a failure
};
inline constexpr const char* kNotRunTargetDown = "not run: target down";
// Cases a run did not start because the user interrupted it (SIGINT/SIGTERM).
inline constexpr const char* kNotRunInterrupted = "not run: interrupted";

struct TargetRun {
  std::string name;  // short label ("embedded", "pebble", a host)
  std::string directory_url;
  std::string started_at;  // RFC 3339
  double duration_ms = 0;
  std::vector<CaseResult> cases;  // deterministic order (by id)
  // Kind "load": what the load generator measured on this target (the "load" member,
  // bench/load/load_run.h; cases stay empty). Null for other kinds.
  Json load;
  std::optional<TargetDown> target_down;
  int count(Outcome o) const;
  int not_run_count() const;  // skips because the target went down
};

struct RunResult {
  std::string kind;  // "conformance" | "scenario" | "load"
  std::string tool_version = kToolVersion;
  std::string command;   // command line that produced it
  bool strict = false;   // SHOULD counted as MUST
  std::string baseline;  // the baseline file the cases were compared with; empty: none
  std::vector<TargetRun> targets;
  // statement_summary() of the signed statement made of this run (reports/statement.h);
  // null when none was made.
  Json statement;

  // A run fails when a target went down, or a load threshold failed (a "thresholds" entry
  // of a target's "load" with "passed": false), or — without a baseline — any case failed
  // or errored on any target; with a baseline, only a regression or a new failure does.
  bool failed() const;
  Json to_json() const;
  static Result<RunResult> from_json(const Json& j);  // checks the schema version
};

std::string render_junit(const RunResult& run);
std::string render_markdown(const RunResult& run);
// One self-contained HTML file (inline CSS/JS/SVG, no network): summary charts, the
// target × case matrix when there are several targets, a drill-down to each case's wire log.
std::string render_html(const RunResult& run);
// Writes result.json, junit.xml, summary.md and report.html into dir (created).
Result<void> write_reports(const RunResult& run, const std::string& dir);

}  // namespace attestlab::reports
