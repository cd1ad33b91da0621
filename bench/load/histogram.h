// A latency histogram in HdrHistogram's log-linear layout, written for the load generator:
// bounded relative error, fixed memory, and exact merging (shards add bucket by bucket, so
// merge(a, b) equals the histogram of the union of their samples, min/max/sum included).
//
// Layout: values are non-negative integers (the load generator records microseconds).
// Values below 2^kSubBucketBits (256) have a bucket each (exact). Above, every power-of-two
// range [2^m, 2^(m+1)) is split into 2^(kSubBucketBits-1) (128) equal buckets, so a
// bucket's width is at most 1/128 of its lowest value. Percentiles report the bucket's
// midpoint (clamped to the recorded min/max), hence
//   |percentile(p) - exact nearest-rank percentile| <= kRelativeError * exact   (1/256).
//
// Value type; not synchronized (one writer, or external locking).
#pragma once

#include <cstdint>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::load {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 8;
  static constexpr double kRelativeError = 1.0 / 256.0;
  // Highest bucket index + 1 (values up to 2^64 - 1).
  static constexpr std::size_t kBucketCount =
      (std::size_t{1} << kSubBucketBits) +
      (64 - kSubBucketBits) * (std::size_t{1} << (kSubBucketBits - 1));

  void record(std::uint64_t value, std::uint64_t times = 1);
  void merge(const Histogram& other);
  void clear() { *this = Histogram(); }

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t sum() const { return sum_; }  // saturates at 2^64 - 1
  double mean() const;
  // Nearest-rank percentile, p in [0, 100] (clamped): the bucket holding the sample of
  // rank ceil(p/100 * count), reported as its midpoint within [min, max]; p 0 gives min,
  // p 100 gives max exactly. 0 for an empty histogram.
  std::uint64_t percentile(double p) const;

  // Which bucket a value falls in, and the values a bucket holds ([lowest, highest]).
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_lowest(std::size_t index);
  static std::uint64_t bucket_highest(std::size_t index);

  // {"count","min","max","sum","sub_bucket_bits":8,"buckets":[[index,count],...]} with
  // only non-empty buckets, in index order.
  Json to_json() const;
  // Strict: Error("malformed", why) for anything to_json would not write (unknown layout,
  // bucket out of range or repeated, counts that do not add up, min/max outside the
  // buckets).
  static Result<Histogram> from_json(const Json& j);

  bool operator==(const Histogram& other) const;

 private:
  std::vector<std::uint64_t> counts_;  // grows up to the highest bucket used
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace attestlab::load
