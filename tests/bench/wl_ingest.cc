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

// 10. One million series: the first round creates every series, so the
// memtable's series index grows while writes go on. Reports the batch write
// latency distribution: a stall from index growth shows as max >> p99.
Metrics run_many_series(const std::string& engine, const Params& p) {
  AdapterOptions o = default_options(engine, p);
  auto db = open_engine(base_engine(engine), o);
  auto series = make_series(p.many_series);
  const uint64_t points = static_cast<uint64_t>(p.many_series) * p.many_rounds;
  TsStream stream(p.many_series, points, p.ts_batch, false, p.seed);
  TsWriter writer(series);
  std::vector<TsPoint> batch;
  std::vector<double> lat_ms;
  lat_ms.reserve(points / p.ts_batch + 1);
  double first_round_max_ms = 0;
  const uint64_t first_round_batches = p.many_series / p.ts_batch;
  const auto t0 = Clock::now();
  while (stream.next(batch)) {
    const auto b0 = Clock::now();
    writer.write(*db, batch, false);
    lat_ms.push_back(secs_since(b0) * 1e3);
    if (lat_ms.size() <= first_round_batches) {
      first_round_max_ms = std::max(first_round_max_ms, lat_ms.back());
    }
  }
  const double secs = secs_since(t0);
  BENCH_VERIFY(stream.emitted() == points, "stream lost points");
  db->flush();
  Rng r(p.seed + 3);
  for (int i = 0; i < 2000; ++i) {
    const TsPoint g = grid_point(r.uniform(points), p.many_series);
    verify_ts_get(*db, series, g.s, g.ts);
  }
  db->close();
  const double max_ms = *std::max_element(lat_ms.begin(), lat_ms.end());
  return {{"Mpoints/s", static_cast<double>(points) / secs / 1e6, "Mpt/s", true},
          {"p50_batch_ms", percentile(lat_ms, 0.5), "ms", false},
          {"p99_batch_ms", percentile(lat_ms, 0.99), "ms", false},
          {"max_batch_ms", max_ms, "ms", false},
          {"max_first_round_ms", first_round_max_ms, "ms", false}};
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
  w.push_back({"ts_many_series",
               "10. 1M series x 60 rounds (10 s interval, 10 min), batches of 1000, no sync: "
               "throughput and batch latency (max vs p99: stalls from index growth)",
               {"flowdb", "rocksdb"},
               [](const std::string& en, const Params& p) { return run_many_series(en, p); }});
}

}  // namespace bench
