// 5. Point reads and latest-value reads (cache-resident and not);
// 6. recent-window reads during ingest.
#include <atomic>
#include <filesystem>
#include <thread>

#include "bench.h"

namespace bench {
namespace {

void load(KvAdapter& db, const std::vector<std::string>& series, uint64_t points, const Params& p) {
  TsStream stream(static_cast<uint32_t>(series.size()), points, p.ts_batch, false, p.seed);
  TsWriter w(series);
  std::vector<TsPoint> b;
  while (stream.next(b)) w.write(db, b, false);
}

Metrics run_point_reads(const std::string& engine, const Params& p) {
  const uint32_t S = p.ts_series;
  const uint64_t P = p.read_points;
  auto series = make_series(S);
  AdapterOptions o = default_options(engine, p);
  {
    auto db = open_engine(base_engine(engine), o);
    load(*db, series, P, p);
    db->compact();
    db->close();
  }
  const uint64_t rounds = (P + S - 1) / S;
  auto last_ts = [&](uint32_t s) {
    return kBaseTs + static_cast<int64_t>((P - 1 - s) / S) * kIntervalUs;
  };
  Metrics m;
  auto timed = [&](KvAdapter& db, uint32_t nseries, const char* label) {
    Rng r(p.seed + 7);
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < p.read_ops; ++i) {
      uint32_t s = static_cast<uint32_t>(r.uniform(nseries));
      uint64_t round = r.uniform((P - 1 - s) / S + 1);
      verify_ts_get(db, series, s, kBaseTs + static_cast<int64_t>(round) * kIntervalUs);
    }
    double g = static_cast<double>(p.read_ops) / secs_since(t0);
    std::string v;
    auto t1 = Clock::now();
    for (uint64_t i = 0; i < p.read_ops; ++i) {
      uint32_t s = static_cast<uint32_t>(r.uniform(nseries));
      int64_t ts = 0;
      BENCH_VERIFY(db.get_latest(series[s], &ts, &v), "latest missing");
      BENCH_VERIFY(ts == last_ts(s), "latest ts wrong");
      char want[8];
      ts_value(s, ts, want);
      BENCH_VERIFY(v == std::string_view(want, 8), "latest value wrong");
    }
    double l = static_cast<double>(p.read_ops) / secs_since(t1);
    m.push_back({std::string(label) + "_get/s", g, "ops/s", true});
    m.push_back({std::string(label) + "_latest/s", l, "ops/s", true});
  };
  {
    // Cache-resident: a hot set of series (~16 MB of logical data) with a
    // 128 MB block cache, warmed by scanning it once.
    o.cache_mb = 128;
    auto db = open_engine(base_engine(engine), o);
    uint32_t hot = static_cast<uint32_t>(std::clamp<uint64_t>((16ull << 20) / (rounds * 32), 1, S));
    for (uint32_t s = 0; s < hot; ++s) {
      size_t n = db->range(series[s], kBaseTs, INT64_MAX, [](int64_t, std::string_view) {});
      BENCH_VERIFY(n == (P - 1 - s) / S + 1, "warm-up range count");
    }
    timed(*db, hot, "hot");
    db->close();
  }
  {
    // Not resident: 8 MB block cache, OS page cache of the files dropped first.
    evict_page_cache(p.dir);
    o.cache_mb = 8;
    auto db = open_engine(base_engine(engine), o);
    timed(*db, S, "cold");
    db->close();
  }
  return m;
}

Metrics run_window(const std::string& engine, const Params& p) {
  const uint64_t N = p.window_points;
  // At least two hours of rounds so that the 1 h window is full.
  const uint32_t S = static_cast<uint32_t>(std::clamp<uint64_t>(N / 720, 10, p.ts_series));
  auto series = make_series(S);
  auto ingest = [&](const std::string& dir, bool with_reader, Metrics* m) {
    AdapterOptions o = default_options(engine, p);
    o.dir = dir;
    auto db = open_engine(base_engine(engine), o);
    std::atomic<int64_t> watermark{-1};  // last complete round
    std::atomic<bool> done{false};
    std::vector<double> lat[2];
    uint64_t verified = 0;
    std::thread reader;
    if (with_reader)
      reader = std::thread([&] {
        Rng r(p.seed + 3);
        std::string dummy;
        const int64_t windows[2] = {300, 3600};
        int k = 0;
        while (!done.load()) {
          int64_t w = watermark.load();
          if (w < 30) {
            std::this_thread::yield();
            continue;
          }
          int wi = k++ & 1;
          uint32_t s = static_cast<uint32_t>(r.uniform(S));
          int64_t t1 = kBaseTs + w * kIntervalUs;
          int64_t t0 = t1 - windows[wi] * 1'000'000;
          auto st = Clock::now();
          size_t n = db->range(series[s], t0, t1, [&](int64_t ts, std::string_view v) {
            char want[8];
            ts_value(s, ts, want);
            BENCH_VERIFY(v == std::string_view(want, 8), "window value wrong");
          });
          lat[wi].push_back(secs_since(st) * 1e6);
          int64_t expect = std::min<int64_t>(windows[wi] / 10 + 1, w + 1);
          BENCH_VERIFY(static_cast<int64_t>(n) == expect,
                       "window count " + std::to_string(n) + " != " + std::to_string(expect));
          ++verified;
        }
      });
    TsStream stream(S, N, p.ts_batch, false, p.seed);
    TsWriter w(series);
    std::vector<TsPoint> b;
    auto t0 = Clock::now();
    try {
      while (stream.next(b)) {
        w.write(*db, b, false);
        watermark.store(static_cast<int64_t>(stream.emitted() / S) - 1);
      }
    } catch (...) {
      done = true;
      if (reader.joinable()) reader.join();
      throw;
    }
    double secs = secs_since(t0);
    done = true;
    if (reader.joinable()) reader.join();
    db->close();
    double rate = static_cast<double>(N) / secs;
    if (m) {
      BENCH_VERIFY(verified > 0 || p.smoke, "no window query ran");
      m->push_back({"5m_p50_us", percentile(lat[0], 0.5), "us", false});
      m->push_back({"5m_p99_us", percentile(lat[0], 0.99), "us", false});
      m->push_back({"1h_p50_us", percentile(lat[1], 0.5), "us", false});
      m->push_back({"1h_p99_us", percentile(lat[1], 0.99), "us", false});
      m->push_back({"queries/s", static_cast<double>(verified) / secs, "q/s", true});
    }
    return rate;
  };
  Metrics m;
  double alone = ingest(p.dir + "/alone", false, nullptr);
  double with = ingest(p.dir + "/with", true, &m);
  m.push_back({"ingest_Mpt/s", with / 1e6, "Mpt/s", true});
  m.push_back({"ingest_slowdown", alone / with, "x", false});
  return m;
}

// The same windows as run_window, but after the data is flushed and the
// engine reopened: every point is in an SST (the state of a gateway between
// memtable flushes most of the time), read with a 128 MB block cache.
Metrics run_window_flushed(const std::string& engine, const Params& p) {
  const uint64_t N = p.window_points;
  const uint32_t S = static_cast<uint32_t>(std::clamp<uint64_t>(N / 720, 10, p.ts_series));
  const int64_t rounds = static_cast<int64_t>(N / S);
  auto series = make_series(S);
  AdapterOptions o = default_options(engine, p);
  {
    auto db = open_engine(base_engine(engine), o);
    load(*db, series, static_cast<uint64_t>(rounds) * S, p);
    db->flush();
    db->close();
  }
  o.cache_mb = 128;
  auto db = open_engine(base_engine(engine), o);
  const int64_t windows[2] = {300, 3600};
  const int64_t last = kBaseTs + (rounds - 1) * kIntervalUs;
  std::vector<double> lat[2];
  Rng r(p.seed + 5);
  const uint64_t ops = std::max<uint64_t>(p.read_ops / 4, 100);
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < ops; ++i) {
    const int wi = static_cast<int>(i & 1);
    const uint32_t s = static_cast<uint32_t>(r.uniform(S));
    auto st = Clock::now();
    size_t n = db->range(series[s], last - windows[wi] * 1'000'000, last,
                         [&](int64_t ts, std::string_view v) {
                           char want[8];
                           ts_value(s, ts, want);
                           BENCH_VERIFY(v == std::string_view(want, 8), "window value wrong");
                         });
    lat[wi].push_back(secs_since(st) * 1e6);
    const int64_t expect = std::min<int64_t>(windows[wi] / 10 + 1, rounds);
    BENCH_VERIFY(static_cast<int64_t>(n) == expect,
                 "window count " + std::to_string(n) + " != " + std::to_string(expect));
  }
  const double secs = secs_since(t0);
  db->close();
  Metrics m;
  m.push_back({"5m_p50_us", percentile(lat[0], 0.5), "us", false});
  m.push_back({"5m_p99_us", percentile(lat[0], 0.99), "us", false});
  m.push_back({"1h_p50_us", percentile(lat[1], 0.5), "us", false});
  m.push_back({"1h_p99_us", percentile(lat[1], 0.99), "us", false});
  m.push_back({"queries/s", static_cast<double>(ops) / secs, "q/s", true});
  return m;
}

}  // namespace

void add_read_workloads(std::vector<Workload>& w) {
  std::vector<std::string> e = {"flowdb", "rocksdb", "leveldb"};
  w.push_back(
      {"point_reads",
       "5. get(key, ts) of random existing points and latest-value reads, after full compaction; "
       "hot = 16 MB hot set in a warmed 128 MB cache, cold = 8 MB cache, OS page cache dropped",
       e, run_point_reads});
  w.push_back({"recent_window",
               "6. one writer ingesting in time order, one reader querying the last 5 min / last 1 "
               "h of a random series (alternating); slowdown = ingest rate alone / with the reader",
               e, run_window});
  w.push_back({"recent_window_flushed",
               "6b. the windows of 6 after every point is flushed to SSTs and the engine reopened "
               "(128 MB block cache, no writer)",
               e, run_window_flushed});
}

}  // namespace bench
