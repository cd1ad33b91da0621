#include "bench/load/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace attestlab::load {
namespace {

constexpr int kSub = Histogram::kSubBucketBits;
constexpr std::uint64_t kExact = std::uint64_t{1} << kSub;       // 256 exact buckets
constexpr std::uint64_t kHalf = std::uint64_t{1} << (kSub - 1);  // 128 per octave

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a)
    return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

}  // namespace

std::size_t Histogram::bucket_of(std::uint64_t value) {
  if (value < kExact) return static_cast<std::size_t>(value);
  const int msb = std::bit_width(value) - 1;  // >= kSub
  const int shift = msb - (kSub - 1);
  const std::uint64_t sub = value >> shift;  // in [kHalf, 2 * kHalf)
  return static_cast<std::size_t>(kExact + static_cast<std::uint64_t>(msb - kSub) * kHalf +
                                  (sub - kHalf));
}

std::uint64_t Histogram::bucket_lowest(std::size_t index) {
  if (index < kExact) return index;
  const std::uint64_t rest = index - kExact;
  const int msb = static_cast<int>(rest / kHalf) + kSub;
  const int shift = msb - (kSub - 1);
  const std::uint64_t sub = kHalf + rest % kHalf;
  return sub << shift;
}

std::uint64_t Histogram::bucket_highest(std::size_t index) {
  if (index < kExact) return index;
  const std::uint64_t rest = index - kExact;
  const int msb = static_cast<int>(rest / kHalf) + kSub;
  const int shift = msb - (kSub - 1);
  return bucket_lowest(index) + ((std::uint64_t{1} << shift) - 1);
}

void Histogram::record(std::uint64_t value, std::uint64_t times) {
  if (times == 0) return;
  const std::size_t index = bucket_of(value);
  if (counts_.size() <= index) counts_.resize(index + 1, 0);
  counts_[index] += times;
  if (count_ == 0 || value < min_) min_ = value;
  if (value > max_) max_ = value;
  count_ += times;
  sum_ = saturating_add(sum_, saturating_mul(value, times));
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (counts_.size() < other.counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (std::size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ = saturating_add(sum_, other.sum_);
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

std::uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (!(p > 0)) return min_;  // also NaN
  if (p >= 100) return max_;
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t lo = bucket_lowest(i);
      const std::uint64_t mid = lo + (bucket_highest(i) - lo) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

bool Histogram::operator==(const Histogram& other) const {
  if (count_ != other.count_ || min() != other.min() || max_ != other.max_ || sum_ != other.sum_)
    return false;
  const std::size_t n = std::max(counts_.size(), other.counts_.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t a = i < counts_.size() ? counts_[i] : 0;
    const std::uint64_t b = i < other.counts_.size() ? other.counts_[i] : 0;
    if (a != b) return false;
  }
  return true;
}

Json Histogram::to_json() const {
  Json buckets = Json::array();
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) buckets.push_back(Json::array({i, counts_[i]}));
  }
  return Json{{"count", count_},
              {"min", min()},
              {"max", max_},
              {"sum", sum_},
              {"sub_bucket_bits", static_cast<unsigned>(kSub)},
              {"buckets", std::move(buckets)}};
}

Result<Histogram> Histogram::from_json(const Json& j) {
  const auto bad = [](const std::string& why) {
    return Error::make("malformed", "histogram: " + why);
  };
  if (!j.is_object()) return bad("not an object");
  for (const char* key : {"count", "min", "max", "sum", "sub_bucket_bits"}) {
    if (!j.contains(key) || !j[key].is_number_unsigned())
      return bad(std::string("\"") + key + "\" must be a non-negative integer");
  }
  if (j["sub_bucket_bits"].get<int>() != kSub)
    return bad("sub_bucket_bits " + j["sub_bucket_bits"].dump() + " is not " +
               std::to_string(kSub));
  if (!j.contains("buckets") || !j["buckets"].is_array())
    return bad("\"buckets\" must be an array");
  Histogram h;
  std::size_t previous = 0;
  bool first = true;
  for (const Json& b : j["buckets"]) {
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() || !b[1].is_number_unsigned())
      return bad("a bucket must be [index, count]");
    const auto index = b[0].get<std::uint64_t>();
    const auto n = b[1].get<std::uint64_t>();
    if (index >= kBucketCount)
      return bad("bucket index " + std::to_string(index) + " out of range");
    if (!first && index <= previous) return bad("bucket indexes must increase");
    if (n == 0) return bad("empty buckets are not written");
    if (n > std::numeric_limits<std::uint64_t>::max() - h.count_) return bad("counts overflow");
    first = false;
    previous = static_cast<std::size_t>(index);
    if (h.counts_.size() <= previous) h.counts_.resize(previous + 1, 0);
    h.counts_[previous] = n;
    h.count_ += n;
  }
  if (h.count_ != j["count"].get<std::uint64_t>())
    return bad("bucket counts do not add up to count");
  h.min_ = j["min"].get<std::uint64_t>();
  h.max_ = j["max"].get<std::uint64_t>();
  h.sum_ = j["sum"].get<std::uint64_t>();
  if (h.count_ == 0) {
    if (h.min_ != 0 || h.max_ != 0 || h.sum_ != 0)
      return bad("an empty histogram has min/max/sum 0");
    return h;
  }
  // min and max must lie in the lowest and highest non-empty buckets.
  std::size_t lo = 0;
  while (h.counts_[lo] == 0) ++lo;
  const std::size_t hi = h.counts_.size() - 1;
  if (bucket_of(h.min_) != lo || bucket_of(h.max_) != hi)
    return bad("min/max do not fall in the first/last non-empty bucket");
  return h;
}

}  // namespace attestlab::load
