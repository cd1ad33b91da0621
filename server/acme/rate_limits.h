// Quotas (RFC 8555 §6.6 rateLimited, after Boulder's limits): per account, per client IP
// and per device identifier, counted in fixed one-hour windows in this process's memory
// (processes sharing a store each enforce the full quota). Thread-safe.
//
// The limits come from ServerConfig::limits, which the "limits" member of the policy file
// (`serve --policy FILE`) overrides member by member:
//   "limits": {"new_orders_per_account_per_hour": 100000,
//              "new_orders_per_identifier_per_hour": 10000,
//              "new_accounts_per_ip_per_hour": 10000,
//              "failed_validations_per_account_per_hour": 10000,
//              "pending_authorizations_per_account": 10000}
// The pending-authorizations quota is a count in the store, not an hourly window: it holds
// across processes sharing the store.
// A limit of 0 switches that quota off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/http.h"
#include "core/json.h"
#include "core/result.h"
#include "server/config.h"

namespace attestlab::server {

// Reads the "limits" member of a policy document over `defaults`; unknown members and
// values that are not non-negative integers are Error("malformed").
Result<RateLimits> rate_limits_from_json(const Json& policy, RateLimits defaults);
// rate_limits_from_json of the file at `path` (empty: the defaults).
Result<RateLimits> load_rate_limits(const std::string& path, RateLimits defaults);
Json rate_limits_json(const RateLimits& limits);

class RateLimiter {
 public:
  static constexpr std::int64_t kWindow = 3600;
  static constexpr std::size_t kDefaultSweepAt = 200000;

  // `sweep_at`: the number of keys at which windows that ended are first dropped.
  explicit RateLimiter(std::size_t sweep_at = kDefaultSweepAt)
      : min_sweep_at_(sweep_at), sweep_at_(sweep_at) {}

  // Counts one event for `key` if its window has room under `limit` (0 = unlimited):
  // 0 when counted, else the seconds until the window has room again.
  std::int64_t take(const std::string& key, int limit, std::int64_t now);
  // The same check without counting, and counting without a check (for events that are
  // only known after the fact, like failed validations).
  std::int64_t wait_for(const std::string& key, int limit, std::int64_t now);
  void add(const std::string& key, std::int64_t now);

  // Keys held, and how many sweeps for ended windows have run (for tests and metrics).
  std::size_t keys();
  std::size_t sweeps();

 private:
  struct Window {
    std::int64_t start = 0;
    int count = 0;
  };
  Window& window_of(const std::string& key, std::int64_t now);  // mutex_ held

  // Windows that ended are dropped when the map reaches sweep_at_ keys; the next sweep
  // waits until it holds twice what the last one kept (at least min_sweep_at_), so a map
  // of windows that are all still live costs one sweep per doubling, not one per new key.
  const std::size_t min_sweep_at_;
  std::size_t sweep_at_;
  std::size_t sweeps_ = 0;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
};

// The rateLimited problem response (429, Retry-After) for a quota: `what` names it.
http::Response rate_limited_response(const std::string& what, int limit, std::int64_t retry_after);

}  // namespace attestlab::server
