// Concurrency: writer threads, reader threads and flush/compaction/GC running
// at once (also meant to run under ThreadSanitizer). Every acknowledged write
// is readable, scans are sorted and snapshot-consistent (a batch is wholly
// visible or not at all, and each writer's batches appear as a prefix), and
// nothing crashes.
//
// FLOWDB_CONC_BATCHES sets the batches per writer.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;

namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int kPlainWriters = 3;
constexpr int kWindowWriter = kPlainWriters;  // puts batch i, deletes batch i-3, atomically
constexpr int kWriters = kPlainWriters + 1;
constexpr uint64_t kWindow = 3;

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

size_t batch_size(int w, uint64_t i) { return 1 + (i * 3 + static_cast<uint64_t>(w)) % 5; }
std::string key_of(int w, uint64_t i, size_t j) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "w%d/%08llu/%zu", w, static_cast<unsigned long long>(i), j);
  return buf;
}
int64_t ts_of(uint64_t i, size_t j) {
  return static_cast<int64_t>(i % 16) * kSec + static_cast<int64_t>(j);
}
std::string value_of(int w, uint64_t i, size_t j) {
  std::string v = std::to_string(w) + ":" + std::to_string(i) + ":" + std::to_string(j) + ":";
  v.append(i % 7 == 0 ? 2000 : 100, static_cast<char>('a' + (i + j) % 26));
  return v;
}

// Failures from threads (Catch2 assertions are not thread-safe).
class Failures {
 public:
  void add(std::string s) {
    std::lock_guard<std::mutex> l(mu_);
    if (list_.size() < 20) list_.push_back(std::move(s));
    ++count_;
  }
  uint64_t count() const {
    std::lock_guard<std::mutex> l(mu_);
    return count_;
  }
  std::string text() const {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const auto& s : list_) out += s + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> list_;
  uint64_t count_ = 0;
};

struct Shared {
  std::atomic<uint64_t> acked[kWriters] = {};  // last acknowledged batch per writer
  std::atomic<bool> writers_done{false};
  std::atomic<uint64_t> scans{0}, gets{0}, maintenance_ops{0}, snapshot_checks{0};
  Failures failures;
};

// Checks one full scan result against the acks read before it started.
void check_scan(const std::vector<Record>& rs, const uint64_t (&acked_before)[kWriters],
                Failures& f, const char* what) {
  std::map<std::pair<int, uint64_t>, std::vector<const Record*>> by;
  for (size_t n = 0; n < rs.size(); ++n) {
    const Record& r = rs[n];
    if (n > 0 && !(std::tie(rs[n - 1].key, rs[n - 1].ts) < std::tie(r.key, r.ts))) {
      f.add(std::string(what) + ": not strictly sorted at " + r.key);
      return;
    }
    int w = -1;
    unsigned long long i = 0;
    size_t j = 0;
    if (std::sscanf(r.key.c_str(), "w%d/%llu/%zu", &w, &i, &j) != 3 || w < 0 || w >= kWriters) {
      f.add(std::string(what) + ": unexpected key " + r.key);
      return;
    }
    if (r.value != value_of(w, i, j) || r.ts != ts_of(i, j)) {
      f.add(std::string(what) + ": wrong contents for " + r.key);
      return;
    }
    by[{w, i}].push_back(&r);
  }
  for (int w = 0; w < kWriters; ++w) {
    std::vector<uint64_t> present;
    for (auto it = by.lower_bound({w, 0}); it != by.end() && it->first.first == w; ++it) {
      if (it->second.size() != batch_size(w, it->first.second)) {
        f.add(std::string(what) + ": torn batch w" + std::to_string(w) + "/" +
              std::to_string(it->first.second) + " (" + std::to_string(it->second.size()) +
              " records)");
      }
      present.push_back(it->first.second);
    }
    const uint64_t m = present.empty() ? 0 : present.back();
    if (m < acked_before[w]) {
      f.add(std::string(what) + ": writer " + std::to_string(w) + " acknowledged batch " +
            std::to_string(acked_before[w]) + " but the scan ends at " + std::to_string(m));
    }
    // Plain writers: a prefix 1..m; the window writer: exactly the last kWindow.
    const uint64_t lo = w == kWindowWriter ? (m > kWindow ? m - kWindow + 1 : 1) : 1;
    bool ok = present.size() == (m == 0 ? 0 : m - lo + 1);
    for (size_t n = 0; ok && n < present.size(); ++n) ok = present[n] == lo + n;
    if (!ok) {
      f.add(std::string(what) + ": writer " + std::to_string(w) + " batches are not " +
            std::to_string(lo) + ".." + std::to_string(m) + " (" + std::to_string(present.size()) +
            " present)");
    }
  }
}

void writer_main(Engine& e, Shared& s, int w, uint64_t batches) {
  try {
    for (uint64_t i = 1; i <= batches; ++i) {
      if (w == kWindowWriter) {
        WriteBatch b;
        for (size_t j = 0; j < batch_size(w, i); ++j) {
          b.put(Record(key_of(w, i, j), ts_of(i, j), value_of(w, i, j)));
        }
        if (i > kWindow) {
          const uint64_t old = i - kWindow;
          for (size_t j = 0; j < batch_size(w, old); ++j) b.del(key_of(w, old, j), ts_of(old, j));
        }
        e.write(WriteOptions{.sync = i % 50 == 0}, b);
      } else {
        std::vector<Record> rs;
        for (size_t j = 0; j < batch_size(w, i); ++j) {
          rs.emplace_back(key_of(w, i, j), ts_of(i, j), value_of(w, i, j));
        }
        if (i % 40 == 0) {
          e.write_batch_sync(rs);
        } else {
          e.write_batch(rs);
        }
      }
      s.acked[w].store(i, std::memory_order_release);
    }
  } catch (const std::exception& ex) {
    s.failures.add("writer " + std::to_string(w) + " threw: " + ex.what());
  }
}

void reader_main(Engine& e, Shared& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  try {
    while (!s.writers_done.load(std::memory_order_acquire)) {
      uint64_t acked[kWriters];
      for (int w = 0; w < kWriters; ++w) acked[w] = s.acked[w].load(std::memory_order_acquire);
      switch (rng() % 4) {
        case 0: {  // full scan through the iterator
          std::vector<Record> rs;
          for (const Record& r : e.scan(ScanRange::all())) rs.push_back(r);
          check_scan(rs, acked, s.failures, "scan");
          s.scans.fetch_add(1);
          break;
        }
        case 1: {  // a snapshot read twice must not change
          auto snap = e.get_snapshot();
          ReadOptions ro;
          ro.snapshot = snap;
          auto a = e.query(Query{ScanRange::all(), {}}, ro);
          check_scan(a, acked, s.failures, "snapshot query");
          auto b = e.query(Query{ScanRange::all(), {}}, ro);
          if (a != b) s.failures.add("a snapshot's query changed between two reads");
          s.snapshot_checks.fetch_add(1);
          break;
        }
        case 2: {  // point reads of acknowledged records
          for (int n = 0; n < 20; ++n) {
            const int w = static_cast<int>(rng() % kPlainWriters);
            if (acked[w] == 0) continue;
            const uint64_t i = 1 + rng() % acked[w];
            const size_t j = rng() % batch_size(w, i);
            auto r = e.get(key_of(w, i, j), ts_of(i, j));
            if (!r || r->value != value_of(w, i, j)) {
              s.failures.add("get of acknowledged " + key_of(w, i, j) + " failed");
            }
            auto l = e.get_latest(key_of(w, i, j));
            if (!l || l->ts != ts_of(i, j)) {
              s.failures.add("get_latest of acknowledged " + key_of(w, i, j) + " failed");
            }
            s.gets.fetch_add(1);
          }
          break;
        }
        default: {  // a time-range query over one bucket: sorted, nothing torn
          const int64_t b = static_cast<int64_t>(rng() % 16);
          auto rs = e.query(Query::time_range(b * kSec, b * kSec + kSec - 1));
          for (size_t n = 1; n < rs.size(); ++n) {
            if (!(std::tie(rs[n - 1].key, rs[n - 1].ts) < std::tie(rs[n].key, rs[n].ts))) {
              s.failures.add("time-range query not sorted");
              break;
            }
          }
          for (const auto& r : rs) {
            if (r.ts < b * kSec || r.ts >= (b + 1) * kSec) {
              s.failures.add("time-range query returned ts outside the range");
              break;
            }
          }
          s.scans.fetch_add(1);
        }
      }
    }
  } catch (const std::exception& ex) {
    s.failures.add(std::string("reader threw: ") + ex.what());
  }
}

void maintenance_main(Engine& e, Shared& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  try {
    while (!s.writers_done.load(std::memory_order_acquire)) {
      switch (rng() % 5) {
        case 0:
        case 1:
          e.flush();
          break;
        case 2:
          e.trigger_compaction();
          break;
        case 3:
          e.compact_bucket(static_cast<int64_t>(rng() % 16));
          break;
        default:
          e.trigger_gc();
      }
      s.maintenance_ops.fetch_add(1);
    }
  } catch (const std::exception& ex) {
    s.failures.add(std::string("maintenance threw: ") + ex.what());
  }
}

void final_check(Engine& e, const Shared& s, Failures& f, const char* what) {
  uint64_t acked[kWriters];
  for (int w = 0; w < kWriters; ++w) acked[w] = s.acked[w].load();
  check_scan(e.query(Query{ScanRange::all(), {}}), acked, f, what);
  for (int w = 0; w < kPlainWriters; ++w) {
    for (uint64_t i = 1; i <= acked[w]; i += 7) {
      auto r = e.get(key_of(w, i, 0), ts_of(i, 0));
      if (!r || r->value != value_of(w, i, 0)) {
        f.add(std::string(what) + ": missing " + key_of(w, i, 0));
      }
    }
  }
}

void run_concurrency(Config cfg, uint64_t batches, int readers) {
  Shared s;
  {
    auto e = Engine::open(cfg);
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] { writer_main(*e, s, w, batches); });
    }
    std::vector<std::thread> others;
    for (int r = 0; r < readers; ++r) {
      others.emplace_back([&, r] { reader_main(*e, s, 100 + static_cast<uint64_t>(r)); });
    }
    others.emplace_back([&] { maintenance_main(*e, s, 7); });
    for (auto& t : threads) t.join();
    s.writers_done.store(true, std::memory_order_release);
    for (auto& t : others) t.join();
    final_check(*e, s, s.failures, "after the run");
  }
  {
    Config c = cfg;
    c.auto_background = false;
    auto e = Engine::open(c);
    final_check(*e, s, s.failures, "after reopen");
  }
  INFO(s.failures.text());
  CHECK(s.failures.count() == 0);
  for (int w = 0; w < kWriters; ++w) CHECK(s.acked[w].load() == batches);
  CHECK(s.scans.load() > 0);
  CHECK(s.gets.load() > 0);
  CHECK(s.maintenance_ops.load() > 0);
  WARN("concurrency: " << s.scans.load() << " scans, " << s.snapshot_checks.load()
                       << " snapshot checks, " << s.gets.load() << " point reads, "
                       << s.maintenance_ops.load() << " maintenance operations");
}

Config conc_config(const std::string& dir, const ManualClock& clock) {
  Config c = test_config(dir, clock);
  c.time_bucket_secs = 1;
  c.memtable_size_mb = 1;
  c.block_size = 1024;
  c.compaction_threshold = 1;
  c.auto_background = true;
  c.compaction_interval_ms = 2;
  c.flush_interval_ms = 1;
  c.wal_sync_mode = SyncMode::interval_ms(5);
  return c;
}

}  // namespace

TEST_CASE("concurrent writers, readers and maintenance stay consistent",
          "[engine][concurrency][slow]") {
  const uint64_t batches = env_u64("FLOWDB_CONC_BATCHES", 2000);
  for (auto backend : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    DYNAMIC_SECTION((backend == StorageBackendKind::SingleFile ? "single-file" : "multi-file")) {
      TempDir dir;
      ManualClock clock;
      Config cfg = conc_config(dir.path(), clock);
      cfg.storage_backend = backend;
      run_concurrency(cfg, batches, 3);
    }
  }
}

TEST_CASE("concurrent sync writers share group commits and lose nothing", "[engine][concurrency]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = conc_config(dir.path(), clock);
  cfg.wal_sync_mode = SyncMode::always();
  cfg.auto_background = false;
  cfg.max_frozen_memtables = 1;  // writers stall on flushes too
  run_concurrency(cfg, env_u64("FLOWDB_CONC_BATCHES", 600) / 3, 2);
}
