#include "flowdb/config.h"

#include <string>

#include "flowdb/error.h"
#include "flowdb/query.h"

namespace flowdb {

namespace {

// Largest value of a seconds setting whose microsecond form fits in int64.
constexpr uint64_t kMaxSecs = 9'223'372'036'854ULL;

void check_range(const char* field, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v < lo || v > hi) {
    throw Error(Errc::InvalidArgument, std::string("Config.") + field + " = " + std::to_string(v) +
                                           " is out of range; allowed [" + std::to_string(lo) +
                                           ", " + std::to_string(hi) + "]");
  }
}

}  // namespace

void Config::validate() const {
  if (data_dir.empty()) {
    throw Error(Errc::InvalidArgument, "Config.data_dir is empty; it must name a directory");
  }
  if (default_ttl_secs) check_range("default_ttl_secs", *default_ttl_secs, 1, kMaxSecs);
  check_range("gc_interval_secs", gc_interval_secs, 1, kMaxSecs);
  check_range("memtable_size_mb", memtable_size_mb, 1, 4096);
  check_range("max_frozen_memtables", max_frozen_memtables, 1, 64);
  check_range("block_size", block_size, 256, 16u << 20);
  check_range("flush_interval_ms", flush_interval_ms, 1, 86'400'000);
  check_range("time_bucket_secs", time_bucket_secs, 1, kMaxSecs);
  check_range("index_memory_budget_mb", index_memory_budget_mb, 1, 1u << 20);
  check_range("block_cache_capacity_mb", block_cache_capacity_mb, 0, 1u << 20);
  check_range("bloom_bits_per_key", bloom_bits_per_key, 0, 64);
  if (max_open_files != 0) check_range("max_open_files", max_open_files, 1, 1u << 20);
  check_range("wal_segment_size_mb", wal_segment_size_mb, 1, 1u << 16);
  check_range("compaction_threshold", compaction_threshold, 1, 1u << 16);
  check_range("compaction_interval_ms", compaction_interval_ms, 1, 86'400'000ULL * 365);
  if (!wal_sync_mode.is_always()) {
    check_range("wal_sync_mode.interval_ms", wal_sync_mode.interval(), 1, 3'600'000);
  }
  if (compression.kind() == Compression::Kind::Zstd) {
#ifndef FLOWDB_HAVE_ZSTD
    throw Error(Errc::InvalidArgument,
                "Config.compression = zstd, but this build has no zstd (FLOWDB_WITH_ZSTD=OFF); "
                "allowed: none, lz4");
#endif
    check_range("compression.zstd level", static_cast<uint64_t>(compression.level()), 1, 19);
  }
}

ScanRange ScanRange::prefix(std::string p) {
  ScanRange r;
  r.end_key = prefix_successor(p);
  r.start_key = std::move(p);
  return r;
}

ScanRange ScanRange::key_range(std::string start, std::string end) {
  ScanRange r;
  r.start_key = std::move(start);
  if (!end.empty()) r.end_key = std::move(end);  // empty end: no upper bound
  return r;
}

ScanRange ScanRange::time_range(int64_t t0, int64_t t1) {
  ScanRange r;
  r.ts_start = t0;
  r.ts_end = t1;
  return r;
}

ScanRange ScanRange::prefix_time_range(std::string p, int64_t t0, int64_t t1) {
  ScanRange r = prefix(std::move(p));
  r.ts_start = t0;
  r.ts_end = t1;
  return r;
}

ScanRange ScanRange::key_time_range(std::string start, std::string end, int64_t t0, int64_t t1) {
  ScanRange r = key_range(std::move(start), std::move(end));
  r.ts_start = t0;
  r.ts_end = t1;
  return r;
}

std::optional<std::string> prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(s.back());
    if (c != 0xff) {
      ++c;
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

}  // namespace flowdb
