// Renderers of RunResult: JUnit XML (CI), Markdown (PR comments) and one self-contained
// HTML page (vendors): everything inline, no network, no JavaScript needed to read it.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/enum_names.h"
#include "core/pki.h"
#include "core/utf8.h"
#include "reports/escape.h"
#include "reports/run_result.h"
#include "reports/statement.h"
#include "reports/wire_text.h"

namespace attestlab::reports {
namespace {

std::string fixed(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// An id usable in HTML anchors.
std::string anchor(std::size_t target, const std::string& case_id) {
  std::string a = "t" + std::to_string(target) + "-";
  for (char c : case_id) a += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
  return a;
}

const char* outcome_color(Outcome o) {
  static constexpr EnumName<Outcome> kColors[] = {
      {Outcome::Pass, "#2e7d32"},  {Outcome::Fail, "#c62828"},      {Outcome::Skip, "#9e9e9e"},
      {Outcome::Error, "#ef6c00"}, {Outcome::NonStrict, "#f9a825"}};
  return name_of(kColors, o, "#000");
}

// Failed or errored, and not excused by a baseline that already knew it.
bool counts_as_failure(const CaseResult& c) {
  return (c.outcome == Outcome::Fail || c.outcome == Outcome::Error) &&
         c.baseline != kBaselineKnownFailure;
}

int known_failures(const TargetRun& t) {
  int n = 0;
  for (const auto& c : t.cases) n += c.baseline == kBaselineKnownFailure ? 1 : 0;
  return n;
}

int count_failing(const TargetRun& t, Outcome o) {
  int n = 0;
  for (const auto& c : t.cases) n += c.outcome == o && counts_as_failure(c) ? 1 : 0;
  return n;
}

std::string target_down_line(const TargetRun& t) {
  return "target down: " + t.name + " stopped answering during " + t.target_down->during_case +
         " (" + t.target_down->detail + "); " + std::to_string(t.not_run_count()) +
         " case(s) not run";
}

// The cases of t with the given baseline mark, as "id, id, ...".
std::string ids_marked(const TargetRun& t, const char* mark) {
  std::string out;
  for (const auto& c : t.cases) {
    if (c.baseline != mark) continue;
    out += (out.empty() ? "" : ", ") + c.id;
  }
  return out;
}

// A horizontal stacked bar (pass/fail/error/skip) as inline SVG.
std::string summary_bar(const TargetRun& t) {
  const Outcome order[] = {Outcome::Pass, Outcome::NonStrict, Outcome::Fail, Outcome::Error,
                           Outcome::Skip};
  double total = static_cast<double>(t.cases.size());
  std::ostringstream svg;
  svg << "<svg class=\"bar\" width=\"420\" height=\"22\" role=\"img\" aria-label=\"summary\">";
  double x = 0;
  for (Outcome o : order) {
    int n = t.count(o);
    if (n == 0 || total == 0) continue;
    double w = 420.0 * n / total;
    svg << "<rect x=\"" << fixed(x, 1) << "\" y=\"0\" width=\"" << fixed(w, 1)
        << "\" height=\"22\" fill=\"" << outcome_color(o) << "\"><title>" << to_string(o) << ": "
        << n << "</title></rect>";
    x += w;
  }
  svg << "</svg>";
  return svg.str();
}

// Case durations per profile as a small SVG bar chart.
std::string duration_chart(const TargetRun& t) {
  std::map<std::string, double> by_profile;
  for (const auto& c : t.cases) by_profile[c.profile] += c.duration_ms;
  double max = 1;
  for (const auto& [p, d] : by_profile) max = std::max(max, d);
  std::ostringstream svg;
  int h = 20 * static_cast<int>(by_profile.size()) + 4;
  svg << "<svg class=\"chart\" width=\"520\" height=\"" << h << "\" role=\"img\">";
  int y = 2;
  for (const auto& [p, d] : by_profile) {
    double w = 300.0 * d / max;
    svg << "<text x=\"0\" y=\"" << y + 13 << "\" font-size=\"12\">" << escape_xml(p)
        << "</text><rect x=\"150\" y=\"" << y << "\" width=\"" << fixed(std::max(w, 1.0), 1)
        << "\" height=\"16\" fill=\"#1565c0\"/><text x=\"" << fixed(155 + w, 1) << "\" y=\""
        << y + 13 << "\" font-size=\"12\">" << fixed(d, 0) << " ms</text>";
    y += 20;
  }
  svg << "</svg>";
  return svg.str();
}

}  // namespace

std::string render_junit(const RunResult& run) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"attestlab "
    << escape_xml(run.kind) << "\">\n";
  for (const auto& t : run.targets) {
    // A target that went down is one more test case, an error, so CI shows the finding.
    const int down = t.target_down ? 1 : 0;
    x << "  <testsuite name=\"" << escape_xml(run.kind + ":" + t.name) << "\" tests=\""
      << t.cases.size() + down << "\" failures=\"" << count_failing(t, Outcome::Fail)
      << "\" errors=\"" << count_failing(t, Outcome::Error) + down << "\" skipped=\""
      << t.count(Outcome::Skip) + known_failures(t) << "\" time=\"" << fixed(t.duration_ms / 1000)
      << "\" timestamp=\"" << escape_xml(t.started_at) << "\">\n";
    if (t.target_down) {
      x << "    <testcase classname=\"" << escape_xml(t.name + ".liveness")
        << "\" name=\"target-down\" time=\"0\"><error message=\"" << escape_xml(target_down_line(t))
        << "\"/></testcase>\n";
    }
    for (const auto& c : t.cases) {
      x << "    <testcase classname=\"" << escape_xml(t.name + "." + c.profile) << "\" name=\""
        << escape_xml(c.id) << "\" time=\"" << fixed(c.duration_ms / 1000) << "\">";
      std::string msg = c.reason.empty() ? c.requirement : c.reason;
      const std::string details = c.spec + " §" + c.section + " (" + c.level +
                                  "): " + c.requirement + "\nexpected: " + c.expected +
                                  "\nobserved: " + c.observed;
      if (c.baseline == kBaselineKnownFailure) {
        x << "<skipped message=\"" << escape_xml("known failure (baseline): " + msg) << "\"/>";
        x << "</testcase>\n";
        continue;
      }
      switch (c.outcome) {
        case Outcome::Pass:
          break;
        case Outcome::NonStrict:
          // A pass for CI, with the SHOULD/MAY miss kept as a property and in system-out.
          x << "<properties><property name=\"outcome\" value=\"non-strict\"/></properties>"
            << "<system-out>" << escape_xml(msg + "\n" + details) << "</system-out>";
          break;
        case Outcome::Skip:
          x << "<skipped message=\"" << escape_xml(msg) << "\"/>";
          break;
        case Outcome::Fail:
        case Outcome::Error:
          x << "<" << (c.outcome == Outcome::Fail ? "failure" : "error") << " message=\""
            << escape_xml(msg) << "\">" << escape_xml(details) << "</"
            << (c.outcome == Outcome::Fail ? "failure" : "error") << ">";
          break;
      }
      x << "</testcase>\n";
    }
    x << "  </testsuite>\n";
  }
  x << "</testsuites>\n";
  return x.str();
}

std::string render_markdown(const RunResult& run) {
  std::ostringstream m;
  m << "# attestlab " << run.kind << " report\n\n";
  if (!run.command.empty()) m << "Command: `" << run.command << "`\n\n";
  if (!run.baseline.empty()) m << "Baseline: `" << run.baseline << "`\n\n";
  for (const auto& t : run.targets)
    if (t.target_down) m << "> **" << target_down_line(t) << "**\n\n";
  m << "| target | pass | non-strict | fail | error | skip | total | wall time "
       "|\n|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& t : run.targets)
    m << "| " << t.name << " | " << t.count(Outcome::Pass) << " | " << t.count(Outcome::NonStrict)
      << " | " << t.count(Outcome::Fail) << " | " << t.count(Outcome::Error) << " | "
      << t.count(Outcome::Skip) << " | " << t.cases.size() << " | "
      << fixed(t.duration_ms / 1000, 2) << " s |\n";
  for (const auto& t : run.targets) {
    if (!run.baseline.empty()) {
      const std::pair<const char*, const char*> marks[] = {
          {kBaselineRegression, "Regressions"},
          {kBaselineNewFailure, "New failures"},
          {kBaselineKnownFailure, "Known failures (in the baseline)"},
          {kBaselineImprovement, "Improvements"}};
      for (const auto& [mark, title] : marks) {
        const std::string ids = ids_marked(t, mark);
        if (!ids.empty()) m << "\n**" << title << " on " << t.name << ":** " << ids << "\n";
      }
    }
    bool any = false;
    for (const auto& c : t.cases) {
      if (!counts_as_failure(c)) continue;
      if (!any) m << "\n## Failures on " << t.name << "\n\n";
      any = true;
      m << "- **" << c.id << "** (" << c.spec << " §" << c.section << ", " << c.level
        << "): " << c.requirement << "\n  - expected: " << c.expected
        << "\n  - observed: " << c.observed << "\n";
    }
    any = false;
    for (const auto& c : t.cases) {
      if (c.outcome != Outcome::NonStrict) continue;
      if (!any) m << "\n## Non-strict on " << t.name << " (SHOULD/MAY not met)\n\n";
      any = true;
      m << "- **" << c.id << "** (" << c.spec << " §" << c.section << ", " << c.level
        << "): " << c.reason << "\n";
    }
  }
  return m.str();
}

std::string render_html(const RunResult& run) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>attestlab "
    << escape_xml(run.kind) << " report</title><style>"
    << "body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
       "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}"
       "th{background:#f5f5f5;text-align:left}.pass{background:#c8e6c9}.fail{background:#ffcdd2}"
       ".skip{background:#eeeeee}.error{background:#ffe0b2}.non-strict{background:#fff59d}"
       ".down{border:2px solid #c62828;background:#ffebee;padding:8px;font-weight:bold}"
       "a{color:inherit}"
       "pre{background:#fafafa;border:1px solid "
       "#eee;padding:8px;overflow:auto;max-height:480px;font-size:12px}"
       "details{margin:4px 0}summary{cursor:pointer}.lvl{font-size:11px;color:#555}"
    << "</style></head><body>\n<h1>attestlab " << escape_xml(run.kind) << " report</h1>\n";
  h << "<p>" << escape_xml(run.tool_version)
    << (run.strict ? " · strict (SHOULD counted as MUST)" : "");
  if (!run.command.empty()) h << " · <code>" << escape_xml(run.command) << "</code>";
  if (!run.baseline.empty()) h << " · baseline <code>" << escape_xml(run.baseline) << "</code>";
  h << "</p>\n";
  for (const auto& t : run.targets)
    if (t.target_down) h << "<p class=\"down\">" << escape_xml(target_down_line(t)) << "</p>\n";
  h << "<h2>Summary</h2>\n<table><tr><th>target</th><th>directory</th><th>pass</th>"
       "<th>non-strict</th><th>fail</th><th>error</th><th>skip</th><th>started (UTC)</th>"
       "<th>wall time</th><th>chart</th>"
       "</tr>\n";
  for (const auto& t : run.targets)
    h << "<tr><td>" << escape_xml(t.name) << "</td><td>" << escape_xml(t.directory_url)
      << "</td><td>" << t.count(Outcome::Pass) << "</td><td>" << t.count(Outcome::NonStrict)
      << "</td><td>" << t.count(Outcome::Fail) << "</td><td>" << t.count(Outcome::Error)
      << "</td><td>" << t.count(Outcome::Skip) << "</td><td>" << escape_xml(t.started_at)
      << "</td><td>" << fixed(t.duration_ms / 1000, 2) << " s</td><td>" << summary_bar(t)
      << "</td></tr>\n";
  h << "</table>\n";
  h << render_statement_html(run.statement);  // the signed statement's summary, if any
  for (const auto& t : run.targets)
    h << "<h3>Case time by profile: " << escape_xml(t.name)
      << "</h3><p class=\"lvl\">the sum of each profile's case durations (cases run in "
         "parallel, so the sum can exceed the wall time)</p>"
      << duration_chart(t) << "\n";

  // Matrix: one row a case id (union over targets), one column a target.
  std::map<std::string, const CaseResult*> meta;
  for (const auto& t : run.targets)
    for (const auto& c : t.cases) meta.emplace(c.id, &c);
  h << "<h2>Matrix</h2>\n<table><tr><th>case</th><th>level</th>";
  for (const auto& t : run.targets) h << "<th>" << escape_xml(t.name) << "</th>";
  h << "</tr>\n";
  for (const auto& [id, c] : meta) {
    h << "<tr><td title=\"" << escape_xml(c->requirement) << "\">" << escape_xml(id)
      << "</td><td class=\"lvl\">" << escape_xml(c->level) << "</td>";
    for (std::size_t ti = 0; ti < run.targets.size(); ++ti) {
      const CaseResult* found = nullptr;
      for (const auto& tc : run.targets[ti].cases)
        if (tc.id == id) found = &tc;
      if (!found) {
        h << "<td>–</td>";
        continue;
      }
      h << "<td class=\"" << to_string(found->outcome) << "\"><a href=\"#" << anchor(ti, id)
        << "\">" << to_string(found->outcome) << "</a></td>";
    }
    h << "</tr>\n";
  }
  h << "</table>\n";

  // Drill-down: every case with its requirement, verdict and wire log.
  for (std::size_t ti = 0; ti < run.targets.size(); ++ti) {
    const auto& t = run.targets[ti];
    h << "<h2>Cases on " << escape_xml(t.name) << "</h2>\n";
    for (const auto& c : t.cases) {
      h << "<details id=\"" << anchor(ti, c.id) << "\""
        << (c.outcome == Outcome::Fail ? " open" : "") << "><summary class=\""
        << to_string(c.outcome) << "\"><b>" << escape_xml(c.id) << "</b> — " << to_string(c.outcome)
        << " · " << escape_xml(c.spec) << " §" << escape_xml(c.section) << " · "
        << escape_xml(c.level) << (c.baseline.empty() ? "" : " · baseline: " + c.baseline)
        << "</summary>\n<p>" << escape_xml(c.requirement) << "</p>";
      if (!c.reason.empty()) h << "<p><b>reason:</b> " << escape_xml(c.reason) << "</p>";
      if (!c.expected.empty() || !c.observed.empty())
        h << "<p><b>expected:</b> " << escape_xml(c.expected) << "<br><b>observed:</b> "
          << escape_xml(c.observed) << "</p>";
      h << "<p class=\"lvl\">took " << fixed(c.duration_ms, 1) << " ms, attempts " << c.attempts
        << "</p>";
      if (!c.wire_log.empty()) h << "<pre>" << escape_xml(wire_log_as_http(c.wire_log)) << "</pre>";
      h << "</details>\n";
    }
  }
  h << "</body></html>\n";
  return h.str();
}

Result<void> write_reports(const RunResult& run, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::make("serverInternal", dir + ": " + ec.message());
  ATTESTLAB_TRY(pki::write_file(dir + "/result.json", dump_lossy(run.to_json(), 2) + "\n"));
  ATTESTLAB_TRY(pki::write_file(dir + "/junit.xml", render_junit(run)));
  ATTESTLAB_TRY(pki::write_file(dir + "/summary.md", utf8_or_replaced(render_markdown(run))));
  ATTESTLAB_TRY(pki::write_file(dir + "/report.html", render_html(run)));
  return ok();
}

}  // namespace attestlab::reports
