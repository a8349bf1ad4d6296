// 7. TTL steady state on a simulated clock: ingest for ttl_multiple x TTL.
#include <atomic>

#include "bench.h"

namespace bench {
namespace {

Metrics run_ttl(const std::string& engine, const Params& p) {
  const uint32_t S = p.ttl_series;
  const uint64_t ttl_rounds = p.ttl_secs * 1'000'000 / kIntervalUs;
  const uint64_t rounds = ttl_rounds * p.ttl_multiple;
  const uint64_t N = rounds * S;
  std::atomic<int64_t> now{kBaseTs};
  AdapterOptions o = default_options(engine, p);
  o.ttl_secs = p.ttl_secs;
  o.sim_now_us = &now;
  if (engine == "flowdb") {
    o.ttl = TtlMode::Native;
    o.time_bucket_secs = std::max<uint64_t>(1, p.ttl_secs / 6);  // TTL/6 buckets
  }
  auto db = open_engine(base_engine(engine), o);
  auto series = make_series(S);
  TsStream stream(S, N, p.ts_batch, false, p.seed);
  TsWriter w(series);
  std::vector<TsPoint> b, dels;
  uint64_t deleted_rounds = 0;  // per-key deletes issued for rounds < this
  const uint64_t sample_every = std::max<uint64_t>(1, 600'000'000 / kIntervalUs);  // 10 sim min
  uint64_t next_sample = sample_every;
  std::vector<double> samples;  // directory bytes, every 10 sim min after 2 x TTL
  auto io0 = proc_io();
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  while (stream.next(b)) {
    now.store(b.back().ts + 1, std::memory_order_relaxed);
    w.write(*db, b, false);
    uint64_t done_rounds = stream.emitted() / S;
    if (o.ttl == TtlMode::PerKeyDelete) {
      // Delete every round whose points expired: ts + ttl <= now.
      while (deleted_rounds + ttl_rounds < done_rounds) {
        dels.clear();
        for (uint32_t s = 0; s < S; ++s) {
          dels.push_back({s, kBaseTs + static_cast<int64_t>(deleted_rounds) * kIntervalUs});
          if (dels.size() == p.ts_batch) {
            w.del(*db, dels);
            dels.clear();
          }
        }
        if (!dels.empty()) w.del(*db, dels);
        ++deleted_rounds;
      }
    }
    if (done_rounds >= next_sample) {
      next_sample += sample_every;
      if (done_rounds >= 2 * ttl_rounds) samples.push_back(static_cast<double>(dir_bytes(p.dir)));
    }
  }
  double secs = secs_since(t0);
  double cpu = cpu_seconds() - cpu0;
  auto io1 = proc_io();
  uint64_t disk_end = dir_bytes(p.dir);
  // Verify: recent points (last min(TTL/2, 30 sim min)) are all there.
  Rng r(p.seed + 5);
  uint64_t recent = std::min<uint64_t>(ttl_rounds / 2, 180);  // < TTL old
  for (int i = 0; i < 2000; ++i) {
    uint32_t s = static_cast<uint32_t>(r.uniform(S));
    uint64_t round = rounds - 1 - r.uniform(recent);
    verify_ts_get(*db, series, s, kBaseTs + static_cast<int64_t>(round) * kIntervalUs);
  }
  // Engines that hide expired data at read time must not return it.
  if (o.ttl == TtlMode::Native || o.ttl == TtlMode::PerKeyDelete) {
    std::string v;
    BENCH_VERIFY(!db->get(series[0], kBaseTs, &v), "expired point still visible");
  }
  db->close();
  db.reset();
  // Reference "live data": the same engine, no TTL, holding exactly the last
  // TTL of points, fully compacted (untimed).
  AdapterOptions lo = default_options(base_engine(engine), p);
  lo.dir = p.dir + "/live-reference";
  lo.time_bucket_secs = o.time_bucket_secs;
  uint64_t live_disk = 0;
  {
    auto ref = open_engine(base_engine(engine), lo);
    std::vector<TsPoint> lb;
    for (uint64_t i = (rounds - ttl_rounds) * S; i < N; ++i) {
      lb.push_back(grid_point(i, S));
      if (lb.size() == p.ts_batch || i + 1 == N) {
        w.write(*ref, lb, false);
        lb.clear();
      }
    }
    ref->compact();
    ref->close();
    live_disk = dir_bytes(lo.dir);
  }
  double mean = 0, mx = 0;
  for (double x : samples) {
    mean += x / static_cast<double>(samples.size());
    mx = std::max(mx, x);
  }
  double logical = static_cast<double>(N) * 32.0;
  double live_logical = static_cast<double>(ttl_rounds * S) * 32.0;
  double ld = static_cast<double>(live_disk);
  return {
      {"Mpoints/s", static_cast<double>(N) / secs / 1e6, "Mpt/s", true},
      {"disk/live_mean", mean / ld, "x", false},
      {"disk/live_max", mx / ld, "x", false},
      {"disk/live_end", static_cast<double>(disk_end) / ld, "x", false},
      {"disk/logical_mean", mean / live_logical, "x", false},
      {"disk_MB_mean", mean / 1e6, "MB", false},
      {"write_amp", static_cast<double>(io1.write_bytes - io0.write_bytes) / logical, "x", false},
      {"cpu_s", cpu, "s", false}};
}

}  // namespace

void add_ttl_workloads(std::vector<Workload>& w) {
  w.push_back({"ttl_steady",
               "7. TTL steady state on a simulated clock: TTL 1 h, ingest 5 x TTL in time order "
               "(10 s interval), no sync; disk/live = directory bytes, sampled every 10 sim min "
               "after 2 x TTL, / bytes of the same engine holding only the live (last TTL) points "
               "fully compacted; disk/logical = the same / 32 B per live point; write_amp = "
               "/proc/self/io write_bytes / logical bytes written",
               {"flowdb", "rocksdb-fifo", "rocksdb-cf", "leveldb-del"},
               run_ttl});
}

}  // namespace bench
