#include "scenarios/fleet.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace attestlab::scenarios {

namespace {

constexpr std::size_t kMaxListedMismatches = 10;
constexpr std::size_t kMaxLoggedDevices = 3;

struct DeviceOutcome {
  const PlannedDevice* planned = nullptr;
  bool capable = false;
  Observation observation;
  std::vector<std::string> mismatches;
  Json wire_log = Json::array();
};

// Runs one device's actions; the observation accumulates what each action saw (the
// enrollment's result, the MDM verdict); a failed check-in stops the device.
DeviceOutcome run_device(World& world, const Step& step, const PlannedDevice& planned,
                         std::size_t max_wire) {
  DeviceOutcome out;
  out.planned = &planned;
  std::unique_ptr<DeviceRuntime> d = world.make_device(planned, nullptr);
  d->with_device([&](sim::Device& device, sim::AttestationService&, sim::DeviceKeychain&) {
    out.capable = device.supports_attestation() && device.has_secure_enclave();
  });
  Observation& o = out.observation;
  for (StepType action : step.fleet.actions) {
    Observation a;
    switch (action) {
      case StepType::MdmEnroll:
        a = mdm_enroll(world, *d);
        break;
      case StepType::InstallProfile:
        a = install_profile(world, *d, PayloadOptions{});
        break;
      case StepType::DeviceInformation:
        a = device_information(world, *d, "fresh");
        break;
      case StepType::AcmeEnroll:
      case StepType::AcmeRenew: {
        Step direct;
        direct.type = action;
        direct.reuse_key = action == StepType::AcmeRenew;
        a = acme_enroll(world, *d, direct);
        break;
      }
      default:
        break;
    }
    if (action == StepType::AcmeRenew) {
      o.ari_renewal = a.ari_renewal;
      o.renewal_window = a.renewal_window;
    }
    if (action == StepType::InstallProfile || action == StepType::AcmeEnroll ||
        action == StepType::AcmeRenew) {
      o.issued = a.issued;
      o.failed_step = a.failed_step;
      o.challenge_status = a.challenge_status;
      if (action == StepType::InstallProfile) o.command_status = a.command_status;
      if (a.error && !o.error) o.error = a.error;
    } else if (action == StepType::DeviceInformation) {
      o.mdm_verdict = a.mdm_verdict;
    } else if (a.error) {
      o.error = a.error;
      o.notes.push_back("check-in failed; remaining actions not run");
      break;
    }
  }
  o.network_requests = static_cast<std::int64_t>(d->log.size());
  const std::optional<Expectation>& expect = out.capable ? step.fleet.capable : step.fleet.legacy;
  if (expect) out.mismatches = mismatches(*expect, o);
  out.wire_log = sliced_wire_log(d->log, 0, max_wire);
  return out;
}

std::string label(const DeviceOutcome& d) {
  return d.planned->id + " (" + sim::to_string(d.planned->kind) + " " + d.planned->identity.serial +
         ", " + (d.capable ? "capable" : "legacy") + ")";
}

// "91 issued, 91 trusted" style counts of one device class.
std::string class_counts(const std::vector<DeviceOutcome>& all, bool capable) {
  std::size_t n = 0, issued = 0, renewals = 0, through_ari = 0;
  std::map<std::string, std::size_t> verdicts, errors;
  for (const auto& d : all) {
    if (d.capable != capable) continue;
    ++n;
    if (d.observation.issued) ++issued;
    if (d.observation.ari_renewal) ++renewals;
    if (d.observation.ari_renewal.value_or(false)) ++through_ari;
    if (!d.observation.mdm_verdict.empty()) ++verdicts[d.observation.mdm_verdict];
    if (d.observation.error) {
      ++errors[d.observation.error->type +
               (d.observation.failed_step.empty() ? "" : " at " + d.observation.failed_step)];
    }
  }
  std::string s = std::to_string(n) + (capable ? " capable" : " legacy");
  if (n == 0) return s;
  s += ": " + std::to_string(issued) + " issued";
  if (renewals > 0) s += ", " + std::to_string(through_ari) + " renewed through ARI";
  for (const auto& [v, c] : verdicts) s += ", " + std::to_string(c) + " MDM " + v;
  for (const auto& [e, c] : errors) s += ", " + std::to_string(c) + " refused " + e;
  return s;
}

struct WindowSpread {
  std::size_t windows = 0, distinct = 0;
  bool spread = false;
  std::string text;  // "24 ARI windows, 24 distinct starts over 51.3 h"
};

// How the capable devices' suggested renewal windows are spread; nullopt when none was seen.
std::optional<WindowSpread> window_spread(const std::vector<DeviceOutcome>& all) {
  std::vector<std::int64_t> starts;
  for (const auto& d : all) {
    const auto& window = d.observation.renewal_window;
    if (d.capable && window) starts.push_back(window->first);
  }
  if (starts.empty()) return std::nullopt;
  std::sort(starts.begin(), starts.end());
  WindowSpread s;
  s.windows = starts.size();
  s.distinct = static_cast<std::size_t>(std::unique(starts.begin(), starts.end()) - starts.begin());
  s.spread = s.distinct * 2 >= s.windows && (s.windows < 2 || s.distinct > 1);
  const double hours = static_cast<double>(starts[s.distinct - 1] - starts.front()) / 3600.0;
  char span[32];
  std::snprintf(span, sizeof span, "%.1f", hours);
  s.text = std::to_string(s.windows) + " ARI renewal windows, " + std::to_string(s.distinct) +
           " distinct starts over " + span + " h";
  return s;
}

}  // namespace

FleetRun run_fleet(World& world, const Step& step, const std::vector<PlannedDevice>& devices,
                   std::size_t max_wire_exchanges) {
  FleetRun run;
  const bool needs_mdm =
      std::any_of(step.fleet.actions.begin(), step.fleet.actions.end(), [](StepType t) {
        return t != StepType::AcmeEnroll && t != StepType::AcmeRenew;
      });
  if (needs_mdm && world.mdm() == nullptr) {
    run.harness_error = world.mdm_error();
    return run;
  }
  if (devices.empty()) {
    run.harness_error = "the fleet was not planned";
    return run;
  }
  std::vector<std::string> expected;
  if (step.fleet.capable) expected.push_back("capable: " + step.fleet.capable->describe());
  if (step.fleet.legacy) expected.push_back("legacy: " + step.fleet.legacy->describe());
  if (step.fleet.spread_windows) {
    expected.push_back("renewal windows spread: at least half of the capable devices told a "
                       "different window start");
  }
  for (const auto& e : expected) run.expected += (run.expected.empty() ? "" : "; ") + e;

  std::vector<DeviceOutcome> outcomes(devices.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= devices.size()) return;
      outcomes[i] = run_device(world, step, devices[i], max_wire_exchanges);
    }
  };
  const std::size_t threads_wanted =
      std::min<std::size_t>(static_cast<std::size_t>(step.fleet.parallel), devices.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < threads_wanted; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  run.observed = std::to_string(outcomes.size()) + " devices: " + class_counts(outcomes, true) +
                 "; " + class_counts(outcomes, false);
  // A target (or MDM) that could not be reached is not a verdict on the fleet.
  for (const auto& d : outcomes) {
    const auto& e = d.observation.error;
    const bool device_side = d.observation.failed_step == sim::enroll_step::kAttest ||
                             d.observation.failed_step == sim::enroll_step::kPayload ||
                             d.observation.failed_step == sim::enroll_step::kKey;
    if (e && ((e->type == "connection" && !device_side) || e->type == kErrorMdmSessionFailed)) {
      run.harness_error = label(d) + ": " + e->type + ": " + e->detail;
      break;
    }
  }
  std::size_t failing = 0;
  for (const auto& d : outcomes) {
    if (d.mismatches.empty()) continue;
    ++failing;
    if (run.mismatches.size() < kMaxListedMismatches) {
      std::string m = label(d) + ": ";
      for (std::size_t i = 0; i < d.mismatches.size(); ++i) m += (i ? "; " : "") + d.mismatches[i];
      if (d.observation.error && !d.observation.error->detail.empty())
        m += " [" + d.observation.error->detail + "]";
      run.mismatches.push_back(std::move(m));
    }
    if (failing <= kMaxLoggedDevices) {
      for (const auto& e : d.wire_log) run.wire_log.push_back(e);
    }
  }
  if (failing > run.mismatches.size()) {
    run.mismatches.push_back("and " + std::to_string(failing - run.mismatches.size()) +
                             " more devices");
  }
  if (auto spread = window_spread(outcomes)) {
    run.observed += "; " + spread->text;
    if (step.fleet.spread_windows && !spread->spread) {
      ++failing;
      run.mismatches.push_back("spread_windows: expected at least half of " +
                               std::to_string(spread->windows) +
                               " renewal windows to differ, observed " + spread->text);
    }
  } else if (step.fleet.spread_windows) {
    ++failing;
    run.mismatches.push_back("spread_windows: expected ARI renewal windows, observed none");
  }
  if (failing == 0 && !outcomes.empty()) run.wire_log = outcomes.front().wire_log;  // a sample
  if (failing > 0) run.observed += " (" + std::to_string(failing) + " devices not as expected)";
  return run;
}

}  // namespace attestlab::scenarios
