#include "server/acme/rate_limits.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/pki.h"
#include "server/acme/problem.h"

namespace attestlab::server {

namespace {

using Member = std::pair<const char*, int RateLimits::*>;
constexpr std::array<Member, 5> kMembers = {{
    {"new_orders_per_account_per_hour", &RateLimits::new_orders_per_account_per_hour},
    {"new_orders_per_identifier_per_hour", &RateLimits::new_orders_per_identifier_per_hour},
    {"new_accounts_per_ip_per_hour", &RateLimits::new_accounts_per_ip_per_hour},
    {"failed_validations_per_account_per_hour",
     &RateLimits::failed_validations_per_account_per_hour},
    {"pending_authorizations_per_account", &RateLimits::pending_authorizations_per_account},
}};

}  // namespace

Result<RateLimits> rate_limits_from_json(const Json& policy, RateLimits defaults) {
  if (!policy.is_object() || !policy.contains("limits")) return defaults;
  const Json& limits = policy["limits"];
  if (!limits.is_object()) return Error::make("malformed", "limits: must be an object");
  for (const auto& [key, value] : limits.items()) {
    if (!key.empty() && key[0] == '_') continue;  // comment
    const Member* member = nullptr;
    for (const auto& m : kMembers) {
      if (key == m.first) member = &m;
    }
    if (member == nullptr) return Error::make("malformed", "limits." + key + ": unknown limit");
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
        value.get<std::int64_t>() > 1000000000) {
      return Error::make("malformed", "limits." + key + ": must be an integer from 0 (off)");
    }
    defaults.*(member->second) = value.get<int>();
  }
  return defaults;
}

Result<RateLimits> load_rate_limits(const std::string& path, RateLimits defaults) {
  if (path.empty()) return defaults;
  auto text = pki::read_file(path);
  if (!text) return Error::make("malformed", "policy " + path + ": " + text.error().detail);
  auto doc = parse_json(*text);
  if (!doc) return Error::make("malformed", "policy " + path + ": " + doc.error().detail);
  auto limits = rate_limits_from_json(*doc, defaults);
  if (!limits) return Error::make("malformed", "policy " + path + ": " + limits.error().detail);
  return limits;
}

Json rate_limits_json(const RateLimits& limits) {
  Json out = Json::object();
  for (const auto& [name, member] : kMembers) out[name] = limits.*member;
  return out;
}

RateLimiter::Window& RateLimiter::window_of(const std::string& key, std::int64_t now) {
  if (windows_.size() >= sweep_at_) {
    // Windows that ended hold no information; dropping them keeps the map to the keys seen
    // within the last hour. Live windows stay: dropping one would reset its quota.
    std::erase_if(windows_,
                  [now](const auto& entry) { return now - entry.second.start >= kWindow; });
    sweep_at_ = std::max(min_sweep_at_, 2 * windows_.size());
    ++sweeps_;
  }
  Window& w = windows_[key];
  if (w.count == 0 || now - w.start >= kWindow) w = Window{now, 0};
  return w;
}

std::int64_t RateLimiter::take(const std::string& key, int limit, std::int64_t now) {
  if (limit <= 0) return 0;
  std::lock_guard lock(mutex_);
  Window& w = window_of(key, now);
  if (w.count >= limit) return std::max<std::int64_t>(1, w.start + kWindow - now);
  ++w.count;
  return 0;
}

std::int64_t RateLimiter::wait_for(const std::string& key, int limit, std::int64_t now) {
  if (limit <= 0) return 0;
  std::lock_guard lock(mutex_);
  Window& w = window_of(key, now);
  if (w.count >= limit) return std::max<std::int64_t>(1, w.start + kWindow - now);
  return 0;
}

void RateLimiter::add(const std::string& key, std::int64_t now) {
  std::lock_guard lock(mutex_);
  ++window_of(key, now).count;
}

std::size_t RateLimiter::keys() {
  std::lock_guard lock(mutex_);
  return windows_.size();
}

std::size_t RateLimiter::sweeps() {
  std::lock_guard lock(mutex_);
  return sweeps_;
}

http::Response rate_limited_response(const std::string& what, int limit, std::int64_t retry_after) {
  auto response = problem_response(Error::make(
      "rateLimited", what + ": at most " + std::to_string(limit) + " per hour; retry in " +
                         std::to_string(retry_after) + " seconds"));
  response.set("Retry-After", std::to_string(retry_after));
  return response;
}

}  // namespace attestlab::server
