// `attestlab conform`: the conformance suite against one or more targets (target
// profiles, bare directory URLs, or --embedded: attestlab's own server started
// in-process with a fresh mock Apple CA, inventory, policy, fake DNS and http-01 port).
// Exit codes per cli/command.h: 0 every case passed (skips allowed), 1 a case failed or
// errored, 2 bad arguments or target profile, 3 the harness could not run.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_line.h"
#include "cli/embedded_target.h"
#include "cli/server_faults_option.h"
#include "cli/statement_support.h"
#include "cli/stop_signals.h"
#include "client/target_probe.h"
#include "conformance/harness.h"
#include "conformance/registry.h"
#include "conformance/runner.h"
#include "conformance/selection.h"
#include "conformance/target.h"
#include "core/bytes.h"
#include "core/http.h"
#include "core/pki.h"
#include "reports/baseline.h"
#include "reports/run_result.h"
#include "reports/wire_logs.h"

namespace attestlab::cli {
namespace {

struct ConformArgs {
  std::string wire_logs = "failures";
  std::vector<std::string> targets;
  std::vector<std::string> profiles;
  bool embedded = false;
  bool embedded_eab = false;
  std::string trust_ca;
  std::string eab_kid;
  std::string eab_hmac_key;
  std::vector<std::string> only;
  std::vector<std::string> skip;
  bool strict = false;
  int jobs = 4;
  double timeout_s = 0;
  std::string report_dir = "reports/out/latest";
  std::string baseline;        // compare with this baseline: exit 1 only for regressions
  std::string write_baseline;  // write this run's outcomes as a baseline
  bool list = false;
  bool quiet = false;
  bool keep_work_dir = false;
  std::vector<std::string> server_faults;  // --embedded only, ATTESTLAB_FAULTS builds only
  std::string command_line;
  std::string statement_file, sign_key;  // --statement, --sign-key (cli/statement_support.h)
};

int usage(const std::string& message) { return complain("conform", kExitUsage, message); }
int internal(const std::string& message) { return complain("conform", kExitInternal, message); }

// Splits comma-separated values so "--only a,b" equals "--only a --only b".
std::vector<std::string> split_patterns(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& item : in) {
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ',')) {
      if (!part.empty()) out.push_back(part);
    }
  }
  return out;
}

void print_list(const conformance::CaseList& cases) {
  for (const auto& c : cases) {
    std::cout << std::left << std::setw(52) << c.id << " " << std::setw(7) << to_string(c.level)
              << " " << std::setw(17) << c.profile << " " << c.requirement << "\n";
  }
  std::cout << cases.size() << " cases\n";
}

std::string summary_line(const reports::TargetRun& run) {
  std::ostringstream out;
  out << run.name << ": " << run.count(reports::Outcome::Pass) << " pass, "
      << run.count(reports::Outcome::NonStrict) << " non-strict (SHOULD/MAY not met), "
      << run.count(reports::Outcome::Fail) << " fail, " << run.count(reports::Outcome::Skip)
      << " skip, " << run.count(reports::Outcome::Error) << " error in " << std::fixed
      << std::setprecision(1) << run.duration_ms / 1000.0 << " s";
  return out.str();
}

void print_ids(const char* title, const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  std::cerr << "  " << title << " (" << ids.size() << "):";
  for (const auto& id : ids) std::cerr << " " << id;
  std::cerr << "\n";
}

void print_comparison(const reports::BaselineComparison& c) {
  std::cerr << "baseline: " << c.regressions.size() << " regression(s), " << c.new_failures.size()
            << " new failure(s), " << c.known_failures.size() << " known failure(s), "
            << c.improvements.size() << " improvement(s)\n";
  print_ids("regressions", c.regressions);
  print_ids("new failures", c.new_failures);
  print_ids("known failures", c.known_failures);
  print_ids("improvements", c.improvements);
}

int run_conform(const ConformArgs& a) {
  conformance::Selection selection{split_patterns(a.only), split_patterns(a.skip)};
  auto selected = conformance::select_cases(conformance::all_cases(), selection);
  if (!selected) return usage(selected.error().detail);
  if (a.list) {
    print_list(*selected);
    return kExitOk;
  }
  if (a.targets.empty() && a.profiles.empty() && !a.embedded && !a.embedded_eab) {
    return usage(
        "name a target: --target URL, --target-profile FILE, --embedded or --embedded-eab");
  }
  if (a.jobs < 1) return usage("--jobs must be at least 1");
  if ((a.eab_kid.empty()) != (a.eab_hmac_key.empty())) {
    return usage("--eab-kid and --eab-hmac-key go together");
  }

  std::optional<Json> baseline;
  if (!a.baseline.empty()) {
    auto loaded = reports::load_baseline(a.baseline);
    if (!loaded) return usage("--baseline " + loaded.error().detail);
    baseline = std::move(*loaded);
  }
  if (a.statement_file.empty() != a.sign_key.empty())
    return usage("--statement and --sign-key go together");
  pki::PrivateKey statement_key;
  if (!a.sign_key.empty()) {
    auto key = load_statement_key(a.sign_key);
    if (!key) return usage(key.error().detail);
    statement_key = std::move(*key);
  }

  std::vector<conformance::TargetProfile> targets;
  for (const auto& path : a.profiles) {
    auto profile = conformance::load_target_profile(path);
    if (!profile) return usage(profile.error().detail);
    targets.push_back(std::move(profile.value()));
  }
  for (const auto& url : a.targets) {
    auto parsed = http::Url::parse(url);
    if (!parsed) return usage("--target " + url + " is not a URL");
    conformance::TargetProfile t = conformance::basic_target(url, a.trust_ca);
    if (!a.eab_kid.empty()) {
      if (!base64url_decode(a.eab_hmac_key)) return usage("--eab-hmac-key must be base64url");
      t.eab = conformance::EabCredentials{a.eab_kid, a.eab_hmac_key, true, {}};
    }
    targets.push_back(std::move(t));
  }
  // A target that is not there is one line and exit 2, before any case runs.
  for (const auto& t : targets) {
    auto probed = client::probe_target(t.directory_url, conformance::client_options(t));
    if (!probed) return usage(probed.error().detail);
  }
  if (!a.server_faults.empty() && !a.embedded && !a.embedded_eab)
    return usage("--server-fault needs --embedded or --embedded-eab");
  if (auto bad = enable_server_faults(a.server_faults, "--server-fault", false)) return usage(*bad);
  std::vector<std::unique_ptr<EmbeddedTarget>> embedded;
  for (const bool eab_required : {false, true}) {
    if (!(eab_required ? a.embedded_eab : a.embedded)) continue;
    EmbeddedTargetOptions options = conformance_target_options(eab_required);
    options.keep_work_dir = a.keep_work_dir;
    auto started = EmbeddedTarget::start(std::move(options));
    if (!started) return internal("cannot start the embedded target: " + started.error().detail);
    const EmbeddedTarget& server = *embedded.emplace_back(std::move(*started));
    if (!server.has_challenge_peers()) {
      std::cerr << "attestlab conform: pebble-challtestsrv not available; http-01 and dns-01 "
                   "cases will be skipped\n";
    }
    conformance::TargetProfile profile = server.conformance_profile();
    if (a.keep_work_dir)
      std::cerr << "attestlab conform: " << profile.name << " target files in " << server.work_dir()
                << "\n";
    targets.push_back(std::move(profile));
  }
  // The EAB-required embedded server binds each key id to one account, and every
  // newAccount of an eab.required target uses the first key: only the EAB cases (those
  // needing capability "eab" or "eab-required") can run there as they mean to.
  conformance::CaseList eab_cases;
  for (const auto& c : *selected) {
    for (const auto& cap : c.capabilities) {
      if (cap == "eab" || cap == "eab-required") {
        eab_cases.push_back(c);
        break;
      }
    }
  }

  reports::RunResult result;
  result.kind = "conformance";
  result.command = a.command_line;
  result.strict = a.strict;
  std::size_t stragglers = 0;
  std::mutex out_mu;
  // SIGINT/SIGTERM during a run: the runner stops starting cases, the partial report is
  // written, the temporary files (mock CA keys, EAB keys, database) are removed, and the
  // exit status is 130/143. A second signal leaves at once.
  std::optional<InterruptGuard> interrupt_guard(std::in_place);
  for (const auto& target : targets) {
    if (InterruptGuard::flag().load()) break;
    conformance::RunOptions options;
    options.jobs = a.jobs;
    options.strict = a.strict;
    options.interrupted = [] { return InterruptGuard::flag().load(); };
    if (a.timeout_s > 0) {
      options.case_timeout =
          std::chrono::milliseconds(static_cast<std::int64_t>(a.timeout_s * 1000));
    }
    const std::string target_name = target.name;
    options.on_case_done = [&, target_name](const reports::CaseResult& r, std::size_t done,
                                            std::size_t total) {
      std::lock_guard lock(out_mu);
      if (a.quiet) {
        if (r.outcome == reports::Outcome::Fail || r.outcome == reports::Outcome::Error) {
          std::cerr << target_name << " " << to_string(r.outcome) << " " << r.id << ": " << r.reason
                    << "\n";
        }
        return;
      }
      std::cerr << "[" << std::setw(3) << done << "/" << total << "] " << target_name << " "
                << std::left << std::setw(5) << to_string(r.outcome) << std::right << " " << r.id
                << " (" << static_cast<long>(r.duration_ms) << " ms)";
      if (r.outcome != reports::Outcome::Pass || !r.reason.empty()) {
        if (!r.reason.empty()) std::cerr << ": " << r.reason;
      }
      std::cerr << "\n";
    };
    const bool eab_only = target.name == "embedded-eab" && a.embedded_eab;
    auto run = conformance::run_target(target, eab_only ? eab_cases : *selected,
                                       conformance::all_cases(), options);
    if (!run) return internal(target.name + ": " + run.error().detail);
    stragglers += run->stragglers;
    if (const auto& down = run->run.target_down) {
      std::cerr << "attestlab conform: TARGET DOWN: " << target.name << " stopped answering during "
                << down->during_case << " (" << down->detail << "); " << run->run.not_run_count()
                << " case(s) not run\n";
    }
    std::cerr << summary_line(run->run) << "\n";
    result.targets.push_back(std::move(run->run));
  }

  const int stop_signal = InterruptGuard::signal_number();
  interrupt_guard.reset();
  if (stop_signal != 0) {
    std::size_t not_run = 0;
    for (const auto& t : result.targets)
      for (const auto& c : t.cases)
        if (c.reason.rfind(reports::kNotRunInterrupted, 0) == 0) ++not_run;
    std::cerr << "attestlab conform: interrupted by "
              << (stop_signal == SIGINT ? "SIGINT" : "SIGTERM") << ": " << not_run
              << " case(s) not run; writing the partial report\n";
    result.command += "  # interrupted";
  }
  reports::apply_wire_log_policy(result, *reports::wire_logs_from_string(a.wire_logs));
  if (baseline) print_comparison(reports::apply_baseline(result, *baseline, a.baseline));
  if (!a.write_baseline.empty()) {
    auto saved =
        pki::write_file(a.write_baseline, dump_lossy(reports::make_baseline(result), 1) + "\n");
    if (!saved) return internal("cannot write the baseline: " + saved.error().detail);
    std::cerr << "baseline written to " << a.write_baseline << "\n";
  }
  if (!a.statement_file.empty()) {
    const Json selection{{"profiles", a.profiles},
                         {"targets", a.targets},
                         {"embedded", a.embedded},
                         {"embedded_eab", a.embedded_eab},
                         {"only", split_patterns(a.only)},
                         {"skip", split_patterns(a.skip)},
                         {"strict", a.strict}};
    auto made = write_signed_statement(result, selection, statement_key, a.statement_file);
    if (!made) return internal("cannot write the statement: " + made.error().detail);
    std::cerr << "signed statement in " << a.statement_file << "\n";
  }
  auto written = reports::write_reports(result, a.report_dir);
  if (!written) return internal("cannot write reports: " + written.error().detail);
  std::cerr << "reports in " << a.report_dir << "\n";
  const int code =
      stop_signal != 0 ? 128 + stop_signal : (result.failed() ? kExitFailures : kExitOk);
  if (stragglers > 0) {
    // Nothing but this process uses the embedded targets' files: remove them before leaving
    // without destructors (they hold the mock CA's and EAB private keys).
    for (const auto& server : embedded) {
      std::error_code ec;
      if (!server->keeps_work_dir()) std::filesystem::remove_all(server->work_dir(), ec);
    }
    // Threads of timed-out cases still run; leave without destroying what they use.
    std::cerr << "attestlab conform: " << stragglers
              << " timed-out case(s) still running; exiting\n";
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(code);
  }
  return code;
}

}  // namespace

void register_conform(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<ConformArgs>();
  CLI::App* conform =
      app.add_subcommand("conform", "Run the conformance suite against ACME targets");
  conform->add_option("--target", args->targets,
                      "Directory URL of a target (RFC 8555 basics only; repeatable)");
  conform->add_option("--target-profile", args->profiles,
                      "Target profile JSON (conformance/TARGETS.md; repeatable)");
  conform->add_flag("--embedded", args->embedded,
                    "Start attestlab's own server in-process as a fully configured target");
  conform->add_flag("--embedded-eab", args->embedded_eab,
                    "Also (or only) start an embedded server that requires external account "
                    "binding; only the EAB cases run against it");
  conform->add_option("--trust-ca", args->trust_ca, "PEM bundle trusted for --target's TLS");
  conform->add_option("--eab-kid", args->eab_kid, "External account binding key id for --target");
  conform->add_option("--eab-hmac-key", args->eab_hmac_key,
                      "External account binding MAC key (base64url)");
  conform->add_option(
      "--only", args->only,
      "Run only cases matching: id, id prefix, section (rfc8555-6.5) or profile (repeatable)");
  conform->add_option("--skip", args->skip, "Skip cases matching (same patterns; repeatable)");
  conform->add_flag("--strict", args->strict, "Count failed SHOULD requirements as failures");
  conform->add_option("--jobs", args->jobs, "Cases run in parallel")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  conform
      ->add_option("--timeout", args->timeout_s,
                   "Per-case timeout in seconds (default: the profile's)")
      ->check(CLI::PositiveNumber);
  conform
      ->add_option("--wire-logs", args->wire_logs,
                   "Wire logs kept in the reports: all | failures (cases that did not pass) | none")
      ->check(CLI::IsMember({"all", "failures", "none"}))
      ->capture_default_str();
  conform
      ->add_option("--report-dir", args->report_dir,
                   "Where result.json, junit.xml, summary.md, report.html go")
      ->capture_default_str();
  conform->add_option("--baseline", args->baseline,
                      "Compare with this baseline (from --write-baseline): exit 1 only for "
                      "regressions and new failures; known failures are skipped in junit.xml");
  conform->add_option("--write-baseline", args->write_baseline,
                      "Write this run's outcomes per target and case as a baseline FILE");
  conform->add_flag("--list", args->list,
                    "Print the selected cases (id, level, profile, requirement) and exit");
  conform->add_flag("--quiet", args->quiet, "Print only failures and the summary on stderr");
  conform->add_flag("--keep-work-dir", args->keep_work_dir,
                    "Keep the --embedded target's temporary files");
  conform->add_option("--server-fault,--fault", args->server_faults,
                      "Break the --embedded/--embedded-eab servers on purpose "
                      "(server::ServerFaults knob; test builds only; "
                      "repeatable): shows which cases catch it");
  conform->add_option("--statement", args->statement_file,
                      "Write a signed conformance statement (JSON) here; needs --sign-key");
  conform->add_option("--sign-key", args->sign_key,
                      "Tester's Ed25519 or P-256 private key (PEM) that signs --statement");
  conform->callback([args, conform, &runner] {
    args->command_line = command_line_of("attestlab conform", *conform);
    runner = [args] { return run_conform(*args); };
  });
}

}  // namespace attestlab::cli
