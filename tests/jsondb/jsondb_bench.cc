// jsondb_bench: JsonDB throughput on this machine (not a test).
//   point reads by primary key, index equality lookups (unique index, one
//   document per lookup), put batches of 100 documents per transaction with
//   SyncMode::always(), single puts with SyncMode::interval_ms(100).
// Usage: jsondb_bench [num_docs]   (default 50000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "engine_util.h"
#include "flowdb/jsondb.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using Clock = std::chrono::steady_clock;

namespace {

value make_doc(int i) {
  return {{"id", "dev-" + std::to_string(i)},
          {"serial", "SN" + std::to_string(1000000 + i)},
          {"kind", i % 3 ? "sensor" : "gateway"},
          {"fw", i % 17},
          {"site", {{"name", "plant-" + std::to_string(i % 50)}, {"rack", i % 8}}}};
}

double secs(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Config config(const std::string& dir, SyncMode sync) {
  Config c;
  c.data_dir = dir;
  c.wal_sync_mode = sync;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 50000;
  flowdb::testing::TempDir dir;
  std::mt19937 rng(1);
  {
    auto db = JsonDB::open(config(dir.path(), SyncMode::always()));
    db->apply_store(StoreSchema("devices", KeyPath("id"))
                        .with_index("serial", "serial", true)
                        .with_index("kind", "kind"));
    auto t0 = Clock::now();
    for (int b = 0; b < n; b += 100) {
      auto t = db->transaction({"devices"}, TransactionMode::ReadWrite);
      for (int i = b; i < b + 100 && i < n; ++i) t.put("devices", make_doc(i));
      t.commit();
    }
    double s = secs(t0);
    std::printf("batched put (100 docs/txn, SyncMode::always): %9.0f docs/s  (%d docs)\n", n / s,
                n);

    const int reads = 200000;
    t0 = Clock::now();
    size_t found = 0;
    for (int i = 0; i < reads; ++i) {
      found += db->get("devices", value("dev-" + std::to_string(rng() % n))).has_value();
    }
    s = secs(t0);
    std::printf("point read by primary key (memtable+SST):      %9.0f ops/s  (%zu found)\n",
                reads / s, found);

    t0 = Clock::now();
    found = 0;
    for (int i = 0; i < reads; ++i) {
      found +=
          db->get_by_index("devices", "serial", value("SN" + std::to_string(1000000 + rng() % n)))
              .size();
    }
    s = secs(t0);
    std::printf("index equality lookup (unique index):          %9.0f ops/s  (%zu found)\n",
                reads / s, found);

    t0 = Clock::now();
    uint64_t c = 0;
    for (int i = 0; i < 100000; ++i) c += db->count("devices");
    s = secs(t0);
    std::printf("count() without scanning:                      %9.0f ops/s  (%llu)\n", 100000 / s,
                static_cast<unsigned long long>(c / 100000));

    db->engine().flush();
    t0 = Clock::now();
    for (int i = 0; i < reads; ++i) db->get("devices", value("dev-" + std::to_string(rng() % n)));
    s = secs(t0);
    std::printf("point read by primary key (after flush):       %9.0f ops/s\n", reads / s);
    t0 = Clock::now();
    for (int i = 0; i < reads; ++i) {
      db->get_by_index("devices", "serial", value("SN" + std::to_string(1000000 + rng() % n)));
    }
    s = secs(t0);
    std::printf("index equality lookup (after flush):           %9.0f ops/s\n", reads / s);
  }
  {
    flowdb::testing::TempDir dir2;
    auto db = JsonDB::open(config(dir2.path(), SyncMode::interval_ms(100)));
    db->apply_store(StoreSchema("devices", KeyPath("id"))
                        .with_index("serial", "serial", true)
                        .with_index("kind", "kind"));
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) db->put("devices", make_doc(i));
    double s = secs(t0);
    std::printf("single put (SyncMode::interval_ms(100)):       %9.0f docs/s\n", n / s);
  }
  return 0;
}
