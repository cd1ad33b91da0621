#include "bench/load/load_stats.h"

#include <algorithm>
#include <cmath>

namespace attestlab::load {
namespace {

constexpr std::array<const char*, kStepCount> kStepNames = {"directory",  "nonce",     "account",
                                                            "order",      "challenge", "attest",
                                                            "validation", "finalize",  "download"};

Error malformed(const std::string& why) {
  return Error::make("malformed", "load stats: " + why);
}

Result<std::uint64_t> counter(const Json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_unsigned())
    return malformed(std::string("\"") + key + "\" must be a non-negative integer");
  return j[key].get<std::uint64_t>();
}

}  // namespace

const char* step_name(Step step) {
  return kStepNames[static_cast<std::size_t>(step)];
}

std::optional<Step> step_from_name(const std::string& name) {
  for (std::size_t i = 0; i < kStepCount; ++i)
    if (name == kStepNames[i]) return static_cast<Step>(i);
  return std::nullopt;
}

void LoadStats::count_error(const ErrorKey& key, const std::string& detail) {
  ++errors[key];
  // Details come from the target: keep them short and printable ASCII, so the result
  // JSON always serializes.
  std::string example;
  for (char c : detail.substr(0, 300)) example += (c >= 0x20 && c < 0x7f) ? c : '?';
  error_examples.emplace(key, example);
}

void LoadStats::record_in_timeline(double at_s, bool ok, std::uint64_t latency_us) {
  const double slot_d = std::floor(std::max(0.0, at_s) / timeline_interval_s);
  // A run is bounded; so is its timeline (1e6 slots is 11 days at one a second).
  const auto slot = static_cast<std::size_t>(std::min(slot_d, 1e6));
  if (timeline.size() <= slot) timeline.resize(slot + 1);
  if (ok) {
    ++timeline[slot].completed;
    timeline[slot].latency.record(latency_us);
  } else {
    ++timeline[slot].failed;
  }
}

Result<void> LoadStats::merge(const LoadStats& o, std::int64_t timeline_shift) {
  if (o.timeline_interval_s != timeline_interval_s)
    return Error::make("malformed", "timelines with different intervals do not merge");
  started += o.started;
  completed += o.completed;
  failed += o.failed;
  interrupted += o.interrupted;
  warmup_completed += o.warmup_completed;
  warmup_failed += o.warmup_failed;
  requests += o.requests;
  bad_nonce_retries += o.bad_nonce_retries;
  polls += o.polls;
  latency.merge(o.latency);
  service.merge(o.service);
  for (std::size_t i = 0; i < kStepCount; ++i) steps[i].merge(o.steps[i]);
  for (const auto& [key, n] : o.errors) errors[key] += n;
  for (const auto& [key, text] : o.error_examples) error_examples.emplace(key, text);
  for (const auto& [name, f] : o.faults) {
    FaultCounts& mine = faults[name];
    mine.started += f.started;
    mine.refused += f.refused;
    mine.accepted += f.accepted;
  }
  for (std::size_t i = 0; i < o.timeline.size(); ++i) {
    const std::int64_t at = static_cast<std::int64_t>(i) + timeline_shift;
    if (at < 0) return Error::make("malformed", "timeline shift before the window start");
    const auto slot = static_cast<std::size_t>(at);
    if (timeline.size() <= slot) timeline.resize(slot + 1);
    timeline[slot].completed += o.timeline[i].completed;
    timeline[slot].failed += o.timeline[i].failed;
    timeline[slot].latency.merge(o.timeline[i].latency);
  }
  return ok();
}

Json LoadStats::to_json() const {
  Json steps_json = Json::object();
  for (std::size_t i = 0; i < kStepCount; ++i) steps_json[kStepNames[i]] = steps[i].to_json();
  Json errors_json = Json::array();
  for (const auto& [key, n] : errors) {
    auto example = error_examples.find(key);
    errors_json.push_back(
        Json{{"step", key.step},
             {"type", key.type},
             {"status", key.status},
             {"count", n},
             {"example", example == error_examples.end() ? "" : example->second}});
  }
  Json faults_json = Json::object();
  for (const auto& [name, f] : faults)
    faults_json[name] =
        Json{{"started", f.started}, {"refused", f.refused}, {"accepted", f.accepted}};
  Json slots = Json::array();
  for (const auto& s : timeline)
    slots.push_back(
        Json{{"completed", s.completed}, {"failed", s.failed}, {"latency", s.latency.to_json()}});
  return Json{{"counts",
               {{"started", started},
                {"completed", completed},
                {"failed", failed},
                {"interrupted", interrupted},
                {"warmup_completed", warmup_completed},
                {"warmup_failed", warmup_failed},
                {"requests", requests},
                {"bad_nonce_retries", bad_nonce_retries},
                {"polls", polls}}},
              {"latency_us", latency.to_json()},
              {"service_us", service.to_json()},
              {"steps_us", std::move(steps_json)},
              {"errors", std::move(errors_json)},
              {"faults", std::move(faults_json)},
              {"timeline", {{"interval_s", timeline_interval_s}, {"slots", std::move(slots)}}}};
}

Result<LoadStats> LoadStats::from_json(const Json& j) {
  if (!j.is_object()) return malformed("not an object");
  LoadStats s;
  if (!j.contains("counts") || !j["counts"].is_object()) return malformed("no \"counts\" object");
  const Json& c = j["counts"];
  std::uint64_t* fields[] = {&s.started,     &s.completed,         &s.failed,
                             &s.interrupted, &s.warmup_completed,  &s.warmup_failed,
                             &s.requests,    &s.bad_nonce_retries, &s.polls};
  const char* names[] = {"started",     "completed",         "failed",
                         "interrupted", "warmup_completed",  "warmup_failed",
                         "requests",    "bad_nonce_retries", "polls"};
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    auto v = counter(c, names[i]);
    if (!v) return v.error();
    *fields[i] = *v;
  }
  const auto histogram = [&](const Json& parent, const std::string& key) -> Result<Histogram> {
    if (!parent.contains(key)) return malformed("no \"" + key + "\"");
    auto h = Histogram::from_json(parent[key]);
    if (!h) return malformed(key + ": " + h.error().detail);
    return h;
  };
  auto latency = histogram(j, "latency_us");
  if (!latency) return latency.error();
  s.latency = std::move(*latency);
  auto service = histogram(j, "service_us");
  if (!service) return service.error();
  s.service = std::move(*service);
  if (!j.contains("steps_us") || !j["steps_us"].is_object()) return malformed("no \"steps_us\"");
  for (std::size_t i = 0; i < kStepCount; ++i) {
    auto h = histogram(j["steps_us"], kStepNames[i]);
    if (!h) return h.error();
    s.steps[i] = std::move(*h);
  }
  if (!j.contains("errors") || !j["errors"].is_array())
    return malformed("\"errors\" must be an array");
  for (const Json& e : j["errors"]) {
    if (!e.is_object() || !e.value("step", Json()).is_string() ||
        !e.value("type", Json()).is_string() || !e.value("status", Json()).is_number_integer())
      return malformed("an error entry needs step, type, status and count");
    auto n = counter(e, "count");
    if (!n) return n.error();
    ErrorKey key{e["step"].get<std::string>(), e["type"].get<std::string>(),
                 e["status"].get<int>()};
    s.errors[key] += *n;
    if (e.contains("example") && e["example"].is_string())
      s.error_examples.emplace(key, e["example"].get<std::string>());
  }
  if (!j.contains("faults") || !j["faults"].is_object())
    return malformed("\"faults\" must be an object");
  for (const auto& [name, f] : j["faults"].items()) {
    if (!f.is_object()) return malformed("fault \"" + name + "\" is not an object");
    FaultCounts fc;
    for (auto [field, key] : {std::pair{&fc.started, "started"}, std::pair{&fc.refused, "refused"},
                              std::pair{&fc.accepted, "accepted"}}) {
      auto v = counter(f, key);
      if (!v) return v.error();
      *field = *v;
    }
    s.faults[name] = fc;
  }
  if (!j.contains("timeline") || !j["timeline"].is_object()) return malformed("no \"timeline\"");
  const Json& t = j["timeline"];
  if (!t.contains("interval_s") || !t["interval_s"].is_number() ||
      !(t["interval_s"].get<double>() > 0))
    return malformed("timeline.interval_s must be a positive number");
  s.timeline_interval_s = t["interval_s"].get<double>();
  if (!t.contains("slots") || !t["slots"].is_array())
    return malformed("timeline.slots must be an array");
  for (const Json& slot : t["slots"]) {
    if (!slot.is_object()) return malformed("a timeline slot is not an object");
    TimelineSlot ts;
    auto done = counter(slot, "completed");
    if (!done) return done.error();
    auto failed = counter(slot, "failed");
    if (!failed) return failed.error();
    auto h = histogram(slot, "latency");
    if (!h) return h.error();
    ts.completed = *done;
    ts.failed = *failed;
    ts.latency = std::move(*h);
    s.timeline.push_back(std::move(ts));
  }
  return s;
}

}  // namespace attestlab::load
