// attestlab report render|merge: re-render saved result JSON (any run of scenario or
// conform) and merge several runs into one multi-target report (Autobahn-style matrix).
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/load_report.h"
#include "cli/statement_support.h"
#include "core/json.h"
#include "core/pki.h"
#include "reports/run_result.h"

namespace attestlab::cli {
namespace {

Result<reports::RunResult> load_run(const std::string& path) {
  auto text = pki::read_file(path);
  if (!text) return text.error();
  auto json = parse_json(*text);
  if (!json) return Error::make("malformed", path + ": " + json.error().detail);
  auto run = reports::RunResult::from_json(*json);
  if (!run) return Error::make("malformed", path + ": " + run.error().detail);
  return run;
}

bool has_target(const reports::RunResult& run, const std::string& name) {
  for (const auto& t : run.targets)
    if (t.name == name) return true;
  return false;
}

// `name`, or "name (PATH)" when a target of that name is already there, or "name (PATH) 2"...
std::string unique_name(const reports::RunResult& run, const std::string& name,
                        const std::string& path) {
  if (!has_target(run, name)) return name;
  std::string candidate = name + " (" + path + ")";
  for (int n = 2; has_target(run, candidate); ++n)
    candidate = name + " (" + path + ") " + std::to_string(n);
  return candidate;
}

int render(const std::vector<std::string>& inputs, const std::string& out_dir) {
  reports::RunResult merged;
  for (const auto& path : inputs) {
    auto run = load_run(path);
    if (!run) {
      std::cerr << "attestlab report: " << run.error().detail << "\n";
      return run.error().type == "malformed" ? kExitUsage : kExitInternal;
    }
    if (merged.kind.empty()) {
      merged = std::move(*run);
      continue;
    }
    if (run->kind != merged.kind) {
      std::cerr << "attestlab report: " << path << " is a " << run->kind << " run, the first is a "
                << merged.kind << " run; only runs of one kind merge\n";
      return kExitUsage;
    }
    for (auto& t : run->targets) {
      // Conformance and scenario runs become columns of one matrix: two runs against targets
      // of the same name (two builds of one server) must stay two columns a reader can tell
      // apart. (Load shards of one target keep their name: they merge into one.)
      if (run->kind != "load") t.name = unique_name(merged, t.name, path);
      merged.targets.push_back(std::move(t));
    }
    merged.command += " + " + run->command;
  }
  if (merged.kind == "load") return write_load_report(merged, out_dir);
  auto written = reports::write_reports(merged, out_dir);
  if (!written) {
    std::cerr << "attestlab report: " << written.error().detail << "\n";
    return kExitInternal;
  }
  std::cout << "wrote " << out_dir << "/{result.json,junit.xml,summary.md,report.html} ("
            << merged.targets.size() << " target" << (merged.targets.size() == 1 ? "" : "s")
            << ")\n";
  return merged.failed() ? kExitFailures : kExitOk;
}

}  // namespace

void register_report(CLI::App& app, Runner& runner) {
  auto* report = app.add_subcommand(
      "report", "Re-render or merge saved result JSON; verify a signed statement");
  report->require_subcommand(1);

  static std::string in_file, out_dir;
  auto* r =
      report->add_subcommand("render", "Render result.json again as JUnit, Markdown and HTML");
  r->add_option("input", in_file, "result.json of a scenario or conform run")
      ->required()
      ->check(CLI::ExistingFile);
  r->add_option("--out", out_dir, "output directory")->required();
  r->callback([&runner] { runner = [] { return render({in_file}, out_dir); }; });

  static std::vector<std::string> inputs;
  static std::string merge_out;
  auto* m =
      report->add_subcommand("merge", "Merge runs against several targets into one matrix report");
  m->add_option("inputs", inputs, "result.json files (same kind)")
      ->required()
      ->expected(2, 64)
      ->check(CLI::ExistingFile);
  m->add_option("--out", merge_out, "output directory")->required();
  m->callback([&runner] { runner = [] { return render(inputs, merge_out); }; });

  static std::string statement_file, statement_key;
  auto* v = report->add_subcommand(
      "verify",
      "Check a signed conformance statement (conform --statement): key, signature, suite");
  v->add_option("statement", statement_file, "statement JSON")->required();
  v->add_option("--key", statement_key, "the tester's public key (PEM)")->required();
  v->callback(
      [&runner] { runner = [] { return verify_statement_file(statement_file, statement_key); }; });
}

}  // namespace attestlab::cli
