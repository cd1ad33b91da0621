// attestlab.run_scenario, attestlab.conform and attestlab.load: the library calls behind
// `attestlab scenario run`, `attestlab conform` and `attestlab load`, returning a Result.
// Without a target, run_scenario and conform start the embedded server configured as the
// commands' --embedded does, and stop it afterwards.
#include <pybind11/stl.h>

#include <random>

#include "cli/embedded_target.h"
#include "cli/load_options.h"
#include "cli/load_session.h"
#include "conformance/registry.h"
#include "conformance/runner.h"
#include "conformance/selection.h"
#include "python/src/bindings.h"
#include "reports/run_result.h"
#include "scenarios/engine.h"
#include "scenarios/library.h"
#include "scenarios/plan.h"

namespace attestlab::python {
namespace {

// A str or a list of str as a list (patterns, thresholds, faults).
std::vector<std::string> strings(const py::object& o) {
  if (o.is_none()) return {};
  if (py::isinstance<py::str>(o)) return {o.cast<std::string>()};
  return o.cast<std::vector<std::string>>();
}

// The target a run uses: the given one (kept open by a shared lock) or a fresh embedded one.
struct RunTarget {
  std::shared_lock<std::shared_mutex> lock;
  std::unique_ptr<cli::EmbeddedTarget> own;
};

// The scenarios `scenario` names: a library name, "all", a file path, JSON text or a dict.
std::vector<scenarios::Scenario> scenarios_of(const py::object& scenario,
                                              const std::string& library) {
  if (py::isinstance<py::dict>(scenario))
    return {unwrap(scenarios::parse_scenario(from_python(scenario), "<python>"))};
  const std::string text = scenario.cast<std::string>();
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{')
    return {unwrap(scenarios::parse_scenario_text(text, "<python>"))};
  auto all = unwrap(scenarios::load_library(library));
  return unwrap(scenarios::select_scenarios(all, text));
}

reports::RunResult run_scenario(const py::object& scenario, const std::shared_ptr<PyTarget>& target,
                                std::optional<std::uint64_t> seed, int jobs,
                                const std::string& library) {
  if (jobs < 1 || jobs > 64) throw py::value_error("jobs must be between 1 and 64");
  if (target && !target->scenario.attestation_ca)
    throw py::value_error(
        "run_scenario needs the mock Apple CA the target trusts: Target(..., attestation_ca=)");
  const auto selected = scenarios_of(scenario, library);
  const std::uint64_t s = seed.value_or((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                                        std::random_device{}());
  const auto plans = scenarios::plan_run(selected, s);
  const auto options = target ? Result<cli::EmbeddedTargetOptions>(cli::EmbeddedTargetOptions{})
                              : cli::scenario_target_options(plans);
  if (!options) raise_error(options.error());
  reports::RunResult result;
  result.kind = "scenario";
  result.command = "attestlab.run_scenario (seed " + std::to_string(s) + ")";
  Error error;
  bool failed = false;
  {
    py::gil_scoped_release release;
    RunTarget rt;
    const scenarios::Target* t = nullptr;
    scenarios::RunOptions run_options;
    run_options.jobs = jobs;
    if (target) {
      failed = !target->acquire(rt.lock);
      if (failed) error = closed_error();
      t = &target->scenario;
      if (!failed && target->embedded)
        run_options.clocked_target = target->embedded->clocked_target_factory();
    } else {
      auto started = cli::EmbeddedTarget::start(*options);
      if (!started) {
        failed = true;
        error = started.error();
      } else {
        rt.own = std::move(*started);
        t = &rt.own->scenario_target();
        run_options.clocked_target = rt.own->clocked_target_factory();
      }
    }
    if (!failed) result.targets.push_back(scenarios::run_scenarios(plans, *t, run_options).run);
  }
  if (failed) raise_error(error);
  return result;
}

reports::RunResult conform(const std::shared_ptr<PyTarget>& target, const py::object& only,
                           const py::object& skip, bool strict, int jobs,
                           std::optional<double> timeout) {
  if (jobs < 1) throw py::value_error("jobs must be at least 1");
  conformance::Selection selection{strings(only), strings(skip)};
  const auto selected = conformance::select_cases(conformance::all_cases(), selection);
  if (!selected) throw py::value_error(selected.error().detail);
  conformance::RunOptions options;
  options.jobs = jobs;
  options.strict = strict;
  if (timeout && *timeout > 0)
    options.case_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*timeout * 1000));
  reports::RunResult result;
  result.kind = "conformance";
  result.command = "attestlab.conform";
  result.strict = strict;
  Error error;
  bool failed = false;
  {
    py::gil_scoped_release release;
    RunTarget rt;
    conformance::TargetProfile profile;
    if (target) {
      failed = !target->acquire(rt.lock);
      if (failed) error = closed_error();
      profile = target->profile;
    } else {
      auto started = cli::EmbeddedTarget::start(cli::conformance_target_options(false));
      if (!started) {
        failed = true;
        error = started.error();
      } else {
        rt.own = std::move(*started);
        profile = rt.own->conformance_profile();
      }
    }
    if (!failed) {
      auto run = conformance::run_target(profile, *selected, conformance::all_cases(), options);
      if (run) {
        result.targets.push_back(std::move(run->run));
      } else {
        failed = true;
        error = run.error();
      }
    }
  }
  if (failed) raise_error(error);
  return result;
}

reports::RunResult load(const std::shared_ptr<PyTarget>& target, const std::string& flow,
                        std::optional<std::uint64_t> count, std::optional<std::string> duration,
                        std::optional<std::string> rate, std::optional<int> concurrency,
                        std::optional<std::string> warmup, std::optional<std::string> ramp,
                        std::optional<std::size_t> devices, const py::object& faults,
                        double fault_share, std::optional<int> workers,
                        const py::object& thresholds, std::optional<std::string> challenge,
                        const std::string& poll_interval, const std::string& poll_timeout,
                        const std::string& http_timeout, const std::string& drain,
                        const std::string& stall_timeout) {
  if (!target) throw py::value_error("load needs a target (Target or Target.embedded())");
  cli::LoadArgs a;
  a.targets = {target->profile.directory_url};
  a.flow = flow;
  a.count = count;
  a.duration = duration.value_or("");
  a.rate = rate.value_or("");
  a.concurrency = concurrency;
  a.warmup = warmup.value_or("");
  a.ramp = ramp.value_or("");
  a.devices = devices;
  a.faults = strings(faults);
  a.fault_share = fault_share;
  a.workers = workers;
  a.thresholds = strings(thresholds);
  a.challenge = challenge.value_or("");
  a.poll_interval = poll_interval;
  a.poll_timeout = poll_timeout;
  a.http_timeout = http_timeout;
  a.drain = drain;
  a.stall_timeout = stall_timeout;
  a.command_line = "attestlab.load";
  if (flow != "plain" && flow != "renewal" && flow != "device" && flow != "mix")
    throw py::value_error("flow must be plain, renewal, device or mix");
  auto checked = cli::check_load_args(a);
  if (!checked) throw py::value_error(checked.error().detail);
  Result<load::LoadRun> ran = Error{};
  {
    py::gil_scoped_release release;
    std::shared_lock<std::shared_mutex> lock;
    if (!target->acquire(lock)) {
      ran = closed_error();
    } else {
      ran = cli::run_load_session(a, *checked, target->profile, target->embedded.get(),
                                  cli::LoadSessionHooks{});
    }
  }
  if (!ran) {
    if (ran.error().type == "usage") throw py::value_error(ran.error().detail);
    raise_error(ran.error());
  }
  return cli::load_result(*ran, a.command_line);
}

}  // namespace

void bind_runs(py::module_& m) {
  m.def(
      "scenario_names",
      [](const std::string& library) {
        std::vector<std::string> out;
        for (const auto& s : unwrap(scenarios::load_library(library))) out.push_back(s.name);
        return out;
      },
      py::kw_only(), py::arg("library") = "",
      "Names of the scenario library (built in, or the *.json files of `library`).");
  m.def(
      "conformance_cases",
      [](const py::object& only, const py::object& skip) {
        conformance::Selection selection{strings(only), strings(skip)};
        auto selected = conformance::select_cases(conformance::all_cases(), selection);
        if (!selected) throw py::value_error(selected.error().detail);
        py::list out;
        for (const auto& c : *selected) {
          py::dict d;
          d["id"] = c.id;
          d["title"] = c.title;
          d["spec"] = c.spec;
          d["section"] = c.section;
          d["level"] = std::string(conformance::to_string(c.level));
          d["profile"] = c.profile;
          d["requirement"] = c.requirement;
          d["capabilities"] = c.capabilities;
          out.append(d);
        }
        return out;
      },
      py::kw_only(), py::arg("only") = py::none(), py::arg("skip") = py::none(),
      "The conformance cases a selection means (dicts: id, title, spec, section, level, "
      "profile, requirement, capabilities), sorted by id.");
  m.def("run_scenario", &run_scenario, py::arg("scenario"), py::arg("target") = nullptr,
        py::kw_only(), py::arg("seed") = py::none(), py::arg("jobs") = 4, py::arg("library") = "",
        "Runs scenarios (scenarios/FORMAT.md): a library name, 'all', a scenario file, "
        "scenario JSON text or a dict. target None starts the embedded server with the "
        "inventory and policy the scenarios assume (as `scenario run --embedded`). Returns "
        "a Result of kind 'scenario' (one case per checked step). GIL released.");
  m.def("conform", &conform, py::arg("target") = nullptr, py::kw_only(),
        py::arg("only") = py::none(), py::arg("skip") = py::none(), py::arg("strict") = false,
        py::arg("jobs") = 4, py::arg("timeout") = py::none(),
        "Runs the conformance suite against target; only/skip: case ids, id prefixes, "
        "sections (rfc8555-6.5) or profiles; strict counts failed SHOULDs; timeout: seconds "
        "per case. target None starts the embedded server configured as `conform "
        "--embedded`. Returns a Result of kind 'conformance'. GIL released.");
  m.def("load", &load, py::arg("target"), py::kw_only(), py::arg("flow") = "device",
        py::arg("count") = py::none(), py::arg("duration") = py::none(),
        py::arg("rate") = py::none(), py::arg("concurrency") = py::none(),
        py::arg("warmup") = py::none(), py::arg("ramp") = py::none(),
        py::arg("devices") = py::none(), py::arg("faults") = py::none(),
        py::arg("fault_share") = 0.1, py::arg("workers") = py::none(),
        py::arg("thresholds") = py::none(), py::arg("challenge") = py::none(),
        py::arg("poll_interval") = "50ms", py::arg("poll_timeout") = "30s",
        py::arg("http_timeout") = "10s", py::arg("drain") = "30s", py::arg("stall_timeout") = "10s",
        "A load run against target, with the options of `attestlab load` (flow plain, "
        "renewal, device or mix; count or duration such as '10s'; rate such as '20/s' or "
        "concurrency; thresholds such as 'p99<300ms'). Returns a Result of kind 'load' "
        "(Result.load: the measured figures). GIL released.");
}

}  // namespace attestlab::python
