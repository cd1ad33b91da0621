// `attestlab load`: enrollment throughput and latency of an ACME server (bench/load/).
// Targets as for `conform` (--target URL, repeatable for several URLs of one service,
// round-robin; --target-profile FILE; --embedded). The figures go to stdout, the live
// progress to stderr, the result JSON (kind "load") under --report-dir.
// Exit codes (cli/command.h): 0 done and every threshold passed, 1 a threshold failed or
// the target stopped answering, 2 bad arguments or a bad target (before any load), 3 the
// generator could not run, 130 interrupted (Ctrl-C; the partial report is written).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/load/cpu.h"
#include "bench/load/device_flow.h"
#include "bench/load/engine.h"
#include "bench/load/load_text.h"
#include "bench/load/plain_flow.h"
#include "bench/load/threshold.h"
#include "cli/command.h"
#include "cli/command_line.h"
#include "cli/embedded_target.h"
#include "cli/load_options.h"
#include "client/fake_dns.h"
#include "client/http01_responder.h"
#include "client/target_probe.h"
#include "client/target_profile.h"
#include "core/bytes.h"
#include "core/child_process.h"
#include "core/clock.h"
#include "core/pki.h"
#include "reports/run_result.h"
#include "sim/device/apple_ca.h"

namespace attestlab::cli {
namespace {

constexpr int kExitInterrupted = 130;

std::atomic<bool> g_interrupted{false};

void on_sigint(int) {
  if (g_interrupted.exchange(true)) _exit(kExitInterrupted);  // a second Ctrl-C: leave now
}

int usage(const std::string& message) {
  std::cerr << "attestlab load: " << message << "\n";
  return kExitUsage;
}

int internal(const std::string& message) {
  std::cerr << "attestlab load: " << message << "\n";
  return kExitInternal;
}

std::string random_run_id() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << (static_cast<std::uint64_t>(rd()) << 32 | rd());
  return out.str().substr(0, 10);
}

// The profile the load runs against: a --target-profile, --embedded, or --target URLs.
// --embedded: attestlab's own server in-process (cli/embedded_target.h) with what every
// flow needs: a fresh mock Apple CA it trusts, no inventory, the default policy, and for
// plain/renewal the fake DNS and an http-01 port (required: without them nothing validates).
Result<client::TargetProfile> start_embedded(const LoadArgs& a,
                                             std::unique_ptr<EmbeddedTarget>& embedded) {
  const bool need_peers = a.flow == "plain" || a.flow == "renewal";
  EmbeddedTargetOptions options;
  options.work_dir_prefix = "attestlab-load";
  options.challenge_peers = need_peers;
  auto started = EmbeddedTarget::start(std::move(options));
  if (!started) return started.error();
  embedded = std::move(*started);
  if (need_peers && !embedded->has_challenge_peers())
    return Error::make("serverInternal",
                       "the embedded target validates http-01/dns-01 through "
                       "pebble-challtestsrv, which did not start (is it installed?)");
  return embedded->conformance_profile();
}

Result<client::TargetProfile> base_profile(const LoadArgs& a,
                                           std::unique_ptr<EmbeddedTarget>& embedded) {
  client::TargetProfile t;
  if (!a.profile.empty()) {
    auto loaded = client::load_target_profile(a.profile);
    if (!loaded) return Error::make("usage", loaded.error().detail);
    t = std::move(*loaded);
  } else if (a.embedded) {
    auto started = start_embedded(a, embedded);
    if (!started)
      return Error::make("internal", "cannot start the embedded target: " + started.error().detail);
    t = std::move(*started);
  } else {
    t = client::basic_target(a.targets.front(), a.trust_ca);
    if (!a.http01_listen.empty()) {
      t.challenges.push_back("http-01");
      t.http01_listen = a.http01_listen;
    }
    if (!a.dns01_management.empty()) {
      t.challenges.push_back("dns-01");
      t.dns01_management = a.dns01_management;
    }
    if (!a.attestation_ca.empty()) {
      t.challenges.push_back("device-attest-01");
      t.identifiers.push_back("permanent-identifier");
      t.device.attestation_ca_dir = a.attestation_ca;
    }
  }
  if (!a.trust_ca.empty()) t.trust_ca = a.trust_ca;
  if (!a.eab_kid.empty()) t.eab = client::EabCredentials{a.eab_kid, a.eab_hmac_key, true, {}};
  return t;
}

// What the flows need from the profile; usage errors name what is missing.
Result<void> fill_target(const LoadArgs& a, const LoadSettings& s,
                         const client::TargetProfile& profile,
                         std::unique_ptr<client::Http01Responder>& responder, load::FlowTarget& t) {
  if (a.profile.empty()) {
    t.urls = a.embedded ? std::vector<std::string>{profile.directory_url} : a.targets;
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
      auto started = client::Http01Responder::start(profile.http01_listen);
      if (!started) return Error::make("usage", started.error().detail);
      responder = std::move(*started);
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
    if (profile.device.identity_source == "inventory-file")
      std::cerr << "attestlab load: note: the load's devices are not in the target's inventory ("
                << profile.device.inventory_file << "); a target checking it refuses them\n";
  }
  return ok();
}

void print_progress(const load::Progress& p, bool tty) {
  if (tty) {
    std::cerr << "\r\033[K" << load::format_progress(p) << std::flush;
  } else {
    std::cerr << load::format_progress(p) << "\n";
  }
}

Result<void> write_report(const LoadArgs& a, const load::LoadRun& run) {
  reports::RunResult result;
  result.kind = "load";
  result.command = a.command_line;
  reports::TargetRun target;
  target.name = run.target_name;
  target.directory_url = run.urls.empty() ? "" : run.urls.front();
  target.started_at = run.started_at;
  target.duration_ms = run.elapsed_s * 1000;
  target.load = run.to_json();
  result.targets.push_back(std::move(target));
  std::error_code ec;
  std::filesystem::create_directories(a.report_dir, ec);
  ATTESTLAB_TRY(pki::write_file(a.report_dir + "/result.json", result.to_json().dump(1) + "\n"));
  return pki::write_file(a.report_dir + "/summary.txt", load::format_summary(run));
}

int run_load_command(const LoadArgs& a) {
  auto checked = check_load_args(a);
  if (!checked) return usage(checked.error().detail);
  const load::LoadPlan& plan = checked->plan;
  if (a.server_pid && !load::process_cpu_ms(*a.server_pid))
    return usage("--server-pid " + std::to_string(*a.server_pid) +
                 ": no such process (cannot read /proc/" + std::to_string(*a.server_pid) +
                 "/stat)");

  std::unique_ptr<EmbeddedTarget> embedded;
  auto profile = base_profile(a, embedded);
  if (!profile)
    return profile.error().type == "usage" ? usage(profile.error().detail)
                                           : internal(profile.error().detail);
  std::unique_ptr<client::Http01Responder> responder;
  load::FlowTarget target;
  target.run_id =
      random_run_id() + (plan.shard_count > 1 ? "s" + std::to_string(plan.shard_index + 1) : "");
  if (auto filled = fill_target(a, *checked, *profile, responder, target); !filled)
    return usage(filled.error().detail);

  // A bad target is one line and exit 2, before any load.
  for (const auto& url : target.urls) {
    auto probed = client::probe_target(url, target.client);
    if (!probed) return usage(probed.error().detail);
    if (probed->external_account_required && !target.eab)
      return usage(url + " requires external account binding: pass --eab-kid and --eab-hmac-key");
  }

  if (!a.quiet)
    std::cerr << "attestlab load: setting up the " << a.flow << " flow (before the clock starts)\n";
  Result<std::unique_ptr<load::Flow>> flow = Error::make("internal", "no flow");
  if (a.flow == "plain" || a.flow == "renewal") {
    load::PlainFlowOptions options;
    options.renewal = a.flow == "renewal";
    options.accounts = a.accounts.value_or(options.renewal ? 50 : 0);
    flow = load::make_plain_flow(target, options);
  } else {
    load::DeviceFlowOptions options;
    options.devices = checked->devices;
    options.seed = std::hash<std::string>{}(target.run_id);
    options.fault_share = a.flow == "mix" ? a.fault_share : 0;
    options.faults = a.faults;
    flow = load::make_device_flow(target, options);
  }
  if (!flow) return internal("setting up the " + a.flow + " flow: " + flow.error().detail);

  std::unique_ptr<load::JsonlWriter> jsonl;
  if (!a.jsonl.empty()) {
    auto opened = load::JsonlWriter::open(a.jsonl);
    if (!opened) return usage("--jsonl: " + opened.error().detail);
    jsonl = std::move(*opened);
  }

  load::EngineOptions options;
  options.plan = plan;
  options.workers = checked->workers;
  options.drain = checked->drain;
  options.stall_timeout = checked->stall_timeout;
  options.jsonl = jsonl.get();
  options.interrupt = &g_interrupted;
  options.server_pid = a.server_pid;
  if (a.embedded) {
    options.server_pid = getpid();
    options.server_in_process = true;
  }
  const bool tty = isatty(STDERR_FILENO) == 1;
  if (!a.quiet) {
    options.progress_interval = std::chrono::milliseconds(tty ? 500 : 5000);
    options.on_progress = [tty](const load::Progress& p) { print_progress(p, tty); };
  }

  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  struct sigaction previous {};
  sigaction(SIGINT, &action, &previous);
  const std::uint64_t issued_before = embedded ? embedded->certificates_issued() : 0;
  auto ran = load::run_load(**flow, options);
  const std::uint64_t issued_after = embedded ? embedded->certificates_issued() : 0;
  sigaction(SIGINT, &previous, nullptr);
  if (!a.quiet && tty) std::cerr << "\n";
  if (!ran) return internal(ran.error().detail);

  load::LoadRun run = std::move(*ran);
  run.target_name = profile->name;
  run.urls = target.urls;
  if (embedded) run.target_issued = issued_after - issued_before;
  bool thresholds_ok = true;
  for (const auto& t : checked->thresholds) {
    run.thresholds.push_back(load::evaluate_threshold(t, run));
    thresholds_ok = thresholds_ok && run.thresholds.back().passed;
  }
  std::cout << load::format_summary(run) << std::flush;
  if (jsonl && !jsonl->close()) std::cerr << "attestlab load: writing " << a.jsonl << " failed\n";
  if (!a.report_dir.empty()) {
    auto written = write_report(a, run);
    if (!written) return internal("cannot write the report: " + written.error().detail);
    std::cerr << "report in " << a.report_dir << "\n";
  }
  if (run.interrupted) return kExitInterrupted;
  if (!run.stopped.empty() && run.stopped.find("stopped answering") != std::string::npos)
    return kExitFailures;
  return thresholds_ok ? kExitOk : kExitFailures;
}

}  // namespace

void register_load(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<LoadArgs>();
  CLI::App* cmd =
      app.add_subcommand("load", "Load test: enrollment throughput and latency of an ACME server");
  add_load_options(*cmd, *args);
  cmd->callback([args, cmd, &runner] {
    args->command_line = command_line_of("attestlab load", *cmd);
    runner = [args] { return run_load_command(*args); };
  });
}

}  // namespace attestlab::cli
