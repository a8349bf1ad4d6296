// 2/3. Time-series ingest (in order / TSBS-IoT disorder) and 9. footprint.
#include "bench.h"

namespace bench {
namespace {

Metrics run_ingest(const std::string& engine, const Params& p, bool disorder) {
  AdapterOptions o = default_options(engine, p);
  auto db = open_engine(base_engine(engine), o);
  auto series = make_series(p.ts_series);
  TsStream stream(p.ts_series, p.ts_points, p.ts_batch, disorder, p.seed);
  TsWriter writer(series);
  std::vector<TsPoint> batch;
  auto io0 = proc_io();
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  while (stream.next(batch)) writer.write(*db, batch, false);
  double secs = secs_since(t0);
  BENCH_VERIFY(stream.emitted() == p.ts_points, "stream lost points");
  // Until everything is on disk as SSTs (flush) — reported separately.
  auto t1 = Clock::now();
  db->flush();
  double flush_secs = secs_since(t1);
  double cpu = cpu_seconds() - cpu0;
  auto io1 = proc_io();
  // Footprint after full compaction.
  auto t2 = Clock::now();
  db->compact();
  double compact_secs = secs_since(t2);
  uint64_t disk = dir_bytes(p.dir);
  // Verify: random points of the grid, latest of some series, range counts.
  Rng r(p.seed + 1);
  uint64_t rounds = (p.ts_points + p.ts_series - 1) / p.ts_series;
  for (int i = 0; i < 2000; ++i) {
    uint64_t k = r.uniform(p.ts_points);
    TsPoint g = grid_point(k, p.ts_series);
    verify_ts_get(*db, series, g.s, g.ts);
  }
  for (int i = 0; i < 50; ++i) {
    uint32_t s = static_cast<uint32_t>(r.uniform(std::min<uint64_t>(p.ts_series, p.ts_points)));
    uint64_t last_round = (p.ts_points - 1 - s) / p.ts_series;
    int64_t ts = 0;
    std::string v;
    BENCH_VERIFY(db->get_latest(series[s], &ts, &v), "latest missing");
    BENCH_VERIFY(ts == kBaseTs + static_cast<int64_t>(last_round) * kIntervalUs, "latest ts wrong");
    size_t n = db->range(series[s], kBaseTs, kBaseTs + static_cast<int64_t>(rounds) * kIntervalUs,
                         [&](int64_t t, std::string_view val) {
                           char want[8];
                           ts_value(s, t, want);
                           BENCH_VERIFY(val == std::string_view(want, 8), "range value wrong");
                         });
    BENCH_VERIFY(n == last_round + 1, "range count wrong");
  }
  db->close();
  double logical = static_cast<double>(p.ts_points) * 32.0;  // 16 B series + 8 B ts + 8 B value
  return {
      {"Mpoints/s", static_cast<double>(p.ts_points) / secs / 1e6, "Mpt/s", true},
      {"flush_s", flush_secs, "s", false},
      {"cpu_s", cpu, "s", false},
      {"write_amp", static_cast<double>(io1.write_bytes - io0.write_bytes) / logical, "x", false},
      {"compact_s", compact_secs, "s", false},
      {"bytes/point", static_cast<double>(disk) / static_cast<double>(p.ts_points), "B", false}};
}

}  // namespace

void add_ingest_workloads(std::vector<Workload>& w) {
  std::vector<std::string> e = {"flowdb", "rocksdb", "leveldb"};
  w.push_back({"ts_ingest",
               "2. time-series ingest in time order: 40K series, 10 s interval, batches of 1000, "
               "no sync; 9. bytes/point after full compaction",
               e, [](const std::string& en, const Params& p) { return run_ingest(en, p, false); }});
  w.push_back({"ts_disorder",
               "3. the same with TSBS-IoT disorder (5% of batches: 30% of entries up to 10 batches "
               "late; 1% of entries up to 1 h late)",
               e, [](const std::string& en, const Params& p) { return run_ingest(en, p, true); }});
}

}  // namespace bench
