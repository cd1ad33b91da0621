#include "reports/run_result.h"

#include <algorithm>

#include "core/enum_names.h"

namespace attestlab::reports {

namespace {

constexpr EnumName<Outcome> kOutcomeNames[] = {{Outcome::Pass, "pass"},
                                               {Outcome::Fail, "fail"},
                                               {Outcome::Skip, "skip"},
                                               {Outcome::Error, "error"},
                                               {Outcome::NonStrict, "non-strict"}};

}  // namespace

const char* to_string(Outcome o) {
  return name_of(kOutcomeNames, o, "error");
}

Result<Outcome> outcome_from_string(const std::string& s) {
  if (auto o = value_named(kOutcomeNames, s)) return *o;
  return Error::make("malformed", "unknown outcome \"" + s + "\"");
}

int TargetRun::count(Outcome o) const {
  return static_cast<int>(std::count_if(cases.begin(), cases.end(),
                                        [o](const CaseResult& c) { return c.outcome == o; }));
}

int TargetRun::not_run_count() const {
  return static_cast<int>(std::count_if(cases.begin(), cases.end(), [](const CaseResult& c) {
    return c.outcome == Outcome::Skip && c.reason.rfind(kNotRunTargetDown, 0) == 0;
  }));
}

bool RunResult::failed() const {
  for (const auto& t : targets) {
    if (t.target_down && !t.target_down->known) return true;
    for (const auto& c : t.cases) {
      const bool failing = c.outcome == Outcome::Fail || c.outcome == Outcome::Error;
      if (!failing) continue;
      if (baseline.empty() || c.baseline == kBaselineRegression ||
          c.baseline == kBaselineNewFailure)
        return true;
    }
    if (!t.load.is_object()) continue;
    auto thresholds = t.load.find("thresholds");
    if (thresholds == t.load.end() || !thresholds->is_array()) continue;
    for (const auto& th : *thresholds)
      if (th.is_object() && th.value("passed", true) == false) return true;
  }
  return false;
}

namespace {

Json case_to_json(const CaseResult& c) {
  Json j{{"id", c.id},
         {"title", c.title},
         {"requirement", c.requirement},
         {"spec", c.spec},
         {"section", c.section},
         {"level", c.level},
         {"profile", c.profile},
         {"outcome", to_string(c.outcome)},
         {"reason", c.reason},
         {"expected", c.expected},
         {"observed", c.observed},
         {"duration_ms", c.duration_ms},
         {"attempts", c.attempts},
         {"wire_log", c.wire_log}};
  if (!c.baseline.empty()) j["baseline"] = c.baseline;
  return j;
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double num(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

Json RunResult::to_json() const {
  Json out{{"schema", kResultSchema}, {"kind", kind},     {"tool_version", tool_version},
           {"command", command},      {"strict", strict}, {"targets", Json::array()}};
  if (!baseline.empty()) out["baseline"] = baseline;
  for (const auto& t : targets) {
    Json tj{{"name", t.name},
            {"directory_url", t.directory_url},
            {"started_at", t.started_at},
            {"duration_ms", t.duration_ms},
            {"summary",
             {{"pass", t.count(Outcome::Pass)},
              {"fail", t.count(Outcome::Fail)},
              {"skip", t.count(Outcome::Skip)},
              {"error", t.count(Outcome::Error)},
              {"non_strict", t.count(Outcome::NonStrict)},
              {"total", t.cases.size()}}},
            {"cases", Json::array()}};
    for (const auto& c : t.cases) tj["cases"].push_back(case_to_json(c));
    if (!t.load.is_null()) tj["load"] = t.load;
    if (t.target_down)
      tj["target_down"] = {{"during_case", t.target_down->during_case},
                           {"detail", t.target_down->detail},
                           {"not_run", t.not_run_count()},
                           {"known", t.target_down->known}};
    out["targets"].push_back(std::move(tj));
  }
  if (!statement.is_null()) out["statement"] = statement;
  return out;
}

Result<RunResult> RunResult::from_json(const Json& j) {
  if (!j.is_object()) return Error::make("malformed", "result: not a JSON object");
  if (str(j, "schema") != kResultSchema)
    return Error::make("malformed", "result: schema is \"" + str(j, "schema") + "\", expected \"" +
                                        kResultSchema + "\"");
  RunResult run;
  run.kind = str(j, "kind");
  run.tool_version = str(j, "tool_version");
  run.command = str(j, "command");
  run.strict = j.value("strict", false);
  run.baseline = str(j, "baseline");
  if (auto st = j.find("statement"); st != j.end() && st->is_object()) run.statement = *st;
  auto targets = j.find("targets");
  if (targets == j.end() || !targets->is_array())
    return Error::make("malformed", "result: \"targets\" must be an array");
  for (const auto& tj : *targets) {
    if (!tj.is_object()) return Error::make("malformed", "result: a target is not an object");
    TargetRun t;
    t.name = str(tj, "name");
    t.directory_url = str(tj, "directory_url");
    t.started_at = str(tj, "started_at");
    t.duration_ms = num(tj, "duration_ms");
    auto cases = tj.find("cases");
    if (cases == tj.end() || !cases->is_array())
      return Error::make("malformed", "result: target \"" + t.name + "\" has no \"cases\" array");
    for (const auto& cj : *cases) {
      if (!cj.is_object()) return Error::make("malformed", "result: a case is not an object");
      CaseResult c;
      c.id = str(cj, "id");
      c.title = str(cj, "title");
      c.requirement = str(cj, "requirement");
      c.spec = str(cj, "spec");
      c.section = str(cj, "section");
      c.level = str(cj, "level");
      c.profile = str(cj, "profile");
      auto o = outcome_from_string(str(cj, "outcome"));
      if (!o) return Error::make("malformed", "result: case \"" + c.id + "\": " + o.error().detail);
      c.outcome = *o;
      c.reason = str(cj, "reason");
      c.expected = str(cj, "expected");
      c.observed = str(cj, "observed");
      c.duration_ms = num(cj, "duration_ms");
      c.attempts = static_cast<int>(num(cj, "attempts"));
      if (auto w = cj.find("wire_log"); w != cj.end()) c.wire_log = *w;
      c.baseline = str(cj, "baseline");
      t.cases.push_back(std::move(c));
    }
    if (auto down = tj.find("target_down"); down != tj.end() && down->is_object())
      t.target_down =
          TargetDown{str(*down, "during_case"), str(*down, "detail"), down->value("known", false)};
    if (auto load = tj.find("load"); load != tj.end()) {
      if (!load->is_object())
        return Error::make("malformed",
                           "result: target \"" + t.name + "\": \"load\" is not an object");
      t.load = *load;
    }
    run.targets.push_back(std::move(t));
  }
  return run;
}

}  // namespace attestlab::reports
