// One deterministic scenario per defect class of the Rust original (and of
// ours, once found): each would fail on the code that had the defect.
#include <catch2/catch.hpp>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"
#include "model.h"

using namespace flowdb;
using namespace flowdb::testing;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;

namespace {

std::vector<std::pair<std::string, int64_t>> ids(const std::vector<Record>& rs) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : rs) out.emplace_back(r.key, r.ts);
  return out;
}

std::vector<Record> all_of(Engine& e) { return e.query(Query{ScanRange::all(), {}}); }

}  // namespace

TEST_CASE("the newest version wins across memtables, flushes, compaction and reopen",
          "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  cfg.compaction_threshold = 1;
  auto e = Engine::open(cfg);
  auto put = [&](const char* v) { e->write_batch(std::vector<Record>{Record("k", 5, v)}); };
  auto expect = [&](const char* v) {
    INFO("expected " << v);
    REQUIRE(e->get("k", 5));
    CHECK(e->get("k", 5)->value == v);
    CHECK(e->get_latest("k")->value == v);
    auto all = all_of(*e);
    REQUIRE(all.size() == 1);
    CHECK(all[0].value == v);
  };
  put("v1");
  e->flush();
  expect("v1");
  put("v2");
  expect("v2");
  e->flush();  // two SSTs: the newer must win, whatever the file numbers
  expect("v2");
  put("v3");
  put("v4");  // two versions in one memtable
  expect("v4");
  e->flush();
  expect("v4");
  CHECK(e->trigger_compaction());
  expect("v4");
  put("v5");
  e->flush();
  put("v6");
  e->flush();
  expect("v6");
  e.reset();
  e = Engine::open(cfg);
  expect("v6");
  CHECK(e->compact_bucket(0));
  expect("v6");
  // A batch that writes the same (key, ts) twice: the later entry wins.
  e->write_batch(std::vector<Record>{Record("k", 5, "first"), Record("k", 5, "second")});
  expect("second");
  e->flush();
  expect("second");
  e.reset();
  e = Engine::open(cfg);
  expect("second");
}

TEST_CASE("a range tombstone never hides writes made after it", "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  auto e = Engine::open(cfg);
  e->write_batch(
      std::vector<Record>{Record("a1", 1, "old"), Record("a2", 1, "old"), Record("b", 1, "keep")});
  e->flush();
  e->delete_range("a", "b");
  e->write_batch(std::vector<Record>{Record("a1", 1, "new"), Record("a3", 2, "new")});
  auto check = [&](const char* when) {
    INFO(when);
    CHECK(e->get("a1", 1).value_or(Record()).value == "new");
    CHECK_FALSE(e->get("a2", 1));
    CHECK(e->get("a3", 2).value_or(Record()).value == "new");
    CHECK(ids(all_of(*e)) ==
          std::vector<std::pair<std::string, int64_t>>{{"a1", 1}, {"a3", 2}, {"b", 1}});
  };
  check("memtable");
  e->flush();
  check("after flush");
  e->write_batch(std::vector<Record>{Record("a1", 1, "new")});
  e->flush();
  e->write_batch(std::vector<Record>{Record("a1", 1, "new")});
  e->flush();
  CHECK(e->trigger_compaction());
  check("after compaction");
  e.reset();
  e = Engine::open(cfg);
  check("after reopen");
  e->delete_range("a", "a2");
  e->write_batch(std::vector<Record>{Record("a1", 1, "new")});
  e.reset();
  e = Engine::open(cfg);
  check("after a second range delete, rewrite and reopen");
  e.reset();
  e = Engine::open(cfg);
  check("after another reopen");
}

TEST_CASE("compaction keeps deletions effective when older data lives in other files",
          "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);  // 60 s buckets
  cfg.compaction_threshold = 1;
  auto e = Engine::open(cfg);
  constexpr int64_t kB = 60 * kSec;
  // Bucket 0 and 1 data in the oldest files.
  e->write_batch(std::vector<Record>{Record("x", 1, "x0"), Record("y", 1, "y0"),
                                     Record("x", kB + 1, "x1"), Record("y", kB + 1, "y1"),
                                     Record("z", kB + 2, "z1")});
  e->flush();
  // Deletions in newer files: a point delete and a range delete.
  std::vector<std::pair<std::string, int64_t>> del{{"x", 1}, {"x", kB + 1}};
  e->delete_batch(del);
  e->delete_range("y", "z");
  e->write_batch(std::vector<Record>{Record("w", 2, "w0")});  // bucket 0 gets a 2nd file
  e->flush();
  auto want = std::vector<std::pair<std::string, int64_t>>{{"w", 2}, {"z", kB + 2}};
  CHECK(ids(all_of(*e)) == want);
  // Compact only bucket 0: bucket 1 still holds the old x1/y1 in its own files.
  CHECK(e->compact_bucket(0));
  CHECK(ids(all_of(*e)) == want);
  CHECK_FALSE(e->get("y", kB + 1));
  CHECK_FALSE(e->get("x", kB + 1));
  e.reset();
  e = Engine::open(cfg);
  CHECK(ids(all_of(*e)) == want);
  CHECK_FALSE(e->get("y", kB + 1));
  CHECK_FALSE(e->get_latest("y"));
  CHECK_FALSE(e->get_latest("x"));
  // Now the rest, and GC, and reopen again.
  e->trigger_compaction();
  e->trigger_gc();
  CHECK(ids(all_of(*e)) == want);
  e.reset();
  e = Engine::open(cfg);
  CHECK(ids(all_of(*e)) == want);
  CHECK(e->stats().range_tombstones <= 1);
}

TEST_CASE("a point tombstone outlives compaction of its own file while the value is older",
          "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  cfg.compaction_threshold = 100;  // only explicit compactions
  auto e = Engine::open(cfg);
  e->write_batch(std::vector<Record>{Record("k", 1, "old")});
  e->flush();  // file A: the value
  std::vector<std::pair<std::string, int64_t>> del{{"k", 1}};
  e->delete_batch(del);
  e->flush();  // file B: the tombstone
  e->write_batch(std::vector<Record>{Record("other", 2, "v")});
  e->flush();  // file C
  CHECK_FALSE(e->get("k", 1));
  CHECK(e->compact_bucket(0));
  CHECK_FALSE(e->get("k", 1));
  CHECK(ids(all_of(*e)) == std::vector<std::pair<std::string, int64_t>>{{"other", 2}});
  e.reset();
  e = Engine::open(cfg);
  CHECK_FALSE(e->get("k", 1));
  CHECK_FALSE(e->get_latest("k"));
}

TEST_CASE("time-range queries find every record, across buckets, blocks and negative ts",
          "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  cfg.time_bucket_secs = 1;
  cfg.block_size = 256;  // many blocks, each spanning many ts (key-major order)
  auto e = Engine::open(cfg);
  Model model;
  std::vector<Record> rs;
  std::mt19937_64 rng(7);
  for (int k = 0; k < 30; ++k) {
    for (int i = 0; i < 40; ++i) {
      int64_t ts = static_cast<int64_t>(rng() % (8 * kSec)) - 4 * kSec;
      Record r("s" + std::to_string(k), ts, "v" + std::to_string(i));
      rs.push_back(r);
      model.put(r);
    }
  }
  e->write_batch(std::vector<Record>(rs.begin(), rs.begin() + 600));
  e->flush();
  e->write_batch(std::vector<Record>(rs.begin() + 600, rs.end()));
  auto check = [&](const char* when) {
    INFO(when);
    std::vector<std::pair<int64_t, int64_t>> windows = {
        {-4 * kSec, 4 * kSec}, {-1, 0},          {0, 0},
        {-kSec, -1},           {kSec - 1, kSec}, {-3 * kSec + 17, 2 * kSec - 17},
        {kMinTs, kMaxTs},      {kMinTs, -1},     {0, kMaxTs}};
    for (int i = 0; i < 20; ++i) {
      int64_t a = static_cast<int64_t>(rng() % (8 * kSec)) - 4 * kSec;
      int64_t b = a + static_cast<int64_t>(rng() % (2 * kSec));
      windows.emplace_back(a, b);
    }
    for (auto [a, b] : windows) {
      INFO("window [" << a << ", " << b << "]");
      auto want = model.query(ScanRange::time_range(a, b), {}, 0);
      auto got = e->query(Query::time_range(a, b));
      CHECK(got.size() == want.size());
      CHECK(got == want);
      auto want_p = model.query(ScanRange::prefix_time_range("s1", a, b), {}, 0);
      CHECK(e->query(Query::prefix_time_range("s1", a, b)) == want_p);
      auto want_k = model.query(ScanRange::key_time_range("s12", "s20", a, b), {}, 0);
      CHECK(e->query(Query::key_time_range("s12", "s20", a, b)) == want_k);
    }
  };
  check("half flushed");
  e->flush();
  check("flushed");
  e->trigger_compaction();
  check("compacted");
  e.reset();
  e = Engine::open(cfg);
  check("reopened");
}

TEST_CASE("sequence numbers continue after reopen so replay never skips writes",
          "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  cfg.wal_sync_mode = SyncMode::always();
  uint64_t last_seq = 0;
  Model model;
  for (int round = 0; round < 6; ++round) {
    INFO("round " << round);
    auto e = Engine::open(cfg);
    CHECK(e->stats().last_sequence >= last_seq);
    CHECK(all_of(*e) == model.query(ScanRange::all(), {}, 0));
    // Overwrite earlier records, delete some, range-delete then rewrite.
    std::vector<Record> rs;
    for (int i = 0; i < 5; ++i) {
      Record r("k" + std::to_string(i), i, "r" + std::to_string(round));
      rs.push_back(r);
      model.put(r);
    }
    e->write_batch(rs);
    if (round % 2 == 1) {
      e->delete_range("k3", "k5");
      model.delete_range("k3", "k5");
      std::vector<Record> again{Record("k4", 4, "after-range-" + std::to_string(round))};
      e->write_batch(again);
      model.put(again[0]);
    }
    if (round == 3) e->flush();
    CHECK(all_of(*e) == model.query(ScanRange::all(), {}, 0));
    last_seq = e->stats().last_sequence;
    CHECK(last_seq > 0);
    // Closing without a flush is the Rust bug's trigger: the next session's
    // writes must get larger sequence numbers than everything in the WAL/SSTs.
  }
  auto e = Engine::open(cfg);
  CHECK(all_of(*e) == model.query(ScanRange::all(), {}, 0));
  CHECK(e->get("k4", 4)->value == "after-range-5");
}

TEST_CASE("a write batch is all-or-nothing", "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  auto e = Engine::open(cfg);
  WriteBatch bad;
  bad.put(Record("p", 1, "v"));
  bad.del("q", 1);
  bad.delete_range("z", "a");  // invalid: start >= end
  CHECK_THROWS_MATCHES(e->write(bad), Error, Catch::Predicate<Error>([](const Error& x) {
                         return x.code() == Errc::InvalidArgument;
                       }));
  CHECK_FALSE(e->get("p", 1));
  CHECK(all_of(*e).empty());
  CHECK(e->stats().last_sequence == 0);
  // A big batch is visible whole or not at all to a scan started meanwhile.
  std::vector<Record> big;
  for (int i = 0; i < 3000; ++i)
    big.emplace_back("b" + std::to_string(i), i, std::string(300, 'x'));
  {
    auto before = e->scan(ScanRange::all());
    e->write_batch(big);  // more than the 1 MiB memtable: it must not be split
    int n = 0;
    while (before.next()) ++n;
    CHECK(n == 0);
  }
  CHECK(all_of(*e).size() == 3000);
  e.reset();
  e = Engine::open(cfg);
  CHECK(all_of(*e).size() == 3000);
}

TEST_CASE("block_size counts bytes, not records", "[engine][model][regression]") {
  TempDir dir_small, dir_big;
  ManualClock clock;
  auto cfg_small = test_config(dir_small.path(), clock);
  auto cfg_big = test_config(dir_big.path(), clock);
  cfg_small.block_size = cfg_big.block_size = 4096;
  cfg_small.compression = cfg_big.compression = Compression::none();
  auto small = Engine::open(cfg_small);
  auto big = Engine::open(cfg_big);
  std::vector<Record> s, b;
  for (int i = 0; i < 200; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "k%04d", i);
    s.emplace_back(k, 1, "v");
    b.emplace_back(k, 1, std::string(1000, 'v'));
  }
  small->write_batch(s);
  big->write_batch(b);
  small->flush();
  big->flush();
  const auto ns = small->stats().block_meta_index_entries;
  const auto nb = big->stats().block_meta_index_entries;
  // 200 tiny entries (~30 B) fit in 2 blocks of 4 KiB; 200 KB of values need ~50.
  CHECK(ns >= 1);
  CHECK(ns <= 3);
  CHECK(nb >= 45);
  CHECK(nb <= 60);
}

TEST_CASE("fill_cache=false leaves the block cache untouched", "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  {
    auto e = Engine::open(cfg);
    std::vector<Record> rs;
    for (int i = 0; i < 500; ++i)
      rs.emplace_back("k" + std::to_string(i), i, std::string(200, 'v'));
    e->write_batch(rs);
  }
  auto e = Engine::open(cfg);  // fresh, empty cache
  REQUIRE(e->stats().sstable_count >= 1);
  CHECK(e->stats().block_cache_bytes == 0);
  ReadOptions no_fill;
  no_fill.fill_cache = false;
  CHECK(e->query(Query{ScanRange::all(), {}}, no_fill).size() == 500);
  CHECK(e->get("k7", 7, no_fill).value_or(Record()).value == std::string(200, 'v'));
  CHECK(e->get_latest("k9", no_fill).value_or(Record()).ts == 9);
  std::vector<Record> scanned;
  for (const Record& r : e->scan(ScanRange::prefix("k1"), no_fill)) scanned.push_back(r);
  CHECK(scanned.size() == 111);
  CHECK(e->stats().block_cache_bytes == 0);
  CHECK(e->stats().blocks_read_from_disk > 0);
  // The default does fill it.
  CHECK(e->query(Query{ScanRange::all(), {}}).size() == 500);
  CHECK(e->stats().block_cache_bytes > 0);
}

TEST_CASE("a query limit applies after every filter", "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  clock.set(100 * kSec);
  auto cfg = test_config(dir.path(), clock);
  auto e = Engine::open(cfg);
  std::vector<Record> rs;
  for (int i = 0; i < 20; ++i) {
    Record r("k" + std::to_string(100 + i), (i % 4) * kSec, "v");
    if (i % 3 == 0) r.expire_at = 50 * kSec;  // expired
    rs.push_back(r);
  }
  e->write_batch(rs);
  e->flush();
  std::vector<std::pair<std::string, int64_t>> del{{"k101", 1 * kSec}, {"k104", 0}};
  e->delete_batch(del);
  e->delete_range("k105", "k108");
  Model m;
  for (auto& r : rs) m.put(r);
  m.del("k101", 1 * kSec);
  m.del("k104", 0);
  m.delete_range("k105", "k108");
  for (size_t limit : {1, 2, 3, 5, 100}) {
    INFO("limit " << limit);
    CHECK(e->query(Query::prefix("k").with_limit(limit)) ==
          m.query(ScanRange::prefix("k"), limit, clock.now->load()));
    CHECK(e->query(Query::time_range(1 * kSec, 2 * kSec).with_limit(limit)) ==
          m.query(ScanRange::time_range(1 * kSec, 2 * kSec), limit, clock.now->load()));
  }
  CHECK(e->query(Query::prefix("k").with_limit(3)).size() == 3);
  CHECK(e->query(Query::prefix("k").with_limit(0)).empty());
}

TEST_CASE("get_latest finds records in the lowest and highest time buckets",
          "[engine][model][regression]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  auto e = Engine::open(cfg);
  e->write_batch(std::vector<Record>{Record("lo", kMinTs, "min"), Record("lo1", kMinTs + 1, "min1"),
                                     Record("hi", kMaxTs, "max")});
  for (const char* when : {"memtable", "flushed"}) {
    INFO(when);
    CHECK(e->get("lo", kMinTs).value_or(Record()).value == "min");
    CHECK(e->get_latest("lo").value_or(Record()).value == "min");
    CHECK(e->get_latest("lo1").value_or(Record()).value == "min1");
    CHECK(e->get_latest("hi").value_or(Record()).value == "max");
    CHECK(e->query(Query::time_range(kMinTs, kMinTs)).size() == 1);
    e->flush();
  }
}

TEST_CASE("a key range with an empty end has no upper bound", "[engine][model][regression]") {
  // query.h: "Key ranges are half-open [start, end); an empty `end` means
  // 'no upper bound'."
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  e->write_batch(
      std::vector<Record>{Record("a", 1, "v"), Record("m", 1, "v"), Record("z", 1, "v")});
  CHECK(ids(e->query(Query::key_range("m", ""))) ==
        std::vector<std::pair<std::string, int64_t>>{{"m", 1}, {"z", 1}});
  CHECK(e->query(Query::key_time_range("", "", 0, 5)).size() == 3);
  std::vector<Record> scanned;
  for (const Record& r : e->scan(ScanRange::key_range("b", ""))) scanned.push_back(r);
  CHECK(scanned.size() == 2);
}

TEST_CASE("removing the last file of a bucket leaves the other buckets intact",
          "[engine][model][regression]") {
  // Emptying a bucket erases its map entry while the edit is applied.
  TempDir dir;
  ManualClock clock;
  clock.set(1000 * kSec);
  auto cfg = test_config(dir.path(), clock);  // 60 s buckets
  cfg.compaction_threshold = 1;
  auto e = Engine::open(cfg);
  for (int round = 0; round < 2; ++round) {
    std::vector<Record> rs;
    for (int b = 0; b < 6; ++b) rs.emplace_back("k" + std::to_string(round), b * 60 * kSec, "v");
    e->write_batch(rs);
    e->flush();
  }
  REQUIRE(e->list_buckets().size() == 6);
  CHECK(e->drop_bucket(0).files == 2);  // first
  CHECK(e->drop_bucket(3).files == 2);  // middle
  CHECK(e->drop_bucket(5).files == 2);  // last
  auto left = e->list_buckets();
  REQUIRE(left.size() == 3);
  CHECK(left[0].bucket == 1);
  CHECK(left[1].bucket == 2);
  CHECK(left[2].bucket == 4);
  CHECK(e->trigger_compaction());  // replaces every remaining bucket's files
  CHECK(e->list_buckets().size() == 3);
  CHECK(e->query(Query{ScanRange::all(), {}}).size() == 6);
  e.reset();
  e = Engine::open(cfg);
  CHECK(e->list_buckets().size() == 3);
  CHECK(e->query(Query{ScanRange::all(), {}}).size() == 6);
}
