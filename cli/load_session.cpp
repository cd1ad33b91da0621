#include "cli/load_session.h"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "bench/load/crypto_floor.h"
#include "bench/load/device_flow.h"
#include "bench/load/plain_flow.h"
#include "bench/load/threshold.h"
#include "client/http01_responder.h"
#include "client/target_probe.h"
#include "core/bytes.h"
#include "sim/device/apple_ca.h"

namespace attestlab::cli {
namespace {

std::string random_run_id() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << (static_cast<std::uint64_t>(rd()) << 32 | rd());
  return out.str().substr(0, 10);
}

// What the flows need from the profile; usage errors name what is missing.
Result<void> fill_target(const LoadArgs& a, const LoadSettings& s,
                         const client::TargetProfile& profile, bool embedded,
                         std::shared_ptr<client::Http01Responder>& responder, load::FlowTarget& t,
                         std::ostream* notes) {
  if (a.profile.empty()) {
    t.urls = embedded ? std::vector<std::string>{profile.directory_url} : a.targets;
  } else {
    // The profile's URL, and more URLs of the same service from --target.
    t.urls = {profile.directory_url};
    for (const auto& url : a.targets)
      if (url != profile.directory_url) t.urls.push_back(url);
  }
  t.client.trust_ca_pem_file = profile.trust_ca;
  t.client.timeout = s.http_timeout;
  t.client.bad_nonce_retries = 8;
  t.client.user_agent = "attestlab-load/0.1";
  t.dns_suffix = profile.dns_suffix == "conform.example" ? "load.example" : profile.dns_suffix;
  t.poll_interval = s.poll_interval;
  t.honor_retry_after = a.honor_retry_after;
  t.poll_timeout = s.poll_timeout;
  if (profile.eab && (profile.eab->required || !a.eab_kid.empty())) {
    auto key = base64url_decode(profile.eab->hmac_key_b64u);
    if (!key) return Error::make("usage", "the EAB MAC key is not base64url");
    t.eab = client::ExternalAccountBinding{profile.eab->kid, *key};
  }
  if (a.flow == "plain" || a.flow == "renewal") {
    std::string challenge = a.challenge;
    if (challenge.empty()) challenge = profile.has("http-01") ? "http-01" : "dns-01";
    if (auto why = profile.missing(challenge))
      return Error::make(
          "usage",
          "the " + a.flow + " flow answers " + challenge + ", but " + *why +
              " (use --target-profile, --embedded, --http01-listen or --dns01-management)");
    t.challenge = challenge;
    if (challenge == "http-01") {
      responder = profile.http01_responder;  // already listening (an embedded target's)
      if (!responder) {
        auto started = client::Http01Responder::start(profile.http01_listen);
        if (!started) return Error::make("usage", started.error().detail);
        responder = std::move(*started);
      }
      t.http01 = responder.get();
    } else {
      t.dns.emplace(profile.dns01_management);
    }
  } else {
    if (profile.device.attestation_ca_dir.empty())
      return Error::make("usage",
                         "the " + a.flow +
                             " flow needs the mock Apple CA the target trusts: a profile with "
                             "device.attestation_ca_dir, --attestation-ca DIR, or --embedded");
    auto ca = sim::AppleCa::load(profile.device.attestation_ca_dir);
    if (!ca) return Error::make("usage", "mock Apple CA: " + ca.error().detail);
    t.apple_ca = std::make_shared<const sim::AppleCa>(std::move(*ca));
    if (profile.device.identity_source == "inventory-file" && notes != nullptr)
      *notes << "attestlab load: note: the load's devices are not in the target's inventory ("
             << profile.device.inventory_file << "); a target checking it refuses them\n";
  }
  return ok();
}

}  // namespace

Result<load::LoadRun> run_load_session(const LoadArgs& a, const LoadSettings& s,
                                       const client::TargetProfile& profile,
                                       const EmbeddedTarget* embedded,
                                       const LoadSessionHooks& hooks) {
  const load::LoadPlan& plan = s.plan;
  std::shared_ptr<client::Http01Responder> responder;
  load::FlowTarget target;
  target.run_id =
      random_run_id() + (plan.shard_count > 1 ? "s" + std::to_string(plan.shard_index + 1) : "");
  ATTESTLAB_TRY(fill_target(a, s, profile, embedded != nullptr, responder, target, hooks.notes));

  // A bad target is one line, before any load.
  for (const auto& url : target.urls) {
    auto probed = client::probe_target(url, target.client);
    if (!probed) return Error::make("usage", probed.error().detail);
    if (probed->external_account_required && !target.eab)
      return Error::make("usage", url +
                                      " requires external account binding: pass --eab-kid and "
                                      "--eab-hmac-key");
  }

  if (hooks.notes != nullptr && hooks.announce_setup)
    *hooks.notes << "attestlab load: setting up the " << a.flow
                 << " flow (before the clock starts)\n";
  Result<std::unique_ptr<load::Flow>> flow = Error::make("internal", "no flow");
  if (a.flow == "plain" || a.flow == "renewal") {
    load::PlainFlowOptions options;
    options.renewal = a.flow == "renewal";
    options.accounts = a.accounts.value_or(options.renewal ? 50 : 0);
    options.ari = a.ari;
    flow = load::make_plain_flow(target, options);
  } else {
    load::DeviceFlowOptions options;
    options.devices = s.devices;
    options.seed = std::hash<std::string>{}(target.run_id);
    options.fault_share = a.flow == "mix" ? a.fault_share : 0;
    options.faults = a.faults;
    flow = load::make_device_flow(target, options);
  }
  if (!flow)
    return Error::make("internal", "setting up the " + a.flow + " flow: " + flow.error().detail);

  load::EngineOptions options;
  options.plan = plan;
  options.workers = s.workers;
  options.drain = s.drain;
  options.stall_timeout = s.stall_timeout;
  options.jsonl = hooks.jsonl;
  options.interrupt = hooks.interrupt;
  options.server_pid = a.server_pid;
  if (embedded != nullptr) {
    options.server_pid = getpid();
    options.server_in_process = true;
  }
  options.progress_interval = hooks.progress_interval;
  options.on_progress = hooks.on_progress;

  const std::uint64_t issued_before = embedded ? embedded->certificates_issued() : 0;
  auto ran = load::run_load(**flow, options);
  const std::uint64_t issued_after = embedded ? embedded->certificates_issued() : 0;
  if (!ran) return Error::make("internal", ran.error().detail);

  load::LoadRun run = std::move(*ran);
  run.target_name = profile.name;
  run.urls = target.urls;
  if (embedded) run.target_issued = issued_after - issued_before;
  // The floor beside the server's CPU: timed now, after the clock stopped, so it neither
  // delays the start nor competes with the load.
  if (run.server_cpu_ms) {
    auto counts = load::crypto_counts_for(a.flow, a.accounts.value_or(0) > 0);
    auto timings = load::measure_crypto_timings();
    if (counts && timings) {
      run.floor = load::CryptoFloor{*timings, *counts};
    } else if (!timings) {
      std::cerr << "attestlab load: " << timings.error().detail << "\n";
    }
  }
  for (const auto& t : s.thresholds) run.thresholds.push_back(load::evaluate_threshold(t, run));
  return run;
}

reports::RunResult load_result(const load::LoadRun& run, const std::string& command) {
  reports::RunResult result;
  result.kind = "load";
  result.command = command;
  reports::TargetRun target;
  target.name = run.target_name;
  target.directory_url = run.urls.empty() ? "" : run.urls.front();
  target.started_at = run.started_at;
  target.duration_ms = run.elapsed_s * 1000;
  target.load = run.to_json();
  result.targets.push_back(std::move(target));
  return result;
}

}  // namespace attestlab::cli
