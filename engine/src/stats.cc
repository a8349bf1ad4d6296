#include "stats.h"

#include <bit>

namespace flowdb {

int LatencyHistogram::bucket_for(uint64_t us) {
  if (us < 4) return static_cast<int>(us);
  int log = 63 - std::countl_zero(us);                // >= 2
  int sub = static_cast<int>((us >> (log - 2)) & 3);  // next two bits
  int b = 4 + (log - 2) * 4 + sub;
  return b < kBuckets ? b : kBuckets - 1;
}

uint64_t LatencyHistogram::upper_bound(int b) {
  if (b < 4) return static_cast<uint64_t>(b);
  int log = (b - 4) / 4 + 2, sub = (b - 4) % 4;
  return ((uint64_t{4} + sub + 1) << (log - 2)) - 1;
}

void LatencyHistogram::record(uint64_t us) {
  buckets_[bucket_for(us)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(us, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::percentile(double p) const {
  uint64_t total = count();
  if (total == 0) return 0;
  uint64_t want = static_cast<uint64_t>(p / 100.0 * static_cast<double>(total) + 0.5);
  if (want == 0) want = 1;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= want) return upper_bound(b);
  }
  return upper_bound(kBuckets - 1);
}

LatencyStats LatencyHistogram::snapshot() const {
  LatencyStats s;
  s.count = count();
  s.sum_us = sum();
  for (int b = 0; b < kBuckets; ++b) {
    const uint64_t n = buckets_[b].load(std::memory_order_relaxed);
    if (n == 0) continue;
    s.upper_bounds_us.push_back(upper_bound(b));
    s.counts.push_back(n);
  }
  return s;
}

}  // namespace flowdb
