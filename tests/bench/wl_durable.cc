// 4. Durable writes: fsync per batch, 1 and 2 writer threads, batches of 1/100/1000.
#include <thread>

#include "bench.h"

namespace bench {
namespace {

Metrics run_durable(const std::string& engine, const Params& p, int threads, size_t bsize,
                    uint64_t batches) {
  AdapterOptions o = default_options(engine, p);
  o.sync = true;
  auto db = open_engine(base_engine(engine), o);
  auto series = make_series(p.ts_series);
  const uint32_t per = p.ts_series / static_cast<uint32_t>(threads);
  auto point = [&](int t, uint64_t idx) {
    return TsPoint{static_cast<uint32_t>(t) +
                       static_cast<uint32_t>(threads) * static_cast<uint32_t>(idx % per),
                   kBaseTs + static_cast<int64_t>(idx / per) * kIntervalUs};
  };
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  auto t0 = Clock::now();
  std::vector<std::thread> ths;
  for (int t = 0; t < threads; ++t)
    ths.emplace_back([&, t] {
      TsWriter w(series);
      std::vector<TsPoint> b;
      for (uint64_t k = 0; k < batches; ++k) {
        b.clear();
        for (size_t j = 0; j < bsize; ++j) b.push_back(point(t, k * bsize + j));
        auto s = Clock::now();
        w.write(*db, b, true);
        lat[static_cast<size_t>(t)].push_back(secs_since(s) * 1e6);
      }
    });
  for (auto& th : ths) th.join();
  double secs = secs_since(t0);
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  // Verify every thread's first, last and some middle points.
  Rng r(p.seed);
  uint64_t total = batches * bsize;
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < 200; ++i) {
      uint64_t idx = i == 0 ? 0 : i == 1 ? total - 1 : r.uniform(total);
      TsPoint g = point(t, idx);
      verify_ts_get(*db, series, g.s, g.ts);
    }
  db->close();
  double pts = static_cast<double>(total) * threads;
  return {{"points/s", pts / secs, "pt/s", true},
          {"batches/s", static_cast<double>(batches) * threads / secs, "b/s", true},
          {"p50_us", percentile(all, 0.5), "us", false},
          {"p99_us", percentile(all, 0.99), "us", false}};
}

}  // namespace

void add_durable_workloads(std::vector<Workload>& w) {
  std::vector<std::string> e = {"flowdb", "rocksdb", "leveldb"};
  const size_t sizes[3] = {1, 100, 1000};
  for (int threads : {1, 2})
    for (int i = 0; i < 3; ++i) {
      size_t b = sizes[i];
      std::string name = "sync_t" + std::to_string(threads) + "_b" + std::to_string(b);
      w.push_back({name,
                   "4. durable writes, fsync per batch: " + std::to_string(threads) +
                       " writer thread(s), batches of " + std::to_string(b),
                   e, [threads, b, i](const std::string& en, const Params& p) {
                     return run_durable(en, p, threads, b, p.sync_batches[i]);
                   }});
    }
}

}  // namespace bench
