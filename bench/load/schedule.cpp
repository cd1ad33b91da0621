#include "bench/load/schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attestlab::load {
namespace {

// N(t) is computed in floating point; an index exactly at a boundary must not flip.
constexpr double kEpsilon = 1e-9;

std::uint64_t ceil_index(double x) {
  if (!(x > 0)) return 0;
  if (!(x < 1.8e19)) return std::numeric_limits<std::uint64_t>::max();  // also infinity
  return static_cast<std::uint64_t>(std::ceil(x - kEpsilon));
}

}  // namespace

Schedule::Schedule(LoadPlan plan) : plan_(plan) {
  plan_.shard_count = std::max(1, plan_.shard_count);
  plan_.shard_index = std::clamp(plan_.shard_index, 0, plan_.shard_count - 1);
  if (plan_.model == Model::Open) {
    first_measured_ = ceil_index(arrivals_by(plan_.warmup_s));
    if (plan_.count) {
      end_ = first_measured_ + *plan_.count;
    } else {
      end_ = std::max(first_measured_, ceil_index(arrivals_by(plan_.warmup_s + plan_.duration_s)));
    }
  } else if (plan_.count) {
    end_ = *plan_.count;  // closed: counts measured enrollments only
  }
}

double Schedule::arrivals_by(double t) const {
  const double r = plan_.rate;
  const double ramp = plan_.ramp_s;
  if (!(t > 0) || !(r > 0)) return 0;
  if (ramp > 0 && t < ramp) return r * t * t / (2 * ramp);
  return (ramp > 0 ? r * ramp / 2 : 0) + r * (t - std::max(0.0, ramp));
}

double Schedule::offset_of(std::uint64_t k) const {
  const double r = plan_.rate;
  const double ramp = plan_.ramp_s;
  if (!(r > 0)) return 0;
  const double kd = static_cast<double>(k);
  if (ramp > 0) {
    const double during_ramp = r * ramp / 2;
    if (kd < during_ramp) return std::sqrt(2 * ramp * kd / r);
    return ramp + (kd - during_ramp) / r;
  }
  return kd / r;
}

std::optional<Slot> Schedule::open_slot(std::uint64_t j) const {
  const auto n = static_cast<std::uint64_t>(plan_.shard_count);
  const std::uint64_t k = static_cast<std::uint64_t>(plan_.shard_index) + j * n;
  if (end_ && k >= *end_) return std::nullopt;
  return Slot{k, offset_of(k), k >= first_measured_};
}

std::uint64_t Schedule::shard_share(std::uint64_t a, std::uint64_t b) const {
  if (b <= a) return 0;
  const auto n = static_cast<std::uint64_t>(plan_.shard_count);
  const auto i = static_cast<std::uint64_t>(plan_.shard_index);
  // Indexes ≡ i below x: ceil((x - i) / n) for x > i, else 0.
  const auto below = [&](std::uint64_t x) -> std::uint64_t {
    return x > i ? (x - i + n - 1) / n : 0;
  };
  return below(b) - below(a);
}

std::uint64_t Schedule::measured_due_before(double t) const {
  std::uint64_t due = ceil_index(arrivals_by(t));
  if (end_) due = std::min(due, *end_);
  return shard_share(first_measured_, due);
}

std::optional<double> Schedule::end_offset_s() const {
  if (plan_.model == Model::Open) {
    if (plan_.count) return *end_ == 0 ? 0.0 : offset_of(*end_ - 1);
    return plan_.warmup_s + plan_.duration_s;
  }
  if (plan_.count) return std::nullopt;
  return plan_.warmup_s + plan_.duration_s;
}

int Schedule::shard_concurrency() const {
  const int n = plan_.shard_count;
  const int share = plan_.concurrency / n + (plan_.shard_index < plan_.concurrency % n ? 1 : 0);
  return std::max(1, share);
}

std::optional<std::uint64_t> Schedule::shard_measured_count() const {
  if (!plan_.count) return std::nullopt;
  return shard_share(0, *plan_.count);
}

}  // namespace attestlab::load
