// `attestlab demo`: the main job on embedded defaults. Starts attestlab's server in a
// temporary directory (mock Apple CA as attestation root, the planned inventory, the
// default policy plus the scenarios' assumptions), runs every library scenario against it
// (each with its own MDM emulator; fleet-rollout-100 is the fleet), then the conformance
// suite against its own embedded target (`attestlab conform --embedded`, run in-process),
// prints one table and writes result.json, junit.xml, summary.md and report.html.
// Exit codes per cli/command.h: 0 everything passed, 1 a check failed or errored, 2 bad
// arguments, 3 the harness could not run.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/embedded_target.h"
#include "cli/scenario_run.h"
#include "core/json.h"
#include "core/pki.h"
#include "reports/run_result.h"
#include "scenarios/library.h"
#include "scenarios/plan.h"

namespace attestlab::cli {
namespace {

struct DemoArgs {
  std::string report_dir = "reports/out/latest";
  int jobs = 4;
  bool skip_conformance = false;
  bool quiet = false;
};

int internal(const std::string& message) {
  std::cerr << "attestlab demo: " << message << "\n";
  return kExitInternal;
}

struct ConformanceRun {
  bool ran = false;
  int exit = kExitOk;
  reports::RunResult result;
  double seconds = 0;
  std::string note;
};

// Runs `attestlab conform --embedded` in-process through its own subcommand, into a
// temporary report directory, and reads its result back.
ConformanceRun run_conformance(const std::string& work_dir, int jobs) {
  ConformanceRun out;
  const std::string dir = work_dir + "/conformance";
  CLI::App app{"attestlab"};
  Runner conform;
  register_conform(app, conform);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    std::vector<std::string> argv = {
        "conform", "--embedded", "--quiet", "--jobs", std::to_string(jobs), "--report-dir", dir};
    std::reverse(argv.begin(), argv.end());  // CLI11 parses a vector from its back
    app.parse(argv);
  } catch (const CLI::Error& e) {
    out.note = std::string("conformance could not start: ") + e.what();
    return out;
  }
  out.exit = conform ? conform() : kExitOk;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto text = pki::read_file(dir + "/result.json");
  if (!text) {
    out.note = "conformance wrote no result (exit " + std::to_string(out.exit) + ")";
    return out;
  }
  auto doc = parse_json(*text);
  auto result = doc ? reports::RunResult::from_json(*doc) : Result<reports::RunResult>(doc.error());
  if (!result) {
    out.note = "conformance result unreadable: " + result.error().detail;
    return out;
  }
  out.ran = true;
  out.result = std::move(*result);
  return out;
}

int run_demo(const DemoArgs& a) {
  if (a.jobs < 1 || a.jobs > 64) {
    std::cerr << "attestlab demo: --jobs must be between 1 and 64 (see --help)\n";
    return kExitUsage;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto library = scenarios::load_library();
  if (!library)
    return internal("the built-in scenario library is broken: " + library.error().detail);
  const std::uint64_t seed = random_seed();
  const auto plans = scenarios::plan_run(*library, seed);

  auto options = scenario_target_options(plans);
  if (!options) return internal("cannot start the embedded server: " + options.error().detail);
  auto embedded = EmbeddedTarget::start(std::move(*options));
  if (!embedded) return internal("cannot start the embedded server: " + embedded.error().detail);
  std::cerr << "attestlab demo: embedded server at " << (*embedded)->directory_url() << "; "
            << plans.size() << " scenarios (seed " << seed << ")\n";
  scenarios::RunSummary summary =
      run_planned(plans, (*embedded)->scenario_target(), (*embedded)->clocked_target_factory(),
                  a.jobs, a.quiet, std::cerr);
  const std::string work_dir = (*embedded)->work_dir();

  ConformanceRun conformance;
  if (!a.skip_conformance) {
    std::cerr << "attestlab demo: conformance suite (attestlab conform --embedded)\n";
    conformance = run_conformance(work_dir, a.jobs);
  }

  reports::RunResult result;
  result.kind = "demo";
  result.command = "attestlab demo --seed " + std::to_string(seed);
  reports::TargetRun run = summary.run;
  run.name = "embedded";
  if (conformance.ran) {
    for (const auto& t : conformance.result.targets) {
      for (const auto& c : t.cases) run.cases.push_back(c);
      run.duration_ms += t.duration_ms;
    }
    std::stable_sort(
        run.cases.begin(), run.cases.end(),
        [](const reports::CaseResult& x, const reports::CaseResult& y) { return x.id < y.id; });
  }
  result.targets.push_back(std::move(run));
  auto written = reports::write_reports(result, a.report_dir);
  embedded->reset();  // stop the server and remove its temporary directory

  std::cout << "\n";
  print_summary_table(summary, std::cout);
  if (conformance.ran) {
    for (const auto& t : conformance.result.targets) {
      std::cout << "conformance (" << t.name << "): " << t.count(reports::Outcome::Pass)
                << " pass, " << t.count(reports::Outcome::Fail) << " fail, "
                << t.count(reports::Outcome::Skip) << " skip, " << t.count(reports::Outcome::Error)
                << " error in " << std::fixed << std::setprecision(1) << conformance.seconds
                << " s\n";
    }
  } else if (!a.skip_conformance) {
    std::cout << "conformance: not run (" << conformance.note << ")\n";
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "demo finished in " << std::fixed << std::setprecision(1) << total << " s\n";
  print_failures(summary, std::cerr);
  if (!written) return internal("cannot write reports: " + written.error().detail);
  std::cout << "reports in " << a.report_dir
            << " (result.json, junit.xml, summary.md, report.html)\n";

  bool failed = result.failed() || (!a.skip_conformance && !conformance.ran);
  for (const auto& s : summary.scenarios) failed = failed || !s.ok();
  return failed ? kExitFailures : kExitOk;
}

}  // namespace

void register_demo(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo",
                                      "Start the embedded server, MDM emulator and a fleet; run "
                                      "every scenario and the conformance suite");
  demo->add_option("--report-dir", args->report_dir,
                   "Where result.json, junit.xml, summary.md, report.html go")
      ->capture_default_str();
  demo->add_option("--jobs", args->jobs, "Scenarios (and conformance cases) run in parallel")
      ->capture_default_str();
  demo->add_flag("--skip-conformance", args->skip_conformance, "Run the scenarios only");
  demo->add_flag("--quiet", args->quiet, "Print only failures and the summary");
  demo->callback([args, &runner] { runner = [args] { return run_demo(*args); }; });
}

}  // namespace attestlab::cli
