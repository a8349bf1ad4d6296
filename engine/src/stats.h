// Latency histograms and the engine's counters. Thread-safe (atomics).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "flowdb/stats.h"

namespace flowdb {

// Monotonic microseconds, for latency measurements.
inline uint64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Log-linear histogram of microsecond latencies: 4 sub-buckets per power of
// two up to ~2^40 us. Percentiles are accurate to within 25%.
class LatencyHistogram {
 public:
  void record(uint64_t us);
  // p in (0, 100]; 0 when empty. Returns the upper bound of the bucket.
  uint64_t percentile(double p) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  // The buckets holding samples, with the count and sum.
  LatencyStats snapshot() const;

 private:
  static constexpr int kBuckets = 168;
  static int bucket_for(uint64_t us);
  static uint64_t upper_bound(int b);
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
};

struct EngineCounters {
  std::atomic<uint64_t> records_written{0}, bytes_written{0}, records_read{0}, records_expired{0};
  std::atomic<uint64_t> flushes{0}, gc_runs{0}, compactions{0}, gc_records{0}, gc_bytes{0};
  std::atomic<uint64_t> compaction_bytes_in{0}, compaction_bytes_out{0};
  std::atomic<uint64_t> files_opened{0}, wal_syncs{0}, write_stalls{0};
  LatencyHistogram write_latency, query_latency, flush_latency;
};

}  // namespace flowdb
