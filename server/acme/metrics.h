// Prometheus counters and histograms of the ACME server, rendered as text exposition
// format 0.0.4 at GET /metrics. Updates are relaxed atomics on label sets fixed before
// serving (routes, statuses, challenge types compiled in; attestation rule ids registered
// once at start-up); only a decision naming an unregistered rule takes a mutex.
// Thread-safe, except register_attestation_rules (call it before serving).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/http.h"

namespace attestlab::server {

// Every route the server answers; the metric label is route_name().
enum class Route : std::uint8_t {
  Directory,
  NewNonce,
  NewAccount,
  Account,
  AccountOrders,
  KeyChange,
  NewOrder,
  Order,
  Finalize,
  Authz,
  Challenge,
  Certificate,
  RevokeCert,
  RenewalInfo,
  Healthz,
  Metrics,
  NotFound,
};
inline constexpr std::size_t kRouteCount = 17;
std::string_view route_name(Route route);

enum class ChallengeKind : std::uint8_t { Http01, Dns01, DeviceAttest01 };
inline constexpr std::size_t kChallengeKindCount = 3;
std::string_view challenge_kind_name(ChallengeKind kind);

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void observe_request(Route route, int status, double seconds);
  void certificate_issued() { certificates_issued_.fetch_add(1, std::memory_order_relaxed); }
  void validation(ChallengeKind kind, bool valid);

  // Pre-registers one counter per (outcome, rule) for outcomes "accept" and "reject" so
  // decisions on these rules are lock-free. Not thread-safe: call once before serving.
  void register_attestation_rules(const std::vector<std::string>& rules);

  // Counts one device-attestation decision (the DeviceAttestValidator decision hook
  // calls this). outcome: "accept" | "reject"; reason: the deciding rule id.
  void attestation_decision(std::string_view outcome, std::string_view reason);
  std::uint64_t attestation_decisions(std::string_view outcome, std::string_view reason) const;

  // The HTTP server's connections (open and busy; refused at accept, by reason), read at
  // each render (AcmeServer sets it once its HTTP server runs). Not thread-safe: set it
  // before serving.
  void set_connections(std::function<http::ConnectionStats()> read) {
    connections_ = std::move(read);
  }
  // Counters of the heap trimmer (server/acme/heap_trim.h): trims made and nanoseconds spent
  // in them, read at each render. Not thread-safe: set it before serving.
  struct HeapTrims {
    std::uint64_t trims = 0, nanos = 0;
  };
  void set_heap_trims(std::function<HeapTrims()> read) { heap_trims_ = std::move(read); }

  // The whole exposition, including the process-wide attestation decisions below, the
  // connections gauge and the process's heap (glibc's mallinfo2: bytes in use, and bytes
  // free but kept by the allocator, which resident memory includes).
  std::string render() const;

  std::uint64_t certificates_issued() const {
    return certificates_issued_.load(std::memory_order_relaxed);
  }
  std::uint64_t validations(ChallengeKind kind, bool valid) const;
  std::uint64_t requests(Route route, int status) const;

 private:
  static constexpr std::array<int, 15> kStatuses = {200, 201, 204, 400, 401, 403, 404, 405,
                                                    409, 413, 415, 429, 500, 503, 0};
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  static std::size_t status_slot(int status);

  struct RouteStats {
    std::array<std::atomic<std::uint64_t>, kStatuses.size()> by_status{};
    std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets{};  // non-cumulative
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_nanos{0};
  };
  std::array<RouteStats, kRouteCount> routes_{};
  std::atomic<std::uint64_t> certificates_issued_{0};
  std::array<std::array<std::atomic<std::uint64_t>, 2>, kChallengeKindCount> validations_{};
  std::vector<std::string> rules_;
  std::unordered_map<std::string, std::size_t> rule_index_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> rule_counts_;  // [rule * 2 + reject]
  mutable std::mutex decisions_mutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> other_decisions_;
  std::function<http::ConnectionStats()> connections_;
  std::function<HeapTrims()> heap_trims_;
};

}  // namespace attestlab::server
