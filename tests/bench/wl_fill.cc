// 1. fillseq / fillrandom: 16-byte keys, 100-byte values, plain KV mode.
#include "bench.h"

namespace bench {
namespace {

Metrics run_fill(const std::string& engine, const Params& p, bool random) {
  AdapterOptions o = default_options(engine, p);
  o.ts_keys = false;
  auto db = open_engine(base_engine(engine), o);
  Rng rng(p.seed);
  std::vector<std::string> keys(p.fill_batch);
  std::vector<std::array<char, 100>> vals(p.fill_batch);
  std::vector<Point> batch(p.fill_batch);
  auto io0 = proc_io();
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < p.fill_n; i += p.fill_batch) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(p.fill_batch, p.fill_n - i));
    for (size_t j = 0; j < n; ++j) {
      uint64_t k = random ? rng.uniform(p.fill_n) : i + j;
      keys[j] = fill_key(k);
      kv_value(k, vals[j].data());
      batch[j] = Point{keys[j], 0, std::string_view(vals[j].data(), 100)};
    }
    db->write(std::span<const Point>(batch.data(), n), false);
  }
  double secs = secs_since(t0);
  double cpu = cpu_seconds() - cpu0;
  auto io1 = proc_io();
  // Verification (untimed): 2000 keys of the stream read back.
  Rng vr(p.seed);
  std::string v;
  for (uint64_t i = 0; i < std::min<uint64_t>(2000, p.fill_n); ++i) {
    uint64_t k = random ? vr.uniform(p.fill_n) : (i * 7919) % p.fill_n;
    BENCH_VERIFY(db->get(fill_key(k), 0, &v), "fill key missing " + std::to_string(k));
    char want[100];
    kv_value(k, want);
    BENCH_VERIFY(v == std::string_view(want, 100), "fill value wrong");
  }
  BENCH_VERIFY(!db->get(fill_key(p.fill_n + 1), 0, &v), "phantom key");
  db->close();
  double logical = static_cast<double>(p.fill_n) * 116.0;
  return {
      {"ops/s", static_cast<double>(p.fill_n) / secs, "ops/s", true},
      {"MB/s", logical / secs / 1e6, "MB/s", true},
      {"cpu_s", cpu, "s", false},
      {"write_amp", static_cast<double>(io1.write_bytes - io0.write_bytes) / logical, "x", false}};
}

}  // namespace

void add_fill_workloads(std::vector<Workload>& w) {
  std::vector<std::string> e = {"flowdb", "rocksdb", "leveldb"};
  w.push_back({"fillseq",
               "1. fillseq: 16 B keys / 100 B values in key order, 1 key per write, no sync", e,
               [](const std::string& en, const Params& p) { return run_fill(en, p, false); }});
  w.push_back(
      {"fillrandom",
       "1. fillrandom: 16 B keys / 100 B values, uniform random keys, 1 key per write, no sync", e,
       [](const std::string& en, const Params& p) { return run_fill(en, p, true); }});
}

}  // namespace bench
