#include "cli/load_report.h"

#include <filesystem>
#include <iostream>
#include <set>
#include <vector>

#include "bench/load/load_html.h"
#include "bench/load/load_run.h"
#include "bench/load/load_text.h"
#include "bench/load/threshold.h"
#include "cli/command.h"
#include "core/pki.h"

namespace attestlab::cli {
namespace {

// Shards of one load: same flow, challenge and plan, same shard count, disjoint shards.
bool same_load(const load::LoadRun& a, const load::LoadRun& b) {
  if (a.flow != b.flow || a.challenge != b.challenge || a.shard_count != b.shard_count)
    return false;
  return a.plan.model == b.plan.model && a.plan.rate == b.plan.rate &&
         a.plan.ramp_s == b.plan.ramp_s && a.plan.concurrency == b.plan.concurrency &&
         a.plan.duration_s == b.plan.duration_s && a.plan.count == b.plan.count &&
         a.plan.warmup_s == b.plan.warmup_s;
}

bool disjoint(const std::vector<load::LoadRun>& group, const load::LoadRun& run) {
  std::set<int> taken;
  for (const auto& g : group) taken.insert(g.shards.begin(), g.shards.end());
  for (int s : run.shards)
    if (taken.count(s)) return false;
  return true;
}

}  // namespace

int write_load_report(const reports::RunResult& run, const std::string& out_dir) {
  std::vector<std::vector<load::LoadRun>> groups;
  for (const auto& target : run.targets) {
    auto parsed = load::LoadRun::from_json(target.load);
    if (!parsed) {
      std::cerr << "attestlab report: target \"" << target.name << "\": " << parsed.error().detail
                << "\n";
      return kExitUsage;
    }
    bool placed = false;
    for (auto& g : groups) {
      if (same_load(g.front(), *parsed) && disjoint(g, *parsed)) {
        g.push_back(std::move(*parsed));
        placed = true;
        break;
      }
    }
    if (!placed) groups.push_back({std::move(*parsed)});
  }

  reports::RunResult out;
  out.kind = "load";
  out.command = run.command;
  bool thresholds_ok = true;
  std::string summaries;
  std::vector<load::LoadRun> merged_runs;
  for (const auto& g : groups) {
    auto merged = load::merge_load_runs(g);
    if (!merged) {
      std::cerr << "attestlab report: " << merged.error().detail << "\n";
      return kExitUsage;
    }
    if (g.size() == 1) merged->target_issued = g.front().target_issued;
    // The thresholds of the first shard, on the merged figures.
    for (const auto& t : g.front().thresholds) {
      auto parsed = load::parse_threshold(t.expression);
      if (!parsed) continue;
      merged->thresholds.push_back(load::evaluate_threshold(*parsed, *merged));
      thresholds_ok = thresholds_ok && merged->thresholds.back().passed;
    }
    if (merged->shard_count > 1 && static_cast<int>(merged->shards.size()) < merged->shard_count)
      std::cerr << "attestlab report: " << merged->target_name << ": " << merged->shards.size()
                << " of " << merged->shard_count << " shards\n";
    summaries += load::format_summary(*merged) + "\n";
    reports::TargetRun t;
    t.name = merged->target_name;
    t.directory_url = merged->urls.empty() ? "" : merged->urls.front();
    t.started_at = merged->started_at;
    t.duration_ms = merged->elapsed_s * 1000;
    t.load = merged->to_json();
    out.targets.push_back(std::move(t));
    merged_runs.push_back(std::move(*merged));
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  auto written = pki::write_file(out_dir + "/result.json", dump_lossy(out.to_json(), 1) + "\n");
  if (written) written = pki::write_file(out_dir + "/summary.txt", summaries);
  if (written)
    written =
        pki::write_file(out_dir + "/report.html", load::render_load_html(merged_runs, run.command));
  if (!written) {
    std::cerr << "attestlab report: " << written.error().detail << "\n";
    return kExitInternal;
  }
  std::cout << summaries << "wrote " << out_dir << "/{result.json,summary.txt,report.html} ("
            << out.targets.size() << " load" << (out.targets.size() == 1 ? "" : "s") << ")\n";
  return thresholds_ok ? kExitOk : kExitFailures;
}

}  // namespace attestlab::cli
