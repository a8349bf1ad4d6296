// flowdb-demo DIR: writes a day of per-minute points for a few series, reads
// them back by time range, restarts the engine and checks everything is there.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "flowdb/engine.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
    return 2;
  }
  using namespace flowdb;
  constexpr int64_t kMinute = 60'000'000;
  const int64_t t0 = 1'700'000'000'000'000;
  Config cfg;
  cfg.data_dir = argv[1];
  cfg.wal_sync_mode = SyncMode::interval_ms(100);
  try {
    auto start = std::chrono::steady_clock::now();
    {
      auto db = Engine::open(cfg);
      std::vector<Record> batch;
      for (int m = 0; m < 24 * 60; ++m) {
        for (const char* s : {"temp,room=kitchen", "temp,room=lab", "hum,room=lab"}) {
          batch.emplace_back(s, t0 + m * kMinute, std::to_string(20.0 + (m % 60) / 10.0));
        }
      }
      db->write_batch(batch);
      auto hour = db->query(Query::prefix_time_range("temp,room=lab", t0, t0 + 59 * kMinute));
      std::printf("wrote %zu points; first hour of temp,room=lab: %zu points, first value %s\n",
                  batch.size(), hour.size(), hour.empty() ? "-" : hour.front().value.c_str());
      db->close();
    }
    auto db = Engine::open(cfg);  // recovery
    size_t n = 0;
    for (const Record& r : db->scan(ScanRange::time_range(t0, t0 + 24 * 60 * kMinute))) {
      (void)r;
      ++n;
    }
    auto latest = db->get_latest("hum,room=lab");
    auto s = db->stats();
    std::printf(
        "after restart: %zu points in the day; latest hum,room=lab = %s; %zu SST files in "
        "%zu time buckets\n",
        n, latest ? latest->value.c_str() : "-", s.sstable_count, s.time_index_buckets);
    std::printf("done in %.1f ms\n",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
    return n == 3 * 24 * 60 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "flowdb-demo: %s: %s\n", errc_name(e.code()).data(), e.what());
    return 1;
  }
}
