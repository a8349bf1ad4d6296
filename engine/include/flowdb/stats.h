// EngineStats: a point-in-time snapshot of engine counters and gauges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowdb/error.h"

namespace flowdb {

// A background error: a failed WAL append or sync, flush or manifest write
// that stopped the write path (RocksDB's ErrorHandler). While one is set,
// writes and flush() fail fast with its Errc; reads keep working.
struct BackgroundError {
  enum class Severity {
    None,   // no error: writes are accepted
    Soft,   // NoSpace: retried automatically with backoff (auto_background)
            // and by Engine::resume(); nothing acknowledged is lost
    Hard,   // another I/O error: only an explicit Engine::resume() retries
    Fatal,  // corruption or an unknown failure: reopen the engine
  };
  Severity severity = Severity::None;
  Errc code = Errc::Io;          // meaningful when severity != None
  std::string message;           // the failed operation's what()
  uint64_t resume_attempts = 0;  // failed resumes of this error
};

// "none", "soft", "hard" or "fatal".
std::string_view severity_name(BackgroundError::Severity s) noexcept;

// A latency distribution in microseconds, as the engine's log-linear
// histogram holds it (4 buckets per power of two). Only buckets holding
// samples are listed; bucket i holds the samples above the bound of the
// bucket before it (listed or not) up to upper_bounds_us[i].
struct LatencyStats {
  std::vector<uint64_t> upper_bounds_us;  // ascending
  std::vector<uint64_t> counts;           // samples per bucket, not cumulative
  uint64_t count = 0;                     // all samples
  uint64_t sum_us = 0;                    // of all samples

  // Samples <= bound_us (a cumulative histogram bucket, e.g. Prometheus'
  // `le`), counting whole engine buckets whose upper bound is <= bound_us.
  uint64_t count_at_most(uint64_t bound_us) const {
    uint64_t n = 0;
    for (size_t i = 0; i < upper_bounds_us.size() && upper_bounds_us[i] <= bound_us; ++i) {
      n += counts[i];
    }
    return n;
  }
};

struct EngineStats {
  // Counters since open.
  uint64_t total_records_written = 0;
  uint64_t total_bytes_written = 0;  // logical key+value bytes
  uint64_t total_records_read = 0;
  uint64_t total_records_expired = 0;  // skipped by reads because expired
  uint64_t total_flushes = 0;
  uint64_t total_gc_runs = 0;
  uint64_t total_compaction_runs = 0;
  uint64_t records_purged_by_gc = 0;
  uint64_t bytes_purged_by_gc = 0;
  uint64_t compaction_bytes_in = 0;
  uint64_t compaction_bytes_out = 0;
  uint64_t files_opened_by_reads = 0;  // SST files consulted by reads
  uint64_t blocks_read = 0;            // data blocks consulted by reads (cache or disk)
  uint64_t blocks_read_from_disk = 0;
  uint64_t bloom_filter_skips = 0;
  uint64_t wal_syncs = 0;
  uint64_t write_stalls = 0;  // writers that waited for a flush
  // Gauges.
  size_t memtable_records = 0;
  size_t memtable_bytes = 0;
  size_t frozen_memtable_count = 0;
  size_t sstable_count = 0;
  uint64_t sstable_bytes = 0;
  uint64_t wal_bytes = 0;  // of the active segment; read_only: of every replayed segment
  size_t block_meta_index_entries = 0;  // data blocks indexed across live SSTs
  size_t time_index_buckets = 0;        // buckets with at least one SST
  size_t range_tombstones = 0;
  uint64_t block_cache_bytes = 0;
  double block_cache_hit_rate = 0.0;
  double compression_ratio = 1.0;  // uncompressed / stored block bytes
  uint64_t write_latency_p50_us = 0, write_latency_p90_us = 0, write_latency_p99_us = 0;
  uint64_t query_latency_p50_us = 0, query_latency_p90_us = 0, query_latency_p99_us = 0;
  uint64_t flush_latency_p50_us = 0, flush_latency_p90_us = 0, flush_latency_p99_us = 0;
  LatencyStats write_latency;  // of write calls
  LatencyStats query_latency;  // of point reads
  LatencyStats flush_latency;  // of memtable flushes
  uint64_t uptime_secs = 0;
  uint64_t last_sequence = 0;
  BackgroundError background_error;  // severity None when healthy
  uint64_t background_errors = 0;    // times the write path stopped, since open
  uint64_t background_resumes = 0;   // successful resumes, since open
};

// Summary of one time bucket's SST files (for retention).
struct BucketInfo {
  int64_t bucket = 0;    // ts / time_bucket (floor division)
  int64_t start_ts = 0;  // first microsecond of the bucket
  int64_t end_ts = 0;    // last microsecond of the bucket
  size_t files = 0;
  uint64_t bytes = 0;
  uint64_t records = 0;            // entries stored (puts and tombstones)
  int64_t min_ts = 0, max_ts = 0;  // of the stored entries
  int64_t max_expire_at = 0;       // largest expire_at of its puts
};

struct GcResult {
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t files = 0;
};

}  // namespace flowdb
