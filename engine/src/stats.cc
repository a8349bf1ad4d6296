#include "stats.h"

#include <bit>
#include <cstdio>

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

void LatencyHistogram::append_prometheus(PrometheusText* out, const std::string& name,
                                         const std::string& help) const {
  static constexpr double kBounds[] = {1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3,
                                       1e-2, 5e-2, 0.1,  0.5,  1,    5};
  out->family(name, "histogram", help);
  const std::string bucket = name + "_bucket";
  for (double bound : kBounds) {
    uint64_t limit_us = static_cast<uint64_t>(bound * 1e6), n = 0;
    for (int b = 0; b < kBuckets; ++b) {
      if (upper_bound(b) <= limit_us) n += buckets_[b].load(std::memory_order_relaxed);
    }
    char le[48];
    std::snprintf(le, sizeof le, "le=\"%g\"", bound);
    out->sample(bucket, le, static_cast<double>(n));
  }
  out->sample(bucket, "le=\"+Inf\"", static_cast<double>(count()));
  out->sample(name + "_sum", {}, static_cast<double>(sum()) / 1e6);
  out->sample(name + "_count", {}, static_cast<double>(count()));
}

}  // namespace flowdb
