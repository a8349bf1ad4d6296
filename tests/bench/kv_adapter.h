// Common interface over the engines compared by flowdb-bench.
//
// Every engine sees the same logical operation stream of (series, ts, value)
// points. FlowDB receives (series key, ts) natively; the key-value engines
// (RocksDB, LevelDB) store key = 16-byte series id + 8-byte big-endian ts
// (sign bit flipped so that negative ts sort first). In "plain KV" mode
// (fillseq / fillrandom) the KV engines store the 16-byte key alone and FlowDB
// stores (key, ts = 0).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace bench {

enum class TtlMode {
  None,
  Native,        // FlowDB: Config::default_ttl_secs + background GC
  RocksFifo,     // RocksDB: FIFO compaction with options.ttl
  RocksFilter,   // RocksDB: leveled + compaction filter (+ options.ttl)
  PerKeyDelete,  // the workload issues a delete per expired key (LevelDB)
};

struct AdapterOptions {
  std::string dir;
  size_t memtable_mb = 64;
  size_t cache_mb = 128;
  int bloom_bits = 10;
  bool sync = false;    // durability of write(): fsync per batch or not
  bool ts_keys = true;  // false = plain KV keys (fill workloads)
  TtlMode ttl = TtlMode::None;
  uint64_t ttl_secs = 0;
  uint64_t time_bucket_secs = 3600;  // FlowDB only
  // Simulated clock (microseconds since the epoch) for TTL workloads; null =
  // the system clock. Given to FlowDB as Config::clock, to RocksDB through an
  // Env whose SystemClock returns it, and used by the compaction filter.
  const std::atomic<int64_t>* sim_now_us = nullptr;
};

struct Point {
  std::string_view series;
  int64_t ts;
  std::string_view value;
};

class KvAdapter {
 public:
  virtual ~KvAdapter() = default;
  virtual const char* name() const = 0;
  // One atomic batch; `sync` = fsync before returning.
  virtual void write(std::span<const Point> pts, bool sync) = 0;
  // Per-key deletes (used for LevelDB's TTL emulation).
  virtual void del(std::span<const Point> pts) = 0;
  virtual bool get(std::string_view series, int64_t ts, std::string* value) = 0;
  // The point of `series` with the largest ts.
  virtual bool get_latest(std::string_view series, int64_t* ts, std::string* value) = 0;
  // Visits the points of `series` with t0 <= ts <= t1 in ts order; returns the count.
  virtual size_t range(std::string_view series, int64_t t0, int64_t t1,
                       const std::function<void(int64_t, std::string_view)>& fn) = 0;
  // Memtable to disk.
  virtual void flush() = 0;
  // Full manual compaction (what each engine offers).
  virtual void compact() = 0;
  // Bytes of the live WAL.
  virtual uint64_t wal_bytes() = 0;
  virtual void close() = 0;
};

// engine: "flowdb", "rocksdb", "leveldb".
std::unique_ptr<KvAdapter> open_flowdb(const AdapterOptions& o);
std::unique_ptr<KvAdapter> open_rocksdb(const AdapterOptions& o);
std::unique_ptr<KvAdapter> open_leveldb(const AdapterOptions& o);
std::unique_ptr<KvAdapter> open_engine(const std::string& engine, const AdapterOptions& o);

// Key encoding shared by the KV adapters.
inline void append_be64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint64_t read_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline void encode_kv_key(std::string& out, std::string_view series, int64_t ts, bool ts_keys) {
  out.assign(series);
  if (ts_keys) append_be64(out, static_cast<uint64_t>(ts) ^ (1ull << 63));
}
inline int64_t decode_kv_ts(std::string_view key) {
  return static_cast<int64_t>(read_be64(key.data() + key.size() - 8) ^ (1ull << 63));
}

}  // namespace bench
