#include "bench/load/load_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "bench/load/svg_chart.h"
#include "reports/escape.h"
#include "reports/run_result.h"

namespace attestlab::load {
namespace {

using reports::escape_xml;

constexpr const char* kBlue = "#1565c0";
constexpr const char* kRed = "#c62828";
constexpr const char* kOrange = "#ef6c00";
constexpr const char* kGreen = "#2e7d32";

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

double ms(std::uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

std::string ms_text(std::uint64_t us) {
  const double v = ms(us);
  return fmt(v < 10 ? "%.2f ms" : v < 1000 ? "%.1f ms" : "%.0f ms", v);
}

std::string row(const std::string& key, const std::string& value) {
  return "<tr><th>" + escape_xml(key) + "</th><td>" + escape_xml(value) + "</td></tr>";
}

std::string percentiles(const Histogram& h) {
  if (h.count() == 0) return "none";
  return "p50 " + ms_text(h.percentile(50)) + " · p90 " + ms_text(h.percentile(90)) + " · p99 " +
         ms_text(h.percentile(99)) + " · p99.9 " + ms_text(h.percentile(99.9)) + " · max " +
         ms_text(h.max());
}

std::string plan_text(const LoadRun& r) {
  std::string s;
  if (r.plan.model == Model::Open) {
    s = "open, " + fmt("%g", r.plan.rate) + "/s";
    if (r.plan.ramp_s > 0) s += " after a " + fmt("%g", r.plan.ramp_s) + " s ramp";
  } else {
    s = "closed, concurrency " + std::to_string(r.plan.concurrency);
  }
  s += r.plan.count ? ", " + std::to_string(*r.plan.count) + " enrollments"
                    : ", " + fmt("%g", r.plan.duration_s) + " s";
  if (r.plan.warmup_s > 0) s += ", " + fmt("%g", r.plan.warmup_s) + " s warm-up (not counted)";
  s += ", " + std::to_string(r.workers) + " workers";
  if (r.shard_count > 1)
    s +=
        ", " + std::to_string(r.shards.size()) + " of " + std::to_string(r.shard_count) + " shards";
  return s;
}

std::string summary_table(const LoadRun& r) {
  std::ostringstream h;
  h << "<table class=\"summary\">" << row("target", r.target_name);
  for (const auto& u : r.urls) h << row("directory", u);
  h << row("flow", r.flow + " (" + r.challenge + ")") << row("plan", plan_text(r))
    << row("started", r.started_at)
    << row("enrollments",
           std::to_string(r.stats.completed) + " completed, " + std::to_string(r.stats.failed) +
               " failed, " + std::to_string(r.unfinished()) + " unfinished of " +
               std::to_string(r.scheduled) + " offered in " + fmt("%.1f", r.elapsed_s) + " s")
    << row("throughput", fmt("%.2f", r.throughput()) + " enrollments/s")
    << row("errors", fmt("%.2f", r.error_share() * 100) + "%")
    << row("latency from intended start", percentiles(r.stats.latency))
    << row("service time (from send)", percentiles(r.stats.service))
    << row("requests", std::to_string(r.stats.requests) + ", badNonce retries " +
                           std::to_string(r.stats.bad_nonce_retries) + ", polls " +
                           std::to_string(r.stats.polls));
  if (r.stats.warmup_completed + r.stats.warmup_failed > 0)
    h << row("warm-up (not counted)", std::to_string(r.stats.warmup_completed) + " completed, " +
                                          std::to_string(r.stats.warmup_failed) + " failed");
  std::string cpu;
  if (auto s = r.server_cpu_ms_per_enrollment()) cpu += "server " + fmt("%.2f", *s) + " ms";
  if (auto g = r.generator_cpu_ms_per_enrollment())
    cpu += (cpu.empty() ? "" : " · ") + std::string("generator ") + fmt("%.2f", *g) + " ms";
  if (r.floor)
    cpu += (cpu.empty() ? "" : " · ") + std::string("crypto floor ") +
           fmt("%.3f", r.floor->per_enrollment_ms()) + " ms";
  if (!cpu.empty())
    h << row("CPU per enrollment", cpu + (r.cpu_note.empty() ? "" : " (" + r.cpu_note + ")"));
  if (r.target_issued) h << row("certificates the target issued", std::to_string(*r.target_issued));
  if (r.interrupted) h << row("interrupted", "Ctrl-C: partial figures");
  if (!r.stopped.empty()) h << row("stopped early", r.stopped);
  h << "</table>\n";
  return h.str();
}

std::string thresholds_table(const LoadRun& r) {
  if (r.thresholds.empty()) return "<p>No thresholds were set.</p>\n";
  std::ostringstream h;
  h << "<table class=\"thresholds\"><tr><th>threshold</th><th>measured</th><th>verdict</th></tr>";
  for (const auto& t : r.thresholds)
    h << "<tr class=\"" << (t.passed ? "pass" : "fail") << "\"><td><code>"
      << escape_xml(t.expression) << "</code></td><td>" << escape_xml(t.measured) << "</td><td>"
      << (t.passed ? "pass" : "FAIL") << "</td></tr>";
  h << "</table>\n";
  return h.str();
}

std::string errors_table(const LoadRun& r) {
  std::ostringstream h;
  if (r.stats.errors.empty()) {
    h << "<p class=\"no-errors\">No errors.</p>\n";
  } else {
    h << "<table class=\"errors\"><tr><th>count</th><th>step</th><th>type</th><th>HTTP "
         "status</th><th>first detail</th></tr>";
    for (const auto& [key, n] : r.stats.errors) {
      auto example = r.stats.error_examples.find(key);
      h << "<tr><td>" << n << "</td><td>" << escape_xml(key.step) << "</td><td>"
        << escape_xml(key.type) << "</td><td>" << key.status << "</td><td>"
        << escape_xml(example == r.stats.error_examples.end() ? "" : example->second)
        << "</td></tr>";
    }
    h << "</table>\n";
  }
  if (!r.stats.faults.empty()) {
    h << "<h4>Fault enrollments (not in the figures)</h4><table class=\"faults\"><tr><th>knob</"
         "th><th>sent</th><th>refused</th><th>accepted</th></tr>";
    for (const auto& [name, f] : r.stats.faults)
      h << "<tr" << (f.accepted ? " class=\"fail\"" : "") << "><td>" << escape_xml(name)
        << "</td><td>" << f.started << "</td><td>" << f.refused << "</td><td>" << f.accepted
        << "</td></tr>";
    h << "</table>\n";
  }
  return h.str();
}

std::string throughput_chart(const LoadRun& r) {
  const double dt = r.stats.timeline_interval_s > 0 ? r.stats.timeline_interval_s : 1;
  Series done{"completed/s", kBlue, {}}, failed{"failed/s", kRed, {}};
  for (std::size_t i = 0; i < r.stats.timeline.size(); ++i) {
    const double t = (static_cast<double>(i) + 1) * dt;  // slot end
    done.points.emplace_back(t, static_cast<double>(r.stats.timeline[i].completed) / dt);
    failed.points.emplace_back(t, static_cast<double>(r.stats.timeline[i].failed) / dt);
  }
  LineChart c{"throughput",
              "Throughput over time",
              "seconds since the window start",
              "enrollments/s",
              {std::move(done)}};
  if (r.stats.failed > 0) c.series.push_back(std::move(failed));
  return render_line_chart(c);
}

std::string latency_over_time_chart(const LoadRun& r) {
  const double dt = r.stats.timeline_interval_s > 0 ? r.stats.timeline_interval_s : 1;
  const double gap = std::numeric_limits<double>::quiet_NaN();
  Series p50{"p50", kBlue, {}}, p99{"p99", kRed, {}};
  for (std::size_t i = 0; i < r.stats.timeline.size(); ++i) {
    const Histogram& h = r.stats.timeline[i].latency;
    const double t = (static_cast<double>(i) + 1) * dt;
    p50.points.emplace_back(t, h.count() ? ms(h.percentile(50)) : gap);
    p99.points.emplace_back(t, h.count() ? ms(h.percentile(99)) : gap);
  }
  return render_line_chart({"latency-over-time",
                            "Latency over time (from the intended start)",
                            "seconds since the window start (by finish time)",
                            "ms",
                            {std::move(p50), std::move(p99)}});
}

std::string distribution_chart(const LoadRun& r) {
  ColumnChart c;
  c.name = "latency-distribution";
  c.title = "Latency distribution (completed enrollments, from the intended start)";
  c.x_label = "ms (log scale)";
  c.y_label = "enrollments";
  c.log_x = true;
  for (const auto& b : latency_bins(r.stats.latency)) {
    c.columns.push_back(
        {b.low_ms, b.high_ms, static_cast<double>(b.count),
         fmt("%.2f", b.low_ms) + "–" + fmt("%.2f", b.high_ms) + " ms: " + std::to_string(b.count)});
  }
  if (r.stats.latency.count() > 0) {
    c.markers.push_back({"p50", kGreen, ms(r.stats.latency.percentile(50))});
    c.markers.push_back({"p99", kRed, ms(r.stats.latency.percentile(99))});
  }
  return render_column_chart(c);
}

std::string steps_chart(const LoadRun& r) {
  BarChart c{"steps", "Per-step latency (p50 / p99)", "ms", {"p50", "p99"}, {kBlue, kOrange}, {}};
  for (std::size_t i = 0; i < kStepCount; ++i) {
    const Histogram& h = r.stats.steps[i];
    if (h.count() == 0) continue;
    const auto step = static_cast<Step>(i);
    std::string label = step == Step::Validation ? "validation wait"
                        : step == Step::Attest   ? "attest (generator)"
                                                 : step_name(step);
    c.groups.push_back({label, {ms(h.percentile(50)), ms(h.percentile(99))}});
  }
  return render_bar_chart(c);
}

}  // namespace

std::vector<LatencyBin> latency_bins(const Histogram& h, int bins) {
  std::vector<LatencyBin> out;
  if (h.count() == 0 || bins < 1) return out;
  const double lo = std::max(ms(h.min()), 0.001);
  const double hi = std::max(ms(h.max()), lo * 1.001);
  const double log_lo = std::log10(lo), log_hi = std::log10(hi);
  const double width = (log_hi - log_lo) / bins;
  for (int i = 0; i < bins; ++i)
    out.push_back(
        {std::pow(10.0, log_lo + width * i), std::pow(10.0, log_lo + width * (i + 1)), 0});
  const Json buckets = h.to_json()["buckets"];
  for (const Json& b : buckets) {
    const auto index = b[0].get<std::size_t>();
    const auto n = b[1].get<std::uint64_t>();
    // The bucket's midpoint, clamped to the recorded range as percentiles are.
    const double mid = std::clamp(
        (ms(Histogram::bucket_lowest(index)) + ms(Histogram::bucket_highest(index))) / 2, lo, hi);
    const int at = std::clamp(static_cast<int>((std::log10(mid) - log_lo) / width), 0, bins - 1);
    out[static_cast<std::size_t>(at)].count += n;
  }
  return out;
}

std::string render_load_html(const std::vector<LoadRun>& runs, const std::string& command) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>attestlab load "
       "report</title><style>"
       "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1340px}"
       "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid "
       "#ddd;padding:3px 8px;font-size:13px;text-align:left;vertical-align:top}"
       "th{background:#f5f5f5}tr.pass td{background:#c8e6c9}tr.fail td{background:#ffcdd2}"
       ".plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid "
       "#eee;background:#fff}code{font-size:12px}"
       "</style></head><body>\n<h1>attestlab load report</h1>\n<p>"
    << escape_xml(reports::RunResult{}.tool_version);
  if (!command.empty()) h << " · <code>" << escape_xml(command) << "</code>";
  h << "</p>\n";
  if (runs.empty()) h << "<p>No load runs.</p>\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const LoadRun& r = runs[i];
    h << "<section class=\"load\" id=\"load-" << i << "\" data-completed=\"" << r.stats.completed
      << "\" data-failed=\"" << r.stats.failed << "\"><h2>" << escape_xml(r.target_name) << ": "
      << escape_xml(r.flow) << " flow</h2>\n<h3>Summary</h3>\n"
      << summary_table(r) << "<h3>Thresholds</h3>\n"
      << thresholds_table(r) << "<h3>Errors</h3>\n"
      << errors_table(r) << "<h3>Plots</h3>\n<div class=\"plots\">\n"
      << throughput_chart(r) << "\n"
      << latency_over_time_chart(r) << "\n"
      << distribution_chart(r) << "\n"
      << steps_chart(r) << "\n</div></section>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace attestlab::load
