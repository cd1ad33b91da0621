// attestlab.Result (a run of scenarios, conformance cases or a load: the result model of
// reports/run_result.h), attestlab.TargetRun and attestlab.CaseResult, with the JUnit,
// HTML, Markdown and JSON renderers.
#include <pybind11/stl.h>

#include "python/src/bindings.h"
#include "reports/run_result.h"

namespace attestlab::python {
namespace {

using reports::CaseResult;
using reports::Outcome;
using reports::RunResult;
using reports::TargetRun;

Outcome outcome_of(const std::string& name) {
  auto o = reports::outcome_from_string(name);
  if (!o) throw py::value_error("outcome must be pass, fail, skip or error");
  return *o;
}

std::vector<CaseResult> all_cases(const RunResult& r) {
  std::vector<CaseResult> out;
  for (const auto& t : r.targets) out.insert(out.end(), t.cases.begin(), t.cases.end());
  return out;
}

}  // namespace

void bind_results(py::module_& m) {
  py::class_<CaseResult>(m, "CaseResult",
                         "One conformance case, or one checked scenario step, on one target.")
      .def_readonly("id", &CaseResult::id, "Case id, e.g. rfc8555-6.5-nonce-reuse.")
      .def_readonly("title", &CaseResult::title, "Short title.")
      .def_readonly("requirement", &CaseResult::requirement, "The requirement in one sentence.")
      .def_readonly("spec", &CaseResult::spec, "The specification, e.g. RFC 8555.")
      .def_readonly("section", &CaseResult::section, "Its section, e.g. 6.5.")
      .def_readonly("level", &CaseResult::level, "MUST, SHOULD, MAY or policy.")
      .def_readonly("profile", &CaseResult::profile, "Case profile or scenario name.")
      .def_property_readonly(
          "outcome", [](const CaseResult& c) { return std::string(reports::to_string(c.outcome)); },
          "pass, fail, skip or error.")
      .def_property_readonly(
          "passed", [](const CaseResult& c) { return c.outcome == Outcome::Pass; },
          "outcome == pass.")
      .def_readonly("reason", &CaseResult::reason, "Why it failed, was skipped or errored.")
      .def_readonly("expected", &CaseResult::expected, "What the requirement expects.")
      .def_readonly("observed", &CaseResult::observed, "What the target did.")
      .def_readonly("duration_ms", &CaseResult::duration_ms, "Milliseconds.")
      .def_readonly("attempts", &CaseResult::attempts, "Runs (> 1 when retried).")
      .def_property_readonly(
          "wire_log", [](const CaseResult& c) { return to_python(c.wire_log); },
          "The HTTP exchanges of the case, as a list of dicts (converted on access).")
      .def("__repr__", [](const CaseResult& c) {
        return "<CaseResult " + c.id + " " + reports::to_string(c.outcome) + ">";
      });

  py::class_<TargetRun>(m, "TargetRun", "What one run did on one target.")
      .def_readonly("name", &TargetRun::name, "The target's name.")
      .def_readonly("directory_url", &TargetRun::directory_url, "Its directory URL.")
      .def_readonly("started_at", &TargetRun::started_at, "RFC 3339.")
      .def_readonly("duration_ms", &TargetRun::duration_ms, "Milliseconds.")
      .def_readonly("cases", &TargetRun::cases, "CaseResults by id.")
      .def_property_readonly(
          "load", [](const TargetRun& t) { return to_python(t.load); },
          "Load runs: the measured figures (dict; see bench/load/load_run.h), else None.")
      .def(
          "count", [](const TargetRun& t, const std::string& o) { return t.count(outcome_of(o)); },
          py::arg("outcome"), "Cases with this outcome.");

  py::class_<RunResult>(m, "Result",
                        "A run's result (schema attestlab.result/1): kind conformance, scenario "
                        "or load; one TargetRun per target.")
      .def_readonly("kind", &RunResult::kind, "conformance, scenario or load.")
      .def_readonly("command", &RunResult::command, "What produced it.")
      .def_readonly("strict", &RunResult::strict, "SHOULD counted as MUST.")
      .def_readonly("targets", &RunResult::targets, "One TargetRun per target.")
      .def_property_readonly("cases", &all_cases, "Every CaseResult of every target.")
      .def_property_readonly("failed", &RunResult::failed,
                             "A case failed or errored, or a load threshold failed.")
      .def_property_readonly(
          "passed", [](const RunResult& r) { return !r.failed(); }, "not failed.")
      .def_property_readonly(
          "load",
          [](const RunResult& r) {
            return r.targets.empty() ? py::none() : to_python(r.targets.front().load);
          },
          "Load runs: the first target's figures (dict), else None.")
      .def(
          "case",
          [](const RunResult& r, const std::string& id) -> py::object {
            for (const auto& t : r.targets)
              for (const auto& c : t.cases)
                if (c.id == id) return py::cast(c);
            return py::none();
          },
          py::arg("id"), "The first CaseResult with this id, or None.")
      .def(
          "counts",
          [](const RunResult& r) {
            py::dict d;
            for (const auto o : {Outcome::Pass, Outcome::NonStrict, Outcome::Fail, Outcome::Skip,
                                 Outcome::Error}) {
              int n = 0;
              for (const auto& t : r.targets) n += t.count(o);
              d[reports::to_string(o)] = n;
            }
            return d;
          },
          "{'pass': n, 'non-strict': n, 'fail': n, 'skip': n, 'error': n} over every target "
          "(non-strict: a SHOULD or MAY not met, neither pass nor fail).")
      .def(
          "to_json", [](const RunResult& r) { return to_python(r.to_json()); },
          "The result document (dict).")
      .def_static(
          "from_json",
          [](const py::object& doc) {
            const Json j = py::isinstance<py::str>(doc)
                               ? Json::parse(doc.cast<std::string>(), nullptr, false)
                               : from_python(doc);
            return unwrap(RunResult::from_json(j));
          },
          py::arg("doc"), "Reads a result document (dict or JSON text; schema checked).")
      .def("to_junit", &reports::render_junit, "JUnit XML text.")
      .def("to_html", &reports::render_html,
           "One self-contained HTML report (charts, case matrix, wire logs).")
      .def("to_markdown", &reports::render_markdown, "Markdown summary.")
      .def(
          "write",
          [](const RunResult& r, const std::string& dir) {
            unwrap(reports::write_reports(r, dir));
          },
          py::arg("dir"), "Writes result.json, junit.xml, summary.md and report.html into dir.")
      .def("__repr__", [](const RunResult& r) {
        std::size_t n = 0;
        for (const auto& t : r.targets) n += t.cases.size();
        return "<Result " + r.kind + " targets=" + std::to_string(r.targets.size()) +
               " cases=" + std::to_string(n) + (r.failed() ? " FAILED>" : " passed>");
      });
}

}  // namespace attestlab::python
