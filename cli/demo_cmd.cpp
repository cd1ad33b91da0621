// `attestlab demo`: the main job on embedded defaults. Starts attestlab's server in a
// temporary directory (mock Apple CA as attestation root, the planned inventory, the
// default policy plus the scenarios' assumptions), runs every library scenario against it
// (each with its own MDM emulator; fleet-rollout-100 is the fleet), then the conformance
// suite against its own embedded target (`attestlab conform --embedded`, run in-process),
// then a short load (`attestlab load --embedded --flow device`, 3 s at 10/s, in-process),
// prints one table and writes result.json, junit.xml, summary.md and report.html, and the
// load's report beside them as load.json, load.html and load.txt.
// Exit codes per cli/command.h: 0 everything passed, 1 a check failed or errored, 2 bad
// arguments, 3 the harness could not run.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/embedded_target.h"
#include "cli/scenario_run.h"
#include "core/json.h"
#include "core/pki.h"
#include "reports/run_result.h"
#include "reports/wire_logs.h"
#include "scenarios/library.h"
#include "scenarios/plan.h"

namespace attestlab::cli {
namespace {

struct DemoArgs {
  std::string wire_logs = "failures";
  std::string report_dir = "reports/out/latest";
  int jobs = 4;
  bool skip_conformance = false;
  bool skip_load = false;
  bool quiet = false;
};

int internal(const std::string& message) { return complain("demo", kExitInternal, message); }

// Runs one `attestlab` subcommand in-process (the one `add` registers) with argv; its
// exit code, or an Error naming why it could not start (bad arguments).
Result<int> run_subcommand(void (*add)(CLI::App&, Runner&), std::vector<std::string> argv) {
  CLI::App app{"attestlab"};
  Runner runner;
  add(app, runner);
  try {
    std::reverse(argv.begin(), argv.end());  // CLI11 parses a vector from its back
    app.parse(argv);
  } catch (const CLI::Error& e) {
    return Error::make("usage", e.what());
  }
  return runner ? runner() : kExitOk;
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
  const auto t0 = std::chrono::steady_clock::now();
  auto exit = run_subcommand(register_conform, {"conform", "--embedded", "--quiet", "--jobs",
                                                std::to_string(jobs), "--report-dir", dir});
  if (!exit) {
    out.note = "conformance could not start: " + exit.error().detail;
    return out;
  }
  out.exit = *exit;
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

struct LoadPhase {
  bool ran = false;
  int exit = kExitOk;
  double seconds = 0;
  std::string line;  // for the final summary
  std::string note;  // why it did not run
};

// Runs `attestlab load --embedded --flow device` (its own embedded target: the demo's
// checks an inventory the load's devices are not in) in-process through its subcommand,
// for a few seconds, and copies its report into report_dir as load.json, load.html and
// load.txt. The load's summary goes to load.txt, not stdout.
LoadPhase run_load_phase(const std::string& work_dir, const std::string& report_dir) {
  LoadPhase out;
  const std::string dir = work_dir + "/load";
  const auto t0 = std::chrono::steady_clock::now();
  std::ostringstream captured;
  std::streambuf* previous = std::cout.rdbuf(captured.rdbuf());
  auto exit =
      run_subcommand(register_load, {"load", "--embedded", "--flow", "device", "--rate", "10/s",
                                     "--duration", "3s", "--quiet", "--report-dir", dir});
  std::cout.rdbuf(previous);
  if (!exit) {
    out.note = "the load could not start: " + exit.error().detail;
    return out;
  }
  out.exit = *exit;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto text = pki::read_file(dir + "/result.json");
  auto doc = text ? parse_json(*text) : Result<Json>(text.error());
  if (!doc || !doc->contains("targets") || (*doc)["targets"].empty()) {
    out.note = "the load wrote no result (exit " + std::to_string(out.exit) + ")";
    return out;
  }
  const Json summary = (*doc)["targets"][0]["load"].value("summary", Json::object());
  const Json counts = (*doc)["targets"][0]["load"]["stats"].value("counts", Json::object());
  std::error_code ec;
  std::filesystem::create_directories(report_dir, ec);
  for (const auto& [from, to] :
       {std::pair{"result.json", "load.json"}, std::pair{"report.html", "load.html"},
        std::pair{"summary.txt", "load.txt"}}) {
    std::filesystem::copy_file(dir + "/" + from, report_dir + "/" + to,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      out.note = std::string("cannot copy the load's ") + from + ": " + ec.message();
      return out;
    }
  }
  std::ostringstream line;
  line << std::fixed << std::setprecision(1)
       << "load (device flow, 10/s for 3 s, embedded): " << counts.value("completed", 0)
       << " completed, " << counts.value("failed", 0) << " failed, "
       << summary.value("throughput_per_s", 0.0) << "/s, p99 "
       << summary.value("latency_ms", Json::object()).value("p99", 0.0) << " ms in " << out.seconds
       << " s";
  out.line = line.str();
  out.ran = true;
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

  LoadPhase load;
  if (!a.skip_load) {
    std::cerr << "attestlab demo: short load (attestlab load --embedded --flow device)\n";
    load = run_load_phase(work_dir, a.report_dir);
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
  reports::apply_wire_log_policy(result, *reports::wire_logs_from_string(a.wire_logs));
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
  if (load.ran) {
    std::cout << load.line << "\n";
  } else if (!a.skip_load) {
    std::cout << "load: not run (" << load.note << ")\n";
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "demo finished in " << std::fixed << std::setprecision(1) << total << " s\n";
  print_failures(summary, std::cerr);
  if (!written) return internal("cannot write reports: " + written.error().detail);
  std::cout << "reports in " << a.report_dir << " (result.json, junit.xml, summary.md, report.html"
            << (load.ran ? "; the load's load.json, load.html, load.txt" : "") << ")\n";

  bool failed = result.failed() || (!a.skip_conformance && !conformance.ran);
  failed = failed || (!a.skip_load && (!load.ran || load.exit != kExitOk));
  for (const auto& s : summary.scenarios) failed = failed || !s.ok();
  return failed ? kExitFailures : kExitOk;
}

}  // namespace

void register_demo(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo",
                                      "Start the embedded server, MDM emulator and a fleet; run "
                                      "every scenario, the conformance suite and a short load");
  demo->add_option("--wire-logs", args->wire_logs,
                   "Wire logs kept in the reports: all | failures (cases that did not pass) | none")
      ->check(CLI::IsMember({"all", "failures", "none"}))
      ->capture_default_str();
  demo->add_option("--report-dir", args->report_dir,
                   "Where result.json, junit.xml, summary.md, report.html go")
      ->capture_default_str();
  demo->add_option("--jobs", args->jobs, "Scenarios (and conformance cases) run in parallel")
      ->capture_default_str();
  demo->add_flag("--skip-conformance", args->skip_conformance, "Skip the conformance suite");
  demo->add_flag("--skip-load", args->skip_load, "Skip the short load run");
  demo->add_flag("--quiet", args->quiet, "Print only failures and the summary");
  demo->callback([args, &runner] { runner = [args] { return run_demo(*args); }; });
}

}  // namespace attestlab::cli
