#include "reports/run_result.h"

#include <algorithm>

namespace attestlab::reports {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Pass:
      return "pass";
    case Outcome::Fail:
      return "fail";
    case Outcome::Skip:
      return "skip";
    case Outcome::Error:
      return "error";
  }
  return "error";
}

Result<Outcome> outcome_from_string(const std::string& s) {
  if (s == "pass") return Outcome::Pass;
  if (s == "fail") return Outcome::Fail;
  if (s == "skip") return Outcome::Skip;
  if (s == "error") return Outcome::Error;
  return Error::make("malformed", "unknown outcome \"" + s + "\"");
}

int TargetRun::count(Outcome o) const {
  return static_cast<int>(std::count_if(cases.begin(), cases.end(),
                                        [o](const CaseResult& c) { return c.outcome == o; }));
}

bool RunResult::failed() const {
  for (const auto& t : targets) {
    if (t.count(Outcome::Fail) > 0 || t.count(Outcome::Error) > 0) return true;
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
  return Json{{"id", c.id},
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
              {"total", t.cases.size()}}},
            {"cases", Json::array()}};
    for (const auto& c : t.cases) tj["cases"].push_back(case_to_json(c));
    if (!t.load.is_null()) tj["load"] = t.load;
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
      t.cases.push_back(std::move(c));
    }
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
