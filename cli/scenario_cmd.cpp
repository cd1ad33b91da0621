// `attestlab scenario list|run|prepare`: scripted scenarios (scenarios/FORMAT.md) against
// attestlab's own server (--embedded) or any ACME device-attest server (--target URL).
// Exit codes per cli/command.h: 0 every expectation held (skips allowed), 1 an expectation
// failed or a step errored (each named on stderr), 2 bad arguments or a bad scenario file,
// 3 the harness could not run (embedded server, reports).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_line.h"
#include "cli/embedded_target.h"
#include "cli/scenario_run.h"
#include "cli/server_faults_option.h"
#include "client/target_probe.h"
#include "core/bytes.h"
#include "core/http.h"
#include "core/pki.h"
#include "reports/run_result.h"
#include "reports/wire_logs.h"
#include "scenarios/engine.h"
#include "scenarios/library.h"
#include "scenarios/mdm_port.h"
#include "scenarios/plan.h"
#include "scenarios/preflight.h"
#include "sim/device/apple_ca.h"

namespace attestlab::cli {

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

scenarios::RunSummary run_planned(const std::vector<scenarios::ScenarioPlan>& plans,
                                  const scenarios::Target& target,
                                  const scenarios::ClockedTargetFactory& clocked, int jobs,
                                  bool quiet, std::ostream& progress) {
  scenarios::RunOptions options;
  options.jobs = jobs;
  options.clocked_target = clocked;
  std::size_t done = 0;
  options.on_scenario_done = [&](const scenarios::ScenarioResult& r) {
    ++done;
    if (quiet && r.ok()) return;
    std::string verdict = r.verdict();
    for (auto& ch : verdict) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    progress << "[" << std::setw(2) << done << "/" << plans.size() << "] " << std::left
             << std::setw(5) << verdict << std::right << " " << r.name << " ("
             << r.count(reports::Outcome::Pass) << "/" << r.cases.size() << " checks, "
             << std::fixed << std::setprecision(1) << r.duration_ms / 1000.0 << " s)";
    if (!r.skipped.empty()) progress << ": " << r.skipped;
    progress << std::endl;
  };
  return scenarios::run_scenarios(plans, target, options);
}

void print_summary_table(const scenarios::RunSummary& summary, std::ostream& out) {
  std::size_t width = 8;
  for (const auto& s : summary.scenarios) width = std::max(width, s.name.size());
  out << std::left << std::setw(static_cast<int>(width)) << "scenario"
      << "  steps   checks  result   time\n";
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& s : summary.scenarios) {
    const std::string verdict = s.verdict();
    if (verdict == "pass")
      ++passed;
    else if (verdict == "skip")
      ++skipped;
    else
      ++failed;
    std::ostringstream steps, checks;
    steps << s.steps_run << "/" << s.steps_total;
    checks << s.count(reports::Outcome::Pass) << "/" << s.cases.size();
    out << std::left << std::setw(static_cast<int>(width)) << s.name << "  " << std::setw(6)
        << steps.str() << "  " << std::setw(6) << checks.str() << "  " << std::setw(6) << verdict
        << " " << std::right << std::fixed << std::setprecision(2) << std::setw(6)
        << s.duration_ms / 1000.0 << " s\n";
  }
  out << summary.scenarios.size() << " scenarios: " << passed << " pass, " << failed
      << " fail/error, " << skipped << " skipped in " << std::fixed << std::setprecision(1)
      << summary.run.duration_ms / 1000.0 << " s\n";
}

void print_failures(const scenarios::RunSummary& summary, std::ostream& out) {
  for (const auto& s : summary.scenarios) {
    for (const auto& c : s.cases) {
      if (c.outcome != reports::Outcome::Fail && c.outcome != reports::Outcome::Error) continue;
      // "name/03-acme_enroll" → step 3 (acme_enroll)
      std::string step = c.id.substr(c.id.find('/') + 1);
      const auto dash = step.find('-');
      std::string where = "step " + std::to_string(std::atoi(step.substr(0, dash).c_str())) + " (" +
                          (dash == std::string::npos ? step : step.substr(dash + 1)) + ")";
      out << (c.outcome == reports::Outcome::Fail ? "FAIL " : "ERROR ") << s.name << " " << where
          << ": " << c.title << "\n";
      out << "  violated: " << c.reason << "\n";
      if (!c.expected.empty()) out << "  expected: " << c.expected << "\n";
      if (!c.observed.empty()) out << "  observed: " << c.observed << "\n";
    }
  }
}

namespace {

struct ScenarioArgs {
  std::string wire_logs = "failures";
  std::vector<std::string> selectors;
  std::string library;
  // target
  std::string target_url;
  std::string trust_ca;
  std::string attestation_ca;
  bool target_inventory = false;
  bool target_policy = false;
  std::string eab_kid, eab_hmac_key;
  std::string mdm_url, mdm_trust_ca, mdm_admin_token;  // a running `attestlab mdm serve`
  bool embedded = false;
  bool keep_work_dir = false;
  std::vector<std::string> server_faults;  // --embedded only, ATTESTLAB_FAULTS builds only
  // run
  int jobs = 4;
  std::string report_dir;
  std::string seed_text;
  bool quiet = false;
  bool json = false;
  // prepare
  std::string inventory_out, policy_out;
  std::string command_line;
};

int usage(const std::string& sub, const std::string& message) {
  return complain("scenario " + sub, kExitUsage, message + " (see --help)");
}
// A bad scenario file or selection: the message names the file and field already.
int bad_input(const std::string& sub, const std::string& message) {
  return complain("scenario " + sub, kExitUsage, message);
}
int internal(const std::string& sub, const std::string& message) {
  return complain("scenario " + sub, kExitInternal, message);
}

bool parse_seed(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

// Loads the library and the selection; a bad file is a usage error naming it.
Result<std::vector<scenarios::Scenario>> selection(const ScenarioArgs& a) {
  auto library = scenarios::load_library(a.library);
  if (!library) return library.error();
  return scenarios::select_scenarios(*library, a.selectors);
}

int run_list(const ScenarioArgs& a) {
  auto library = scenarios::load_library(a.library);
  if (!library) return bad_input("list", library.error().detail);
  if (a.json) {
    Json out = Json::array();
    for (const auto& s : *library) {
      out.push_back(Json{{"name", s.name},
                         {"summary", s.summary},
                         {"threat", s.threat},
                         {"spec", s.spec},
                         {"requires", s.requirements},
                         {"steps", s.steps.size()},
                         {"file", s.source}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::size_t width = 4;
  for (const auto& s : *library) width = std::max(width, s.name.size());
  for (const auto& s : *library) {
    std::cout << std::left << std::setw(static_cast<int>(width)) << s.name << "  " << s.summary
              << "\n"
              << std::setw(static_cast<int>(width)) << ""
              << "  threat: " << s.threat;
    if (!s.requirements.empty()) {
      std::cout << " (requires";
      for (const auto& r : s.requirements) std::cout << " " << r;
      std::cout << ")";
    }
    std::cout << "\n";
  }
  std::cout << library->size() << " scenarios\n";
  return kExitOk;
}

int run_prepare(const ScenarioArgs& a) {
  auto selected = selection(a);
  if (!selected) return bad_input("prepare", selected.error().detail);
  std::uint64_t seed = 0;
  if (!parse_seed(a.seed_text, seed))
    return usage("prepare", "--seed N is required (the same N as for run)");
  const auto plans = scenarios::plan_run(*selected, seed);
  const std::string inventory = scenarios::inventory_json(plans).dump(1) + "\n";
  if (a.inventory_out.empty()) {
    std::cout << inventory;
  } else if (auto w = pki::write_file(a.inventory_out, inventory); !w) {
    return internal("prepare", w.error().detail);
  }
  if (!a.policy_out.empty()) {
    auto assumed = scenarios::merged_assumed_policy(*selected);
    if (!assumed) return bad_input("prepare", assumed.error().detail);
    auto policy = policy_with_assumptions(*assumed);
    if (!policy) return bad_input("prepare", policy.error().detail);
    if (auto w = pki::write_file(a.policy_out, policy->dump(1) + "\n"); !w)
      return internal("prepare", w.error().detail);
  }
  return kExitOk;
}

int run_run(const ScenarioArgs& a) {
  if (a.embedded == !a.target_url.empty())
    return usage("run", "give either --target URL or --embedded");
  if (a.jobs < 1 || a.jobs > 64) return usage("run", "--jobs must be between 1 and 64");
  if (a.eab_kid.empty() != a.eab_hmac_key.empty())
    return usage("run", "--eab-kid and --eab-hmac-key go together");
  std::uint64_t seed = 0;
  if (a.seed_text.empty()) {
    seed = random_seed();
  } else if (!parse_seed(a.seed_text, seed)) {
    return usage("run", "--seed must be a non-negative integer");
  }
  auto selected = selection(a);
  if (!selected) return bad_input("run", selected.error().detail);
  const auto plans = scenarios::plan_run(*selected, seed);

  if (!a.server_faults.empty() && !a.embedded) return usage("run", "--fault needs --embedded");
  if (!a.mdm_url.empty() && a.embedded) {
    return usage("run",
                 "--mdm needs --target with --attestation-ca: the running MDM must trust the "
                 "mock Apple CA's root (mdm serve --attestation-roots DIR/root.pem), and the "
                 "embedded target makes a new one each run");
  }
  if (auto bad = enable_server_faults(a.server_faults, "--fault", true)) return usage("run", *bad);

  std::unique_ptr<EmbeddedTarget> embedded;
  scenarios::Target foreign;
  scenarios::ClockedTargetFactory clocked;
  const scenarios::Target* target = nullptr;
  if (a.embedded) {
    auto options = scenario_target_options(plans);
    if (!options) return bad_input("run", options.error().detail);
    options->keep_work_dir = a.keep_work_dir;
    auto started = EmbeddedTarget::start(std::move(*options));
    if (!started) {
      if (started.error().type == "malformed") return bad_input("run", started.error().detail);
      return internal("run", "cannot start the embedded server: " + started.error().detail);
    }
    embedded = std::move(*started);
    if (a.keep_work_dir)
      std::cerr << "attestlab scenario run: embedded target files in " << embedded->work_dir()
                << "\n";
    target = &embedded->scenario_target();
    clocked = embedded->clocked_target_factory();
  } else {
    if (!http::Url::parse(a.target_url))
      return usage("run", "--target " + a.target_url + " is not a URL");
    if (a.attestation_ca.empty()) {
      return usage("run",
                   "--target needs --attestation-ca DIR: the mock Apple CA (attestlab ca init) the "
                   "target trusts");
    }
    auto ca = sim::AppleCa::load(a.attestation_ca);
    if (!ca) return usage("run", "--attestation-ca: " + ca.error().detail);
    foreign.name = http::Url::parse(a.target_url)->host;
    foreign.directory_url = a.target_url;
    foreign.trust_ca_pem_file = a.trust_ca;
    foreign.attestation_ca = std::make_shared<const sim::AppleCa>(std::move(*ca));
    if (a.target_inventory) foreign.capabilities.insert(scenarios::kRequiresInventory);
    if (a.target_policy) foreign.capabilities.insert(scenarios::kRequiresPolicy);
    if (!a.eab_kid.empty()) {
      auto key = base64url_decode(a.eab_hmac_key);
      if (!key) return usage("run", "--eab-hmac-key must be base64url");
      foreign.eab = client::ExternalAccountBinding{a.eab_kid, *key};
    }
    // A target that is not there is one line and exit 2, before any scenario runs.
    client::AcmeClientOptions probe_options;
    probe_options.trust_ca_pem_file = a.trust_ca;
    if (auto probed = client::probe_target(a.target_url, probe_options); !probed)
      return usage("run", probed.error().detail);
    // One probe instead of every scenario failing for one missing feature.
    auto missing = scenarios::missing_device_attestation(foreign);
    if (!missing) {
      std::cerr << "attestlab scenario run: target " << a.target_url
                << " cannot be used: " << missing.error().detail << "\n";
      return kExitUsage;
    }
    if (*missing) foreign.no_device_attestation = **missing;
    if (!a.mdm_url.empty()) {
      scenarios::MdmEndpoint endpoint{a.mdm_url, a.mdm_trust_ca, a.mdm_admin_token};
      // The same probe every scenario with MDM steps makes, once here: one line and exit 2.
      if (auto reached = scenarios::connect_running_mdm(endpoint, foreign.http_timeout_ms);
          !reached) {
        return usage("run", "--mdm " + a.mdm_url + ": " + reached.error().detail);
      }
      foreign.mdm = std::move(endpoint);
    }
    target = &foreign;
  }
  if (!a.quiet) {
    std::cerr << "running " << plans.size() << " scenario(s) against " << target->directory_url
              << " (seed " << seed << ", " << a.jobs << " jobs)\n";
  }
  scenarios::RunSummary summary = run_planned(plans, *target, clocked, a.jobs, a.quiet, std::cerr);
  print_summary_table(summary, std::cout);
  print_failures(summary, std::cerr);

  if (!a.report_dir.empty()) {
    reports::RunResult result;
    result.kind = "scenario";
    result.command = a.command_line + " --seed " + std::to_string(seed);
    result.targets.push_back(summary.run);
    reports::apply_wire_log_policy(result, *reports::wire_logs_from_string(a.wire_logs));
    auto written = reports::write_reports(result, a.report_dir);
    if (!written) return internal("run", "cannot write reports: " + written.error().detail);
    std::cerr << "reports in " << a.report_dir << "\n";
  }
  for (const auto& s : summary.scenarios)
    if (!s.ok()) return kExitFailures;
  return kExitOk;
}

std::string join_selectors(const std::vector<std::string>& selectors) {
  std::string out;
  for (const auto& s : selectors) out += (out.empty() ? "" : " ") + s;
  return out;
}
}  // namespace

void register_scenario(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<ScenarioArgs>();
  CLI::App* scenario = app.add_subcommand(
      "scenario", "Scripted scenarios (devices, an MDM, an attacker) against an ACME target");
  scenario->require_subcommand(1);

  CLI::App* list =
      scenario->add_subcommand("list", "List the scenario library: name, summary, threat");
  list->add_option("--library", args->library,
                   "Read scenarios from DIR instead of the built-in library");
  list->add_flag("--json", args->json, "Print the library as JSON");
  list->callback([args, &runner] { runner = [args] { return run_list(*args); }; });

  CLI::App* run = scenario->add_subcommand("run", "Run scenarios against a target");
  run->add_option("selector", args->selectors,
                  "Scenario names, globs (happy-*), comma lists, scenario FILEs, or all")
      ->required();
  run->add_flag("--embedded", args->embedded,
                "Start attestlab's own server in-process as the target");
  run->add_option("--target", args->target_url, "Directory URL of the ACME server under test");
  run->add_option("--trust-ca", args->trust_ca, "PEM bundle trusted for --target's TLS");
  run->add_option("--attestation-ca", args->attestation_ca,
                  "Mock Apple CA directory (attestlab ca init) whose root --target trusts");
  run->add_flag(
      "--target-inventory", args->target_inventory,
      "--target's inventory lists `scenario prepare` output for the same selection and --seed");
  run->add_flag("--target-policy", args->target_policy,
                "--target applies the scenarios' assumed policy (`scenario prepare --policy-out`)");
  run->add_option("--eab-kid", args->eab_kid, "External account binding key id for every account");
  run->add_option("--eab-hmac-key", args->eab_hmac_key,
                  "External account binding MAC key (base64url)");
  run->add_option("--mdm", args->mdm_url,
                  "A running `attestlab mdm serve` (https://HOST:PORT/mdm) the devices of MDM "
                  "scenarios enroll in instead of an emulator of their own; start it with "
                  "--no-blueprint and --attestation-roots DIR/root.pem of --attestation-ca");
  run->add_option("--mdm-trust-ca", args->mdm_trust_ca,
                  "PEM bundle trusted for --mdm's TLS (mdm serve's DATA_DIR/tls/cert.pem)");
  run->add_option("--mdm-admin-token", args->mdm_admin_token,
                  "Bearer token of --mdm's admin API (mdm serve --admin-token)");
  run->add_option("--jobs", args->jobs, "Scenarios run in parallel")->capture_default_str();
  run->add_option("--wire-logs", args->wire_logs,
                  "Wire logs kept in the reports: all | failures (cases that did not pass) | none")
      ->check(CLI::IsMember({"all", "failures", "none"}))
      ->capture_default_str();
  run->add_option("--report-dir", args->report_dir,
                  "Write result.json, junit.xml, summary.md, report.html here");
  run->add_option("--seed", args->seed_text,
                  "Seed of the generated device identities (default: random)");
  run->add_option("--library", args->library,
                  "Read scenarios from DIR instead of the built-in library");
  run->add_flag("--quiet", args->quiet, "Print only failures and the summary");
  run->add_flag("--keep-work-dir", args->keep_work_dir,
                "Keep the --embedded target's temporary files");
  run->add_option("--fault", args->server_faults,
                  "Break the --embedded server on purpose (server::ServerFaults knob; test builds "
                  "only; repeatable)");
  run->callback([args, run, &runner] {
    args->command_line = command_line_of("attestlab scenario run", *run,
                                         join_selectors(args->selectors));
    runner = [args] { return run_run(*args); };
  });

  CLI::App* prepare = scenario->add_subcommand(
      "prepare",
      "Write the inventory (and policy) a foreign target needs for `scenario run --seed N`");
  prepare
      ->add_option("selector", args->selectors,
                   "Scenario names, globs (happy-*), comma lists, scenario FILEs, or all")
      ->required();
  prepare->add_option("--seed", args->seed_text, "Seed of the generated device identities")
      ->required();
  prepare->add_option("--inventory-out", args->inventory_out,
                      "Inventory JSON file (default: stdout)");
  prepare->add_option("--policy-out", args->policy_out,
                      "Policy JSON file (defaults plus the assumed members)");
  prepare->add_option("--library", args->library,
                      "Read scenarios from DIR instead of the built-in library");
  prepare->callback([args, &runner] { runner = [args] { return run_prepare(*args); }; });
}

}  // namespace attestlab::cli
