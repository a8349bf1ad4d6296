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
