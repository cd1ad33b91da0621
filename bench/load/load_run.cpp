#include "bench/load/load_run.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace attestlab::load {
namespace {

Error malformed(const std::string& why) {
  return Error::make("malformed", "load result: " + why);
}

double ms(std::uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

Json percentiles_ms(const Histogram& h) {
  return Json{{"count", h.count()},
              {"p50", ms(h.percentile(50))},
              {"p90", ms(h.percentile(90))},
              {"p99", ms(h.percentile(99))},
              {"p99.9", ms(h.percentile(99.9))},
              {"max", ms(h.max())},
              {"mean", h.mean() / 1000.0}};
}

Json optional_number(const std::optional<double>& v) {
  return v ? Json(*v) : Json(nullptr);
}

std::optional<double> read_optional(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

const char* model_name(Model model) {
  return model == Model::Open ? "open" : "closed";
}

std::uint64_t LoadRun::fault_enrollments() const {
  std::uint64_t n = 0;
  for (const auto& [name, f] : stats.faults) n += f.refused + f.accepted;
  return n;
}

std::uint64_t LoadRun::unfinished() const {
  const std::uint64_t done = stats.completed + stats.failed + fault_enrollments();
  return scheduled > done ? scheduled - done : 0;
}

double LoadRun::throughput() const {
  return elapsed_s > 0 ? static_cast<double>(stats.completed) / elapsed_s : 0.0;
}

double LoadRun::error_share() const {
  const std::uint64_t bad = stats.failed + unfinished();
  const std::uint64_t all = stats.completed + bad;
  return all == 0 ? 0.0 : static_cast<double>(bad) / static_cast<double>(all);
}

std::optional<double> LoadRun::server_cpu_ms_per_enrollment() const {
  if (!server_cpu_ms || stats.completed == 0) return std::nullopt;
  return *server_cpu_ms / static_cast<double>(stats.completed);
}

std::optional<double> LoadRun::generator_cpu_ms_per_enrollment() const {
  if (!generator_cpu_ms || stats.completed == 0) return std::nullopt;
  return *generator_cpu_ms / static_cast<double>(stats.completed);
}

Json LoadRun::to_json() const {
  Json plan_json{{"model", model_name(plan.model)},
                 {"rate", plan.rate},
                 {"ramp_s", plan.ramp_s},
                 {"concurrency", plan.concurrency},
                 {"duration_s", plan.count ? Json(nullptr) : Json(plan.duration_s)},
                 {"count", plan.count ? Json(*plan.count) : Json(nullptr)},
                 {"warmup_s", plan.warmup_s}};
  Json steps = Json::object();
  for (std::size_t i = 0; i < kStepCount; ++i) {
    if (stats.steps[i].count() > 0)
      steps[step_name(static_cast<Step>(i))] = percentiles_ms(stats.steps[i]);
  }
  Json thresholds_json = Json::array();
  for (const auto& t : thresholds)
    thresholds_json.push_back(
        Json{{"expression", t.expression}, {"measured", t.measured}, {"passed", t.passed}});
  Json summary{
      {"throughput_per_s", throughput()},
      {"offered", scheduled},
      {"unfinished", unfinished()},
      {"error_share", error_share()},
      {"latency_ms", percentiles_ms(stats.latency)},
      {"service_ms", percentiles_ms(stats.service)},
      {"steps_ms", std::move(steps)},
      {"server_cpu_ms_per_enrollment", optional_number(server_cpu_ms_per_enrollment())},
      {"generator_cpu_ms_per_enrollment", optional_number(generator_cpu_ms_per_enrollment())},
      {"floor_cpu_ms_per_enrollment", floor ? Json(floor->per_enrollment_ms()) : Json(nullptr)}};
  return Json{{"target", target_name},
              {"urls", urls},
              {"flow", flow},
              {"challenge", challenge},
              {"plan", std::move(plan_json)},
              {"workers", workers},
              {"shards", shards},
              {"shard_count", shard_count},
              {"started_at", started_at},
              {"window_start_unix_ms", window_start_unix_ms},
              {"elapsed_s", elapsed_s},
              {"scheduled", scheduled},
              {"cpu",
               {{"server_ms", optional_number(server_cpu_ms)},
                {"generator_ms", optional_number(generator_cpu_ms)},
                {"note", cpu_note},
                {"floor", floor ? floor->to_json() : Json(nullptr)}}},
              {"target_issued", target_issued ? Json(*target_issued) : Json(nullptr)},
              {"stopped", stopped},
              {"interrupted", interrupted},
              {"thresholds", std::move(thresholds_json)},
              {"summary", std::move(summary)},
              {"stats", stats.to_json()}};
}

Result<LoadRun> LoadRun::from_json(const Json& j) {
  if (!j.is_object()) return malformed("not an object");
  LoadRun r;
  const auto str = [&](const char* key) -> Result<std::string> {
    if (!j.contains(key) || !j[key].is_string())
      return malformed(std::string("\"") + key + "\" must be a string");
    return j[key].get<std::string>();
  };
  for (auto [field, key] :
       {std::pair{&r.target_name, "target"}, std::pair{&r.flow, "flow"},
        std::pair{&r.challenge, "challenge"}, std::pair{&r.started_at, "started_at"},
        std::pair{&r.stopped, "stopped"}}) {
    auto v = str(key);
    if (!v) return v.error();
    *field = *v;
  }
  if (!j.contains("urls") || !j["urls"].is_array()) return malformed("\"urls\" must be an array");
  for (const Json& u : j["urls"]) {
    if (!u.is_string()) return malformed("\"urls\" must hold strings");
    r.urls.push_back(u.get<std::string>());
  }
  if (!j.contains("plan") || !j["plan"].is_object()) return malformed("no \"plan\"");
  const Json& p = j["plan"];
  const std::string model = p.value("model", "");
  if (model != "open" && model != "closed") return malformed("plan.model must be open or closed");
  r.plan.model = model == "open" ? Model::Open : Model::Closed;
  r.plan.rate = read_optional(p, "rate").value_or(0);
  r.plan.ramp_s = read_optional(p, "ramp_s").value_or(0);
  r.plan.concurrency = static_cast<int>(read_optional(p, "concurrency").value_or(0));
  r.plan.duration_s = read_optional(p, "duration_s").value_or(0);
  if (p.contains("count") && p["count"].is_number_unsigned())
    r.plan.count = p["count"].get<std::uint64_t>();
  r.plan.warmup_s = read_optional(p, "warmup_s").value_or(0);
  r.workers = static_cast<int>(read_optional(j, "workers").value_or(0));
  if (!j.contains("shards") || !j["shards"].is_array())
    return malformed("\"shards\" must be an array");
  for (const Json& s : j["shards"]) {
    if (!s.is_number_integer() || s.get<int>() < 0)
      return malformed("\"shards\" must hold shard indexes");
    r.shards.push_back(s.get<int>());
  }
  r.shard_count = static_cast<int>(read_optional(j, "shard_count").value_or(0));
  if (r.shard_count < 1) return malformed("\"shard_count\" must be at least 1");
  for (int s : r.shards)
    if (s >= r.shard_count) return malformed("a shard index is not below shard_count");
  if (!j.contains("window_start_unix_ms") || !j["window_start_unix_ms"].is_number_integer())
    return malformed("\"window_start_unix_ms\" must be an integer");
  r.window_start_unix_ms = j["window_start_unix_ms"].get<std::int64_t>();
  r.elapsed_s = read_optional(j, "elapsed_s").value_or(0);
  if (!j.contains("scheduled") || !j["scheduled"].is_number_unsigned())
    return malformed("\"scheduled\" must be a non-negative integer");
  r.scheduled = j["scheduled"].get<std::uint64_t>();
  if (j.contains("cpu") && j["cpu"].is_object()) {
    r.server_cpu_ms = read_optional(j["cpu"], "server_ms");
    r.generator_cpu_ms = read_optional(j["cpu"], "generator_ms");
    r.cpu_note = j["cpu"].value("note", "");
    if (j["cpu"].contains("floor") && !j["cpu"]["floor"].is_null()) {
      auto floor = CryptoFloor::from_json(j["cpu"]["floor"]);
      if (!floor) return floor.error();
      r.floor = *floor;
    }
  }
  if (j.contains("target_issued") && j["target_issued"].is_number_unsigned())
    r.target_issued = j["target_issued"].get<std::uint64_t>();
  r.interrupted = j.value("interrupted", false);
  if (j.contains("thresholds") && j["thresholds"].is_array()) {
    for (const Json& t : j["thresholds"]) {
      if (!t.is_object()) return malformed("a threshold is not an object");
      r.thresholds.push_back(
          {t.value("expression", ""), t.value("measured", ""), t.value("passed", false)});
    }
  }
  if (!j.contains("stats")) return malformed("no \"stats\"");
  auto stats = LoadStats::from_json(j["stats"]);
  if (!stats) return stats.error();
  r.stats = std::move(*stats);
  return r;
}

Result<LoadRun> merge_load_runs(const std::vector<LoadRun>& runs) {
  if (runs.empty()) return malformed("nothing to merge");
  const LoadRun& first = runs.front();
  std::set<int> seen;
  std::int64_t window_start = first.window_start_unix_ms;
  for (const auto& r : runs) {
    const auto same_plan =
        r.plan.model == first.plan.model && r.plan.rate == first.plan.rate &&
        r.plan.ramp_s == first.plan.ramp_s && r.plan.concurrency == first.plan.concurrency &&
        r.plan.duration_s == first.plan.duration_s && r.plan.count == first.plan.count &&
        r.plan.warmup_s == first.plan.warmup_s;
    if (r.flow != first.flow || !same_plan || r.shard_count != first.shard_count)
      return malformed("only shards of one load merge (same flow, plan and --shard i/N)");
    for (int s : r.shards) {
      if (!seen.insert(s).second)
        return malformed("shard " + std::to_string(s + 1) + "/" + std::to_string(r.shard_count) +
                         " appears twice");
    }
    window_start = std::min(window_start, r.window_start_unix_ms);
  }
  LoadRun out = first;
  out.stats = LoadStats();
  out.stats.timeline_interval_s = first.stats.timeline_interval_s;
  out.shards.assign(seen.begin(), seen.end());
  out.window_start_unix_ms = window_start;
  out.elapsed_s = 0;
  out.scheduled = 0;
  out.server_cpu_ms = 0.0;
  out.generator_cpu_ms = 0.0;
  out.target_issued.reset();
  out.stopped.clear();
  out.interrupted = false;
  out.thresholds.clear();
  std::set<std::string> urls(first.urls.begin(), first.urls.end());
  for (const auto& r : runs) {
    const double offset_s = static_cast<double>(r.window_start_unix_ms - window_start) / 1000.0;
    const auto shift =
        static_cast<std::int64_t>(std::llround(offset_s / out.stats.timeline_interval_s));
    ATTESTLAB_TRY(out.stats.merge(r.stats, shift));
    out.elapsed_s = std::max(out.elapsed_s, offset_s + r.elapsed_s);
    out.scheduled += r.scheduled;
    out.workers = std::max(out.workers, r.workers);
    // Shards of one load watch the same server over (nearly) the same window: its CPU is
    // the largest view, not a sum. Each generator is its own process: those add.
    if (out.server_cpu_ms && r.server_cpu_ms) {
      out.server_cpu_ms = std::max(*out.server_cpu_ms, *r.server_cpu_ms);
    } else {
      out.server_cpu_ms.reset();
    }
    if (out.generator_cpu_ms && r.generator_cpu_ms) {
      *out.generator_cpu_ms += *r.generator_cpu_ms;
    } else {
      out.generator_cpu_ms.reset();
    }
    if (!r.stopped.empty()) out.stopped += (out.stopped.empty() ? "" : "; ") + r.stopped;
    out.interrupted = out.interrupted || r.interrupted;
    for (const auto& u : r.urls)
      if (urls.insert(u).second) out.urls.push_back(u);
  }
  if (runs.size() > 1) out.started_at = first.started_at;
  return out;
}

}  // namespace attestlab::load
