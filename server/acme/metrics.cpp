#include "server/acme/metrics.h"

#include <cstdio>

#include "server/acme/heap_trim.h"

namespace attestlab::server {

std::string_view route_name(Route route) {
  static constexpr std::array<std::string_view, kRouteCount> names = {
      "directory",   "new-nonce",    "new-account", "account", "account-orders", "key-change",
      "new-order",   "order",        "finalize",    "authz",   "challenge",      "cert",
      "revoke-cert", "renewal-info", "healthz",     "metrics", "not-found"};
  return names[static_cast<std::size_t>(route)];
}

std::string_view challenge_kind_name(ChallengeKind kind) {
  static constexpr std::array<std::string_view, kChallengeKindCount> names = {"http-01", "dns-01",
                                                                              "device-attest-01"};
  return names[static_cast<std::size_t>(kind)];
}

namespace {

// Label values come from clients' error reasons; keep the exposition parseable.
std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::size_t Metrics::status_slot(int status) {
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;
}

void Metrics::observe_request(Route route, int status, double seconds) {
  auto& stats = routes_[static_cast<std::size_t>(route)];
  stats.by_status[status_slot(status)].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  if (bucket < kBuckets.size()) stats.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  stats.count.fetch_add(1, std::memory_order_relaxed);
  double nanos = seconds > 0 ? seconds * 1e9 : 0;
  stats.sum_nanos.fetch_add(static_cast<std::uint64_t>(nanos), std::memory_order_relaxed);
}

void Metrics::validation(ChallengeKind kind, bool valid) {
  validations_[static_cast<std::size_t>(kind)][valid ? 0 : 1].fetch_add(1,
                                                                        std::memory_order_relaxed);
}

std::uint64_t Metrics::validations(ChallengeKind kind, bool valid) const {
  return validations_[static_cast<std::size_t>(kind)][valid ? 0 : 1].load(
      std::memory_order_relaxed);
}

std::uint64_t Metrics::requests(Route route, int status) const {
  return routes_[static_cast<std::size_t>(route)].by_status[status_slot(status)].load(
      std::memory_order_relaxed);
}

void Metrics::register_attestation_rules(const std::vector<std::string>& rules) {
  rules_ = rules;
  rule_index_.clear();
  for (std::size_t i = 0; i < rules_.size(); ++i) rule_index_.emplace(rules_[i], i);
  rule_counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(rules_.size() * 2);
  for (std::size_t i = 0; i < rules_.size() * 2; ++i)
    rule_counts_[i].store(0, std::memory_order_relaxed);
}

void Metrics::attestation_decision(std::string_view outcome, std::string_view reason) {
  if (outcome == "accept" || outcome == "reject") {
    auto it = rule_index_.find(std::string(reason));
    if (it != rule_index_.end()) {
      rule_counts_[it->second * 2 + (outcome == "reject" ? 1 : 0)].fetch_add(
          1, std::memory_order_relaxed);
      return;
    }
  }
  std::lock_guard lock(decisions_mutex_);
  ++other_decisions_[{std::string(outcome), std::string(reason)}];
}

std::uint64_t Metrics::attestation_decisions(std::string_view outcome,
                                             std::string_view reason) const {
  if (outcome == "accept" || outcome == "reject") {
    auto it = rule_index_.find(std::string(reason));
    if (it != rule_index_.end()) {
      return rule_counts_[it->second * 2 + (outcome == "reject" ? 1 : 0)].load(
          std::memory_order_relaxed);
    }
  }
  std::lock_guard lock(decisions_mutex_);
  auto it = other_decisions_.find({std::string(outcome), std::string(reason)});
  return it == other_decisions_.end() ? 0 : it->second;
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(8192);
  out += "# HELP attestlab_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE attestlab_http_requests_total counter\n";
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    auto route = route_name(static_cast<Route>(r));
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      auto n = routes_[r].by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      std::string status = kStatuses[s] == 0 ? "other" : std::to_string(kStatuses[s]);
      out += "attestlab_http_requests_total{route=\"";
      out += route;
      out += "\",status=\"" + status + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP attestlab_http_request_duration_seconds Request handling time by route.\n";
  out += "# TYPE attestlab_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    const auto& stats = routes_[r];
    auto count = stats.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string route(route_name(static_cast<Route>(r)));
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += stats.buckets[b].load(std::memory_order_relaxed);
      out += "attestlab_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" +
             format_double(kBuckets[b]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "attestlab_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
           std::to_string(count) + "\n";
    out +=
        "attestlab_http_request_duration_seconds_sum{route=\"" + route + "\"} " +
        format_double(static_cast<double>(stats.sum_nanos.load(std::memory_order_relaxed)) / 1e9) +
        "\n";
    out += "attestlab_http_request_duration_seconds_count{route=\"" + route + "\"} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP attestlab_certificates_issued_total Certificates issued.\n";
  out += "# TYPE attestlab_certificates_issued_total counter\n";
  out += "attestlab_certificates_issued_total " + std::to_string(certificates_issued()) + "\n";
  out += "# HELP attestlab_validations_total Challenge validations by type and outcome.\n";
  out += "# TYPE attestlab_validations_total counter\n";
  for (std::size_t k = 0; k < kChallengeKindCount; ++k) {
    for (int v = 0; v < 2; ++v) {
      out += "attestlab_validations_total{type=\"";
      out += challenge_kind_name(static_cast<ChallengeKind>(k));
      out += v == 0 ? "\",outcome=\"valid\"} " : "\",outcome=\"invalid\"} ";
      out += std::to_string(validations_[k][v].load(std::memory_order_relaxed)) + "\n";
    }
  }
  out += "# HELP attestlab_attestation_decisions_total Device attestation decisions.\n";
  out += "# TYPE attestlab_attestation_decisions_total counter\n";
  std::map<std::pair<std::string, std::string>, std::uint64_t> merged;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    auto accepted = rule_counts_[i * 2].load(std::memory_order_relaxed);
    if (accepted > 0 || rules_[i] == "ok") merged[{"accept", rules_[i]}] = accepted;
    merged[{"reject", rules_[i]}] = rule_counts_[i * 2 + 1].load(std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(decisions_mutex_);
    for (const auto& [key, n] : other_decisions_) merged[key] += n;
  }
  for (const auto& [key, n] : merged) {
    out += "attestlab_attestation_decisions_total{outcome=\"" + escape_label(key.first) +
           "\",reason=\"" + escape_label(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  if (connections_) {
    const http::ConnectionStats stats = connections_();
    out += "# HELP attestlab_http_connections Open HTTP connections.\n";
    out += "# TYPE attestlab_http_connections gauge\n";
    out += "attestlab_http_connections " + std::to_string(stats.open) + "\n";
    out +=
        "# HELP attestlab_http_connections_busy Open HTTP connections owing an answer: a "
        "request read in full and not yet answered.\n";
    out += "# TYPE attestlab_http_connections_busy gauge\n";
    out += "attestlab_http_connections_busy " + std::to_string(stats.busy) + "\n";
    out +=
        "# HELP attestlab_http_connections_refused_total Connections closed at accept: "
        "behind (waited longer than the accept bound), busy (the bound on connections "
        "owing an answer) or full (max_connections, or the per-address cap).\n";
    out += "# TYPE attestlab_http_connections_refused_total counter\n";
    for (const auto& [reason, n] :
         {std::pair{"behind", stats.refused_behind}, std::pair{"busy", stats.refused_busy},
          std::pair{"full", stats.refused_full}}) {
      out += std::string("attestlab_http_connections_refused_total{reason=\"") + reason + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  if (const auto heap = HeapTrimmer::heap()) {
    out += "# HELP attestlab_process_heap_bytes The allocator's heap: in use, and free but kept.\n";
    out += "# TYPE attestlab_process_heap_bytes gauge\n";
    out += "attestlab_process_heap_bytes{state=\"in_use\"} " + std::to_string(heap->in_use) + "\n";
    out += "attestlab_process_heap_bytes{state=\"free\"} " + std::to_string(heap->free) + "\n";
  }
  if (heap_trims_) {
    const HeapTrims trims = heap_trims_();
    out += "# HELP attestlab_heap_trims_total Free heap given back to the system (malloc_trim).\n";
    out += "# TYPE attestlab_heap_trims_total counter\n";
    out += "attestlab_heap_trims_total " + std::to_string(trims.trims) + "\n";
    out += "# HELP attestlab_heap_trim_seconds_total Time spent giving free heap back.\n";
    out += "# TYPE attestlab_heap_trim_seconds_total counter\n";
    out += "attestlab_heap_trim_seconds_total " +
           format_double(static_cast<double>(trims.nanos) / 1e9) + "\n";
  }
  return out;
}

}  // namespace attestlab::server
