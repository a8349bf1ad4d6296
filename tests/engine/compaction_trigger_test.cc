// Compaction by file count: a bucket past max(8, 4 x compaction_threshold)
// files is compacted at open and after a flush, without waiting for the
// compaction period. Otherwise a process that lives shorter than the period
// (power flapping, a crash loop) only ever adds files (issue 21).
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;

namespace {

constexpr int64_t kSec = 1'000'000;

Config trigger_config(const std::string& dir, const ManualClock& clock) {
  Config c = flowdb::testing::test_config(dir, clock);
  c.default_ttl_secs = std::nullopt;
  c.compaction_threshold = 2;             // eager limit: 8 files
  c.compaction_interval_ms = 86'400'000;  // the period never comes in a test
  c.gc_interval_secs = 86'400;
  return c;
}

// Writes 10 points of bucket 0 and flushes: one more table in bucket 0.
void add_table(Engine* e, int round) {
  std::vector<Record> rs;
  for (int i = 0; i < 10; ++i) rs.emplace_back("s" + std::to_string(i), round * 100 + i, "v");
  e->write_batch(rs);
  e->flush();
}

size_t files_in_bucket0(Engine* e) {
  auto bs = e->list_buckets();
  return bs.empty() ? 0 : bs.front().files;
}

// Waits until `pred` holds; false after a generous deadline (no timing is
// asserted: the deadline only keeps a broken build from hanging).
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

TEST_CASE("open compacts a bucket that earlier short runs left with many files",
          "[engine][compaction]") {
  TempDir dir;
  ManualClock clock;
  Config c = trigger_config(dir.path(), clock);
  c.auto_background = false;
  {
    auto e = Engine::open(c);
    for (int r = 0; r < 12; ++r) add_table(e.get(), r);
    REQUIRE(files_in_bucket0(e.get()) == 12);
  }
  c.auto_background = true;
  auto e = Engine::open(c);
  CHECK(eventually([&] { return files_in_bucket0(e.get()) == 1; }));
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 12 * 10);
}

TEST_CASE("flushes past the file-count limit compact the bucket before the period",
          "[engine][compaction]") {
  TempDir dir;
  ManualClock clock;
  Config c = trigger_config(dir.path(), clock);
  c.auto_background = true;
  auto e = Engine::open(c);
  for (int r = 0; r < 8; ++r) add_table(e.get(), r);
  // At the limit nothing is compacted early: the period's threshold rules.
  CHECK(files_in_bucket0(e.get()) == 8);
  add_table(e.get(), 8);
  CHECK(eventually([&] { return files_in_bucket0(e.get()) == 1; }));
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 9 * 10);
}

// Tiered compaction of a bucket that still receives writes (issue 21): a whole-bucket merge
// after every few flushes rewrites the growing bucket each time (quadratic in its size); the
// newest run of similar-sized files is enough while the bucket is open.
namespace {

// `n` points of bucket 0 under keys "k<first>".. and a flush: one table.
void add_points(Engine* e, int first, int n) {
  std::vector<Record> rs;
  for (int i = first; i < first + n; ++i) rs.emplace_back("k" + std::to_string(i), i, "value");
  e->write_batch(rs);
  e->flush();
}

// One big table of 5000 points, then five of 10: the layout a bucket has after a merge and
// a few more flushes.
void add_big_then_five_small(Engine* e) {
  add_points(e, 0, 5000);
  for (int r = 0; r < 5; ++r) add_points(e, 5000 + r * 10, 10);
}

}  // namespace

TEST_CASE("an open bucket's compaction merges only its newest files of similar size",
          "[engine][compaction]") {
  TempDir dir;
  ManualClock clock;  // now = 0: bucket 0 is the clock's bucket
  auto e = Engine::open(trigger_config(dir.path(), clock));
  add_big_then_five_small(e.get());
  REQUIRE(files_in_bucket0(e.get()) == 6);
  const uint64_t big = e->list_buckets().front().bytes;

  CHECK_FALSE(e->maybe_compact_bucket(0, 6));  // not over the limit
  REQUIRE(e->maybe_compact_bucket(0, 4));
  CHECK(files_in_bucket0(e.get()) == 2);
  // Only the five small tables were read, not the big one.
  CHECK(e->stats().compaction_bytes_in < big / 4);
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 5050);
}

TEST_CASE("a bucket the clock has left is merged whole", "[engine][compaction]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(trigger_config(dir.path(), clock));
  add_big_then_five_small(e.get());
  clock.set(60 * kSec);  // bucket 1
  REQUIRE(e->maybe_compact_bucket(0, 4));
  CHECK(files_in_bucket0(e.get()) == 1);
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 5050);
}

TEST_CASE("a bucket behind the clock that the memtable still writes into is merged tiered",
          "[engine][compaction]") {
  TempDir dir;
  ManualClock clock;
  clock.set(600 * kSec);  // a backlog: the clock is ten buckets ahead of the data
  auto e = Engine::open(trigger_config(dir.path(), clock));
  add_big_then_five_small(e.get());
  std::vector<Record> more{Record("k9999", 9999, "value")};
  e->write_batch(more);  // in the memtable, bucket 0
  REQUIRE(e->maybe_compact_bucket(0, 4));
  CHECK(files_in_bucket0(e.get()) == 2);
  e->flush();  // the memtable leaves bucket 0: the next merge takes all of it
  REQUIRE(e->maybe_compact_bucket(0, 1));
  CHECK(files_in_bucket0(e.get()) == 1);
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 5051);
}

TEST_CASE("a deletion in the newest files survives a merge that leaves older files out",
          "[engine][compaction]") {
  TempDir dir;
  ManualClock clock;
  Config c = trigger_config(dir.path(), clock);
  {
    auto e = Engine::open(c);
    add_points(e.get(), 0, 5000);  // k7@7 lives in the big table
    const std::pair<std::string, int64_t> del[] = {{"k7", 7}};
    e->delete_batch(del);
    add_points(e.get(), 5000, 10);  // the deletion lands in this small table
    for (int r = 1; r < 5; ++r) add_points(e.get(), 5000 + r * 10, 10);
    REQUIRE(e->maybe_compact_bucket(0, 4));
    REQUIRE(files_in_bucket0(e.get()) == 2);
    CHECK_FALSE(e->get("k7", 7).has_value());
    CHECK(e->get("k8", 8).has_value());
  }
  auto e = Engine::open(c);  // and after a restart, with the merged file on disk
  CHECK_FALSE(e->get("k7", 7).has_value());
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 5049);
  clock.set(60 * kSec);  // the whole-bucket merge may now drop the deletion
  REQUIRE(e->maybe_compact_bucket(0, 1));
  CHECK_FALSE(e->get("k7", 7).has_value());
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 5049);
}

TEST_CASE("many flushes into an open bucket rewrite each record a logarithmic number of times",
          "[engine][compaction]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(trigger_config(dir.path(), clock));
  constexpr int kFlushes = 64, kPer = 200;
  size_t max_files = 0;
  for (int r = 0; r < kFlushes; ++r) {
    add_points(e.get(), r * kPer, kPer);
    e->maybe_compact_bucket(0, 4);
    max_files = std::max(max_files, files_in_bucket0(e.get()));
  }
  const EngineStats s = e->stats();
  const uint64_t stored = e->list_buckets().front().bytes;
  INFO("compaction bytes in " << s.compaction_bytes_in << ", bucket bytes " << stored);
  // A binary counter of merges over 64 flushes reads each byte about log2(64 / 4) + 1 = 5
  // times (2.4x the bucket here); a whole-bucket merge every 4 flushes reads ~8.5x.
  CHECK(s.compaction_bytes_in <= 5 * stored);
  CHECK(max_files <= 4 + 7);
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == size_t{kFlushes} * kPer);
}
