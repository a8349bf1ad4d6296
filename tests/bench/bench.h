// flowdb-bench: shared data generation, measurement helpers and workload registry.
#pragma once
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <queue>
#include <stdexcept>
#include <string>
#include <vector>

#include "kv_adapter.h"

namespace bench {

// ---- Scale of every workload (set from --scale / --smoke).
struct Params {
  double scale = 1.0;
  bool smoke = false;
  uint64_t seed = 42;
  std::string dir;  // scratch directory of this trial (fresh, empty)
  // 1. fill
  uint64_t fill_n = 10'000'000;
  size_t fill_batch = 1;
  // 2/3. time-series ingest
  uint32_t ts_series = 40'000;
  uint64_t ts_points = 50'000'000;
  size_t ts_batch = 1000;
  // 4. durable writes: batches per writer thread for batch sizes 1/100/1000
  uint64_t sync_batches[3] = {2000, 500, 100};
  // 5. point reads
  uint64_t read_points = 10'000'000;
  uint64_t read_ops = 200'000;
  // 6. recent window
  uint64_t window_points = 20'000'000;
  // 7. TTL
  uint32_t ttl_series = 4'000;
  uint64_t ttl_secs = 3600;
  uint64_t ttl_multiple = 5;
  // 8. recovery
  uint64_t recovery_wal_mb = 64;
  // 10. many series: 1M series at a 10 s interval for 10 min (rounds of every series)
  uint32_t many_series = 1'000'000;
  uint64_t many_rounds = 60;
};
Params make_params(double scale, bool smoke, uint64_t seed);

// ---- Results: a trial (one engine, one workload, one run) emits metrics.
struct Metric {
  std::string name;
  double value;
  std::string unit;
  bool higher_better;
};
using Metrics = std::vector<Metric>;

struct VerifyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
#define BENCH_VERIFY(cond, msg)                                                                  \
  do {                                                                                           \
    if (!(cond))                                                                                 \
      throw ::bench::VerifyError(std::string("verification failed: ") + (msg) + " [" #cond "]"); \
  } while (0)

struct Workload {
  std::string name;
  std::string description;
  std::vector<std::string> engines;  // engine variants
  std::function<Metrics(const std::string& engine, const Params&)> run;
};
std::vector<Workload> all_workloads();
void add_fill_workloads(std::vector<Workload>& w);
void add_ingest_workloads(std::vector<Workload>& w);
void add_durable_workloads(std::vector<Workload>& w);
void add_read_workloads(std::vector<Workload>& w);
void add_ttl_workloads(std::vector<Workload>& w);
void add_recovery_workloads(std::vector<Workload>& w);

// ---- Engine variants: "rocksdb-fifo" etc. map to an engine + TTL mode.
std::string base_engine(const std::string& variant);
AdapterOptions default_options(const std::string& variant, const Params& p);

// ---- Deterministic data.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x2545F4914F6CDD1Dull + 1) {}
  uint64_t next() { return mix64(s++); }
  uint64_t uniform(uint64_t n) { return n ? next() % n : 0; }
  double unit() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
};

// 16-byte series id: hex of a bijective hash, so series order != id order.
inline std::string series_id(uint32_t s) {
  char b[17];
  snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(mix64(s)));
  return std::string(b, 16);
}
std::vector<std::string> make_series(uint32_t n);

constexpr int64_t kBaseTs = 1'700'000'000'000'000;  // microseconds
constexpr int64_t kIntervalUs = 10'000'000;         // 10 s
// Time-series value: 8-byte double, a function of (series, ts).
inline void ts_value(uint32_t s, int64_t ts, char out[8]) {
  double v = static_cast<double>(s % 1000) + 0.25 * static_cast<double>((ts / kIntervalUs) % 64);
  std::memcpy(out, &v, 8);
}
// 100-byte value for (key): half random bytes, half repeated (compresses ~2x,
// like db_bench's default compression ratio 0.5).
void kv_value(uint64_t key_id, char out[100]);
// 16-byte KV key for fill workloads.
inline std::string fill_key(uint64_t i) {
  char b[24];
  snprintf(b, sizeof b, "%016llu", static_cast<unsigned long long>(i % 10'000'000'000'000'000ull));
  return std::string(b, 16);
}

// A point of the time-series streams, by series index.
struct TsPoint {
  uint32_t s;
  int64_t ts;
};

// In-order stream: round r (ts = kBaseTs + r*10s) writes every series.
// Disorder (TSBS-IoT-like): 5% of batches have 30% of their entries delayed by
// up to 10 batches, and 1% of all entries arrive up to 1 hour late. Every
// point of the grid is still written exactly once.
class TsStream {
 public:
  TsStream(uint32_t series, uint64_t points, size_t batch, bool disorder, uint64_t seed);
  // Next batch (empty at the end).
  bool next(std::vector<TsPoint>& out);
  uint64_t emitted() const { return emitted_; }

 private:
  struct Delayed {
    uint64_t arrival, seq;
    TsPoint p;
    bool operator>(const Delayed& o) const {
      return arrival != o.arrival ? arrival > o.arrival : seq > o.seq;
    }
  };
  uint32_t series_;
  uint64_t points_, i_ = 0, emitted_ = 0, seq_ = 0;
  size_t batch_;
  bool disorder_;
  uint64_t seed_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> heap_;
};
inline TsPoint grid_point(uint64_t i, uint32_t series) {
  return {static_cast<uint32_t>(i % series),
          kBaseTs + static_cast<int64_t>(i / series) * kIntervalUs};
}

// Writes a batch of TsPoints through an adapter (values are generated here).
class TsWriter {
 public:
  explicit TsWriter(const std::vector<std::string>& series) : series_(series) {}
  void write(KvAdapter& db, const std::vector<TsPoint>& pts, bool sync);
  void del(KvAdapter& db, const std::vector<TsPoint>& pts);

 private:
  void build(const std::vector<TsPoint>& pts);
  const std::vector<std::string>& series_;
  std::vector<Point> buf_;
  std::vector<std::array<char, 8>> vals_;
};

// Checks get(s, ts) returns the generated value.
void verify_ts_get(KvAdapter& db, const std::vector<std::string>& series, uint32_t s, int64_t ts);

// ---- Measurement.
using Clock = std::chrono::steady_clock;
inline double secs_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
struct ProcIo {
  uint64_t write_bytes = 0, read_bytes = 0, cancelled_write_bytes = 0;
};
ProcIo proc_io();
double cpu_seconds();  // user + system of this process (all threads)
uint64_t dir_bytes(const std::string& dir);
// Drops the OS page cache of every file in dir (after fdatasync).
void evict_page_cache(const std::string& dir);
double percentile(std::vector<double>& v, double p);

}  // namespace bench
