// When a store may delete nonce records (both stores): a nonce older than every max_age a
// caller has used can never be accepted, so it may be purged; until the first
// consume_nonce call, the assumed max_age is a day. Purges run once every 1000 puts.
// Not thread-safe: the store calls it under its own lock.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

namespace attestlab::server {

class NoncePurgePolicy {
 public:
  // now - age without overflow; negative ages count as 0.
  static std::int64_t cutoff(std::int64_t now, std::int64_t age) {
    if (age < 0) age = 0;
    if (now < std::numeric_limits<std::int64_t>::min() + age) {
      return std::numeric_limits<std::int64_t>::min();
    }
    return now - age;
  }

  // Every consume_nonce reports its max_age.
  void saw_max_age(std::int64_t max_age_seconds) {
    if (!max_age_seen_ || max_age_seconds > retention_seconds_) {
      retention_seconds_ = max_age_seconds < 0 ? 0 : max_age_seconds;
      max_age_seen_ = true;
    }
  }

  // After each stored nonce: the creation time below which records may be deleted now,
  // or nothing when it is not yet time to purge.
  std::optional<std::int64_t> after_put(std::int64_t now) {
    if (++puts_since_purge_ < kPutsBetweenPurges) return std::nullopt;
    puts_since_purge_ = 0;
    return cutoff(now, retention_seconds_);
  }

 private:
  static constexpr int kPutsBetweenPurges = 1000;
  std::int64_t retention_seconds_ = 24 * 3600;
  bool max_age_seen_ = false;
  int puts_since_purge_ = 0;
};

}  // namespace attestlab::server
