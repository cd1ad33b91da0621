#include "reports/baseline.h"

#include <fstream>
#include <sstream>

namespace attestlab::reports {
namespace {

bool failing(Outcome o) {
  return o == Outcome::Fail || o == Outcome::Error;
}

}  // namespace

Json make_baseline(const RunResult& run) {
  Json targets = Json::object();
  for (const auto& t : run.targets) {
    Json cases = Json::object();
    for (const auto& c : t.cases) cases[c.id] = to_string(c.outcome);
    Json entry{{"cases", cases}};
    if (t.target_down) entry["target_down_during"] = t.target_down->during_case;
    targets[t.name] = std::move(entry);
  }
  return Json{{"schema", kBaselineSchema}, {"targets", targets}};
}

Result<Json> load_baseline(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::make("malformed", path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  Json doc = Json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) return Error::make("malformed", path + ": not JSON");
  if (!doc.is_object() || doc.value("schema", "") != kBaselineSchema)
    return Error::make("malformed", path + ": not a baseline (\"schema\" is not \"" +
                                        std::string(kBaselineSchema) + "\")");
  auto targets = doc.find("targets");
  if (targets == doc.end() || !targets->is_object())
    return Error::make("malformed", path + ": \"targets\" must be an object");
  for (const auto& [name, entry] : targets->items()) {
    auto cases = entry.is_object() ? entry.find("cases") : entry.end();
    if (!entry.is_object() || cases == entry.end() || !cases->is_object())
      return Error::make("malformed", path + ": target \"" + name + "\" has no \"cases\" object");
    for (const auto& [id, outcome] : cases->items()) {
      if (!outcome.is_string() || !outcome_from_string(outcome.get<std::string>()))
        return Error::make("malformed", path + ": case \"" + id + "\" has no known outcome");
    }
  }
  return doc;
}

BaselineComparison apply_baseline(RunResult& run, const Json& baseline, const std::string& name) {
  BaselineComparison out;
  run.baseline = name;
  const Json& targets = baseline.at("targets");
  for (auto& t : run.targets) {
    const Json* entry = targets.contains(t.name) ? &targets.at(t.name) : nullptr;
    if (t.target_down && entry &&
        entry->value("target_down_during", "") == t.target_down->during_case)
      t.target_down->known = true;
    for (auto& c : t.cases) {
      std::optional<Outcome> before;
      if (entry && entry->at("cases").contains(c.id))
        before = *outcome_from_string(entry->at("cases").at(c.id).get<std::string>());
      const std::string label = t.name + "/" + c.id;
      const bool now_failing = failing(c.outcome);
      if (!before || *before == Outcome::Skip) {
        if (now_failing) {
          c.baseline = kBaselineNewFailure;
          out.new_failures.push_back(label);
        }
      } else if (failing(*before)) {
        if (now_failing) {
          c.baseline = kBaselineKnownFailure;
          out.known_failures.push_back(label);
        } else if (c.outcome != Outcome::Skip) {
          c.baseline = kBaselineImprovement;
          out.improvements.push_back(label);
        }
      } else if (now_failing) {
        c.baseline = kBaselineRegression;
        out.regressions.push_back(label);
      }
    }
  }
  return out;
}

}  // namespace attestlab::reports
