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
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/cpu.h"
#include "bench/load/load_html.h"
#include "bench/load/load_text.h"
#include "cli/command.h"
#include "cli/command_line.h"
#include "cli/embedded_target.h"
#include "cli/load_options.h"
#include "cli/load_session.h"
#include "cli/stop_signals.h"
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

int usage(const std::string& message) { return complain("load", kExitUsage, message); }
int internal(const std::string& message) { return complain("load", kExitInternal, message); }

// The profile the load runs against: a --target-profile, --embedded, or --target URLs.
// --embedded: attestlab's own server in-process (cli/embedded_target.h) with what every
// flow needs (load_target_options): a fresh mock Apple CA it trusts, no inventory, the
// default policy with the new-accounts-per-IP quota raised, and for plain/renewal the fake
// DNS and an http-01 port (required: without them nothing validates).
Result<client::TargetProfile> start_embedded(const LoadArgs& a,
                                             std::unique_ptr<EmbeddedTarget>& embedded) {
  const bool need_peers = a.flow == "plain" || a.flow == "renewal";
  auto started = EmbeddedTarget::start(load_target_options(need_peers));
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

void print_progress(const load::Progress& p, bool tty) {
  if (tty) {
    std::cerr << "\r\033[K" << load::format_progress(p) << std::flush;
  } else {
    std::cerr << load::format_progress(p) << "\n";
  }
}

Result<void> write_report(const LoadArgs& a, const load::LoadRun& run) {
  const reports::RunResult result = load_result(run, a.command_line);
  std::error_code ec;
  std::filesystem::create_directories(a.report_dir, ec);
  ATTESTLAB_TRY(
      pki::write_file(a.report_dir + "/result.json", dump_lossy(result.to_json(), 1) + "\n"));
  ATTESTLAB_TRY(pki::write_file(a.report_dir + "/report.html",
                                load::render_load_html({run}, a.command_line)));
  return pki::write_file(a.report_dir + "/summary.txt", load::format_summary(run));
}

int run_load_command(const LoadArgs& a) {
  auto checked = check_load_args(a);
  if (!checked) return usage(checked.error().detail);
  if (a.server_pid && !load::process_cpu_ms(*a.server_pid))
    return usage("--server-pid " + std::to_string(*a.server_pid) +
                 ": no such process (cannot read /proc/" + std::to_string(*a.server_pid) +
                 "/stat)");

  std::unique_ptr<EmbeddedTarget> embedded;
  auto profile = base_profile(a, embedded);
  if (!profile)
    return profile.error().type == "usage" ? usage(profile.error().detail)
                                           : internal(profile.error().detail);
  std::unique_ptr<load::JsonlWriter> jsonl;
  if (!a.jsonl.empty()) {
    auto opened = load::JsonlWriter::open(a.jsonl);
    if (!opened) return usage("--jsonl: " + opened.error().detail);
    jsonl = std::move(*opened);
  }

  LoadSessionHooks hooks;
  hooks.jsonl = jsonl.get();
  hooks.interrupt = &InterruptGuard::flag();
  hooks.notes = &std::cerr;
  hooks.announce_setup = !a.quiet;
  const bool tty = isatty(STDERR_FILENO) == 1;
  if (!a.quiet) {
    hooks.progress_interval = std::chrono::milliseconds(tty ? 500 : 5000);
    hooks.on_progress = [tty](const load::Progress& p) { print_progress(p, tty); };
  }

  std::optional<InterruptGuard> interrupt_guard(std::in_place);  // Ctrl-C: the partial result
  auto ran = run_load_session(a, *checked, *profile, embedded.get(), hooks);
  const int stop_signal = InterruptGuard::signal_number();
  interrupt_guard.reset();
  if (!a.quiet && tty) std::cerr << "\n";
  if (!ran)
    return ran.error().type == "usage" ? usage(ran.error().detail) : internal(ran.error().detail);

  const load::LoadRun& run = *ran;
  bool thresholds_ok = true;
  for (const auto& t : run.thresholds) thresholds_ok = thresholds_ok && t.passed;
  std::cout << load::format_summary(run) << std::flush;
  if (jsonl && !jsonl->close()) std::cerr << "attestlab load: writing " << a.jsonl << " failed\n";
  if (!a.report_dir.empty()) {
    auto written = write_report(a, run);
    if (!written) return internal("cannot write the report: " + written.error().detail);
    std::cerr << "report in " << a.report_dir << "\n";
  }
  if (run.interrupted) return stop_signal != 0 ? 128 + stop_signal : kExitInterrupted;
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
