#include "scenarios/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "scenarios/fleet.h"
#include "scenarios/preflight.h"
#include "scenarios/world.h"

namespace attestlab::scenarios {

namespace {

using reports::CaseResult;
using reports::Outcome;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string two_digits(std::size_t n) {
  return (n < 10 ? "0" : "") + std::to_string(n);
}

std::string case_id(const Scenario& sc, std::size_t index, const Step& step) {
  return sc.name + "/" + two_digits(index + 1) + "-" + to_string(step.type);
}

std::string step_title(const Step& step) {
  if (!step.title.empty()) return step.title;
  std::string t = to_string(step.type);
  if (!step.device.empty()) t += " " + step.device;
  if (step.type == StepType::Hijack) t += " by " + step.attacker + ": " + step.hijack;
  if (step.type == StepType::Fleet) t += " of " + std::to_string(step.fleet.count) + " devices";
  if (!step.client_faults.empty()) {
    t += " [";
    for (std::size_t i = 0; i < step.client_faults.size(); ++i)
      t += (i ? ", " : "") + step.client_faults[i];
    t += "]";
  }
  if (step.certificate == CertificateRef::Previous &&
      (step.type == StepType::Revoke || step.type == StepType::CheckCertificate ||
       step.type == StepType::CheckKey)) {
    t += " (previous certificate)";
  }
  return t;
}

// The case skeleton every step of a scenario shares: spec reference split into document
// and section ("RFC 8555 §7.6" → "RFC 8555", "7.6").
CaseResult case_for(const Scenario& sc, std::size_t index, const Step& step) {
  CaseResult c;
  c.id = case_id(sc, index, step);
  c.title = step_title(step);
  c.requirement = sc.summary + " (threat: " + sc.threat + ")";
  const std::string& ref = sc.spec.front();
  const auto section = ref.find(" \xc2\xa7");  // " §"
  if (section != std::string::npos) {
    c.spec = ref.substr(0, section);
    c.section = ref.substr(section + 3);
  } else {
    c.spec = ref;
  }
  if (sc.spec.size() > 1) {
    c.requirement += "; see also";
    for (std::size_t i = 1; i < sc.spec.size(); ++i)
      c.requirement += (i > 1 ? ", " : " ") + sc.spec[i];
  }
  c.level = sc.level;
  c.profile = sc.name;
  return c;
}

std::string join_notes(const std::vector<std::string>& notes) {
  std::string s;
  for (const auto& n : notes) s += (s.empty() ? "" : "; ") + n;
  return s;
}

}  // namespace

int ScenarioResult::count(Outcome o) const {
  return static_cast<int>(std::count_if(cases.begin(), cases.end(),
                                        [o](const CaseResult& c) { return c.outcome == o; }));
}

bool ScenarioResult::ok() const {
  return count(Outcome::Fail) == 0 && count(Outcome::Error) == 0;
}

std::string ScenarioResult::verdict() const {
  if (count(Outcome::Error) > 0) return "error";
  if (count(Outcome::Fail) > 0) return "fail";
  if (!skipped.empty() || (count(Outcome::Pass) == 0 && count(Outcome::Skip) > 0)) return "skip";
  return "pass";
}

std::string missing_requirement(const Scenario& sc, const Target& target, bool can_clock) {
  if (!target.no_device_attestation.empty())
    return "the target cannot enroll attested devices: " + target.no_device_attestation;
  if (target.mdm && uses_mdm(sc) &&
      std::any_of(sc.steps.begin(), sc.steps.end(),
                  [](const Step& s) { return s.type == StepType::AdvanceClock; })) {
    return "the scenario moves the clock, which the running MDM (--mdm) does not share: it "
           "judges attestation freshness on its own time";
  }
  for (const auto& r : sc.requirements) {
    if (r == kRequiresServerClock) {
      if (!can_clock) return "the target's clock cannot be moved (requires server-clock)";
    } else if (r == kRequiresAri) {
      continue;  // asked of the target's directory (missing_ari) before the scenario runs
    } else if (target.capabilities.count(r) == 0) {
      if (r == kRequiresInventory)
        return "the target's inventory does not list the planned devices (requires inventory)";
      if (r == kRequiresPolicy)
        return "the target does not apply the scenario's assumed policy (requires policy)";
      return "the target lacks " + r;
    }
  }
  if (!target.attestation_ca) return "no mock attestation CA is configured for the target";
  return "";
}

ScenarioResult run_scenario(const ScenarioPlan& plan, const Target& target,
                            const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const Scenario& sc = plan.scenario;
  ScenarioResult result;
  result.name = sc.name;
  result.summary = sc.summary;
  result.steps_total = sc.steps.size();

  auto skip_all = [&](const std::string& why, std::size_t from) {
    for (std::size_t i = from; i < sc.steps.size(); ++i) {
      const Step& step = sc.steps[i];
      if (!step.expect && step.type != StepType::Fleet) continue;
      CaseResult c = case_for(sc, i, step);
      c.outcome = Outcome::Skip;
      c.reason = why;
      if (step.expect) c.expected = step.expect->describe();
      result.cases.push_back(std::move(c));
    }
  };
  // A setup step the scenario relies on failed: one error case, every check skipped.
  auto setup_failed = [&](const std::string& title, const std::string& reason,
                          const std::string& skip_reason) {
    CaseResult c = case_for(sc, 0, sc.steps.front());
    c.id = sc.name + "/00-setup";
    c.title = title;
    c.outcome = Outcome::Error;
    c.reason = reason;
    result.cases.push_back(std::move(c));
    skip_all(skip_reason, 0);
    result.duration_ms = ms_since(t0);
    return result;
  };

  std::string missing = missing_requirement(sc, target, static_cast<bool>(options.clocked_target));
  if (missing.empty() && sc.needs(kRequiresAri)) {
    auto ari = missing_ari(target);
    if (!ari) {
      return setup_failed("the target's directory (renewalInfo)", ari.error().detail,
                          "the target's directory could not be read");
    }
    if (*ari) missing = **ari;
  }
  if (!missing.empty()) {
    result.skipped = missing;
    skip_all(missing, 0);
    result.duration_ms = ms_since(t0);
    return result;
  }

  std::unique_ptr<ClockedTarget> clocked;
  if (sc.needs(kRequiresServerClock)) {
    auto made = options.clocked_target();
    if (!made) {
      return setup_failed("private target with a movable clock",
                          "could not start a private target: " + made.error().detail,
                          "the scenario's target could not be set up");
    }
    clocked = std::move(*made);
  }

  World world(plan, target, clocked.get());
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step& step = sc.steps[i];
    const auto s0 = std::chrono::steady_clock::now();
    CaseResult c = case_for(sc, i, step);
    ++result.steps_run;

    if (step.type == StepType::Fleet) {
      auto it = plan.fleets.find(i);
      FleetRun fleet = run_fleet(
          world, step, it == plan.fleets.end() ? std::vector<PlannedDevice>{} : it->second,
          options.max_wire_exchanges);
      c.expected = fleet.expected;
      c.observed = fleet.observed;
      c.wire_log = std::move(fleet.wire_log);
      c.duration_ms = ms_since(s0);
      if (fleet.harness_error) {
        c.outcome = Outcome::Error;
        c.reason = *fleet.harness_error;
      } else if (!fleet.mismatches.empty()) {
        c.outcome = Outcome::Fail;
        c.reason = join_notes(fleet.mismatches);
      }
      const bool stop = c.outcome == Outcome::Error;
      result.cases.push_back(std::move(c));
      if (stop) {
        skip_all("an earlier step errored (" + case_id(sc, i, step) + ")", i + 1);
        break;
      }
      continue;
    }

    StepRun run = run_step(world, step, options.max_wire_exchanges);
    c.duration_ms = ms_since(s0);
    c.observed = run.observation.describe();
    if (!run.observation.notes.empty())
      c.observed += " [" + join_notes(run.observation.notes) + "]";
    c.wire_log = std::move(run.wire_log);

    if (run.harness_error) {
      c.outcome = Outcome::Error;
      c.reason = *run.harness_error;
      if (step.expect) c.expected = step.expect->describe();
      result.cases.push_back(std::move(c));
      skip_all("an earlier step errored (" + case_id(sc, i, step) + ")", i + 1);
      break;
    }
    if (!step.expect) {
      // A setup step: it must simply work. An enrollment that was refused, or an MDM
      // command the device did not acknowledge, stops the scenario.
      const bool failed = run.observation.error.has_value();
      if (!failed) continue;
      c.outcome = Outcome::Error;
      c.expected = "the step succeeds (it has no expectation)";
      c.reason = "setup step failed: " + run.observation.describe();
      result.cases.push_back(std::move(c));
      skip_all("an earlier step errored (" + case_id(sc, i, step) + ")", i + 1);
      break;
    }
    c.expected = step.expect->describe();
    auto violated = mismatches(*step.expect, run.observation);
    if (!violated.empty()) {
      c.outcome = Outcome::Fail;
      c.reason = join_notes(violated);
    }
    result.cases.push_back(std::move(c));
  }
  result.duration_ms = ms_since(t0);
  return result;
}

RunSummary run_scenarios(const std::vector<ScenarioPlan>& plans, const Target& target,
                         const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  RunSummary summary;
  summary.run.name = target.name;
  summary.run.directory_url = target.directory_url;
  summary.run.started_at = format_rfc3339(SystemClock().now());
  summary.scenarios.resize(plans.size());

  std::atomic<std::size_t> next{0};
  std::mutex done_mu;
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= plans.size()) return;
      ScenarioResult r = run_scenario(plans[i], target, options);
      std::lock_guard<std::mutex> lock(done_mu);
      summary.scenarios[i] = std::move(r);
      if (options.on_scenario_done) options.on_scenario_done(summary.scenarios[i]);
    }
  };
  const int jobs = std::max(1, std::min<int>(options.jobs, static_cast<int>(plans.size())));
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  for (const auto& s : summary.scenarios)
    for (const auto& c : s.cases) summary.run.cases.push_back(c);
  std::stable_sort(summary.run.cases.begin(), summary.run.cases.end(),
                   [](const CaseResult& a, const CaseResult& b) { return a.id < b.id; });
  summary.run.duration_ms = ms_since(t0);
  return summary;
}

}  // namespace attestlab::scenarios
