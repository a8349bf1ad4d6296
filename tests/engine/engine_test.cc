// Engine semantics: identity, ordering, TTL, deletes, partitioning, restart.
#include "flowdb/engine.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <random>

#include "engine_util.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;

namespace {

constexpr int64_t kSec = 1'000'000;

std::vector<std::pair<std::string, int64_t>> ids(const std::vector<Record>& rs) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : rs) out.emplace_back(r.key, r.ts);
  return out;
}

}  // namespace

TEST_CASE("a written record is read back by key and ts", "[engine]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  e->write_batch(std::vector<Record>{Record("k1", 10, "v1"), Record("k1", 20, "v2")});
  auto r = e->get("k1", 10);
  REQUIRE(r);
  CHECK(r->value == "v1");
  CHECK(r->expire_at == kNeverExpires);
  CHECK(e->get("k1", 20)->value == "v2");
  CHECK_FALSE(e->get("k1", 15));
  CHECK_FALSE(e->get("k2", 10));
  CHECK(e->get_latest("k1")->ts == 20);
}

TEST_CASE("rewriting the same key and ts replaces it in memtable, SSTs and after restart",
          "[engine]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  {
    auto e = Engine::open(cfg);
    e->write_batch(std::vector<Record>{Record("a", 1, "old")});
    e->flush();
    e->write_batch(std::vector<Record>{Record("a", 1, "mid")});
    CHECK(e->get("a", 1)->value == "mid");
    e->flush();
    CHECK(e->get("a", 1)->value == "mid");  // newer SST wins over older SST
    CHECK(e->query(Query::prefix("a")).size() == 1);
    e->write_batch(std::vector<Record>{Record("a", 1, "new")});
    CHECK(e->get("a", 1)->value == "new");
    e->flush();
    REQUIRE(e->trigger_compaction());
    CHECK(e->get("a", 1)->value == "new");
  }
  auto e = Engine::open(cfg);
  CHECK(e->get("a", 1)->value == "new");
  auto all = e->query(Query::prefix(""));
  REQUIRE(all.size() == 1);
  CHECK(all[0].value == "new");
}

TEST_CASE("results come ordered by key then ts, one per key and ts", "[engine][query]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  e->write_batch(
      std::vector<Record>{Record("b", 5, "x"), Record("a", 7, "x"), Record("a", 3, "x")});
  e->flush();
  e->write_batch(
      std::vector<Record>{Record("a", 5, "y"), Record("b", 5, "z"), Record("c", 1, "x")});
  auto got = ids(e->query(Query::prefix("")));
  std::vector<std::pair<std::string, int64_t>> want{
      {"a", 3}, {"a", 5}, {"a", 7}, {"b", 5}, {"c", 1}};
  CHECK(got == want);
  CHECK(e->get("b", 5)->value == "z");
}

TEST_CASE("key ranges are half-open, time ranges inclusive, prefixes match bytes",
          "[engine][query]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  std::vector<Record> rs;
  for (const std::string& k :
       std::vector<std::string>{"ab", "abc", "abd", "ac", std::string("ab\0x", 4)}) {
    for (int64_t t = 0; t < 5; ++t) rs.emplace_back(k, t * kSec, "v");
  }
  e->write_batch(rs);
  CHECK(e->query(Query::key_range("ab", "abd")).size() == 15);  // ab, ab\0x, abc
  CHECK(e->query(Query::prefix("ab")).size() == 20);
  CHECK(e->query(Query::time_range(1 * kSec, 3 * kSec)).size() == 15);
  auto r = e->query(Query::prefix_time_range("abc", 2 * kSec, 2 * kSec));
  REQUIRE(r.size() == 1);
  CHECK(r[0].ts == 2 * kSec);
  CHECK(e->query(Query::key_time_range("abc", "ac", 4 * kSec, 4 * kSec)).size() == 2);
  e->flush();
  CHECK(e->query(Query::key_range("ab", "abd")).size() == 15);
  CHECK(e->query(Query::time_range(1 * kSec, 3 * kSec)).size() == 15);
}

TEST_CASE("a limit applies after filtering", "[engine][query]") {
  TempDir dir;
  ManualClock clock;
  clock.set(1000 * kSec);
  auto e = Engine::open(test_config(dir.path(), clock));
  std::vector<Record> rs;
  for (int i = 0; i < 10; ++i) {
    Record r("k" + std::to_string(i), 1000 * kSec, "v");
    if (i < 5) r.expire_at = 1 * kSec;  // already expired
    rs.push_back(r);
  }
  e->write_batch(rs);
  auto got = e->query(Query::prefix("k").with_limit(3));
  REQUIRE(got.size() == 3);
  CHECK(got[0].key == "k5");
}

TEST_CASE("TTL hides records once expire_at passes, in memtable and SSTs", "[engine][ttl]") {
  TempDir dir;
  ManualClock clock;
  clock.set(100 * kSec);
  auto cfg = test_config(dir.path(), clock);
  cfg.default_ttl_secs = 50;
  auto e = Engine::open(cfg);
  e->write_batch(std::vector<Record>{Record("d", 100 * kSec, "default")});
  e->write_batch_ttl(std::vector<Record>{Record("t", 100 * kSec, "ttl10")}, 10);
  CHECK(e->get("d", 100 * kSec)->expire_at == 150 * kSec);
  CHECK(e->get("t", 100 * kSec)->expire_at == 110 * kSec);
  clock.set(110 * kSec);
  CHECK_FALSE(e->get("t", 100 * kSec));  // expire_at <= now is invisible
  CHECK(e->get("d", 100 * kSec));
  e->flush();
  CHECK_FALSE(e->get("t", 100 * kSec));
  CHECK(e->query(Query::prefix("")).size() == 1);
  clock.set(150 * kSec);
  CHECK_FALSE(e->get("d", 100 * kSec));
  CHECK(e->query(Query::prefix("")).empty());
}

TEST_CASE("TTL saturates instead of overflowing", "[engine][ttl]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  int64_t ts = std::numeric_limits<int64_t>::max() - 5;
  e->write_batch_ttl(std::vector<Record>{Record("x", ts, "v")}, 1000);
  CHECK(e->get("x", ts)->expire_at == kNeverExpires);
}

TEST_CASE("deletes hide only earlier writes", "[engine][delete]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  auto e = Engine::open(cfg);
  e->write_batch(
      std::vector<Record>{Record("a", 1, "1"), Record("b", 1, "1"), Record("c", 1, "1")});
  e->flush();
  std::vector<std::pair<std::string, int64_t>> del{{"a", 1}};
  e->delete_batch(del);
  e->delete_range("b", "c");
  CHECK_FALSE(e->get("a", 1));
  CHECK_FALSE(e->get("b", 1));
  CHECK(e->get("c", 1));
  // Later writes are not hidden by the earlier range tombstone.
  e->write_batch(std::vector<Record>{Record("b", 2, "later"), Record("a", 1, "again")});
  CHECK(e->get("b", 2)->value == "later");
  CHECK(e->get("a", 1)->value == "again");
  e->flush();
  e->trigger_compaction();
  CHECK(e->get("b", 2)->value == "later");
  CHECK_FALSE(e->get("b", 1));
  e.reset();
  e = Engine::open(cfg);
  CHECK(e->get("b", 2)->value == "later");
  CHECK_FALSE(e->get("b", 1));
  CHECK(e->get("a", 1)->value == "again");
  CHECK(ids(e->query(Query::prefix(""))) ==
        std::vector<std::pair<std::string, int64_t>>{{"a", 1}, {"b", 2}, {"c", 1}});
}

TEST_CASE("each SST holds one time bucket and time reads open only overlapping buckets",
          "[engine][buckets]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));  // 60 s buckets
  std::vector<Record> rs;
  for (int b = 0; b < 10; ++b) {
    for (int i = 0; i < 50; ++i) rs.emplace_back("s" + std::to_string(i), b * 60 * kSec + i, "v");
  }
  e->write_batch(rs);
  e->flush();
  auto buckets = e->list_buckets();
  REQUIRE(buckets.size() == 10);
  for (const auto& b : buckets) {
    CHECK(b.files == 1);
    CHECK(b.min_ts >= b.start_ts);
    CHECK(b.max_ts <= b.end_ts);
  }
  auto before = e->stats().files_opened_by_reads;
  auto got = e->query(Query::time_range(3 * 60 * kSec, 4 * 60 * kSec - 1));
  CHECK(got.size() == 50);
  CHECK(e->stats().files_opened_by_reads - before == 1);
}

TEST_CASE("late data lands in its own bucket", "[engine][buckets]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  e->write_batch(std::vector<Record>{Record("s", 600 * kSec, "now")});
  e->flush();
  e->write_batch(std::vector<Record>{Record("s", 5 * kSec, "late")});
  e->flush();
  auto buckets = e->list_buckets();
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0].bucket == 0);
  CHECK(buckets[1].bucket == 10);
  CHECK(e->get("s", 5 * kSec)->value == "late");
  CHECK(e->get_latest("s")->value == "now");
}

TEST_CASE("the memtable is frozen at the first write after the clock leaves its bucket",
          "[engine][buckets]") {
  for (const bool at_bucket_end : {true, false}) {
    INFO("flush_at_bucket_end " << at_bucket_end);
    TempDir dir;
    ManualClock clock;
    clock.set(10 * kSec);
    auto cfg = test_config(dir.path(), clock);  // 60 s buckets
    cfg.flush_at_bucket_end = at_bucket_end;
    auto e = Engine::open(cfg);
    e->write_batch(std::vector<Record>{Record("s", 10 * kSec, "a")});
    clock.set(59 * kSec);
    e->write_batch(std::vector<Record>{Record("s", 59 * kSec, "b")});
    CHECK(e->stats().memtable_records == 2);  // same bucket of the clock: kept
    clock.set(61 * kSec);
    e->write_batch(std::vector<Record>{Record("s", 61 * kSec, "c")});
    CHECK(e->stats().memtable_records == (at_bucket_end ? 1 : 3));
    e->flush();
    const auto buckets = e->list_buckets();
    REQUIRE(buckets.size() == 2);
    CHECK(buckets[0].files == 1);
    CHECK(buckets[1].files == 1);
    CHECK(e->get_latest("s")->value == "c");
    CHECK(e->get("s", 10 * kSec)->value == "a");
  }
}

TEST_CASE("GC deletes wholly expired files without rewriting", "[engine][gc]") {
  TempDir dir;
  ManualClock clock;
  clock.set(1000 * kSec);
  auto e = Engine::open(test_config(dir.path(), clock));
  std::vector<Record> old, young;
  for (int i = 0; i < 100; ++i) old.emplace_back("k" + std::to_string(i), 0 + i, "v");
  for (int i = 0; i < 100; ++i) young.emplace_back("k" + std::to_string(i), 120 * kSec + i, "v");
  e->write_batch_ttl(old, 1100);    // expires at 1100 s
  e->write_batch_ttl(young, 5000);  // much later
  e->flush();
  CHECK(e->trigger_gc().files == 0);
  clock.set(1101 * kSec);
  auto r = e->trigger_gc();
  CHECK(r.files == 1);
  CHECK(r.records == 100);
  CHECK(e->list_buckets().size() == 1);
  CHECK(e->query(Query::prefix("")).size() == 100);
  CHECK(e->stats().compaction_bytes_out == 0);  // nothing was rewritten
}

TEST_CASE("a newer expired version never uncovers an older one", "[engine][gc]") {
  TempDir dir;
  ManualClock clock;
  clock.set(10 * kSec);
  auto e = Engine::open(test_config(dir.path(), clock));
  e->write_batch(std::vector<Record>{Record("k", 1, "forever")});
  e->flush();
  e->write_batch_ttl(std::vector<Record>{Record("k", 1, "short")}, 5);
  e->flush();
  clock.set(100 * kSec);
  CHECK_FALSE(e->get("k", 1));
  e->trigger_gc();
  CHECK_FALSE(e->get("k", 1));
  CHECK(e->query(Query::prefix("")).empty());
  e->trigger_compaction();
  CHECK_FALSE(e->get("k", 1));
}

TEST_CASE("patch_record replaces value and ttl atomically", "[engine]") {
  TempDir dir;
  ManualClock clock;
  clock.set(100 * kSec);
  auto e = Engine::open(test_config(dir.path(), clock));
  e->write_batch(std::vector<Record>{Record("k", 100 * kSec, "v1")});
  auto r = e->patch_record("k", 100 * kSec, std::string("v2"), std::nullopt);
  CHECK(r.value == "v2");
  CHECK(r.expire_at == kNeverExpires);
  r = e->patch_record("k", 100 * kSec, std::nullopt, 30);
  CHECK(r.value == "v2");
  CHECK(r.expire_at == 130 * kSec);
  CHECK(e->get("k", 100 * kSec)->expire_at == 130 * kSec);
  CHECK_THROWS_MATCHES(
      e->patch_record("missing", 1, std::string("x"), std::nullopt), Error,
      Catch::Predicate<Error>([](const Error& x) { return x.code() == Errc::NotFound; }));
}

TEST_CASE("a scan sees a snapshot and is usable in range-for", "[engine][scan]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  std::vector<Record> rs;
  for (int i = 0; i < 1000; ++i) rs.emplace_back("k" + std::to_string(1000 + i), i, "v");
  e->write_batch(rs);
  auto it = e->scan(ScanRange::prefix("k"));
  e->write_batch(std::vector<Record>{Record("k0", 0, "late")});  // after the scan began
  std::vector<Record> deleted_after{};
  std::vector<std::pair<std::string, int64_t>> del{{"k1000", 0}};
  e->delete_batch(del);
  int n = 0;
  std::string last;
  for (const Record& r : it) {
    CHECK(r.key > last);
    last = r.key;
    ++n;
  }
  CHECK(n == 1000);
}

TEST_CASE("operations after close throw Closed", "[engine]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  e->close();
  e->close();  // idempotent
  CHECK_THROWS_MATCHES(e->get("k", 1), Error, Catch::Predicate<Error>([](const Error& x) {
                         return x.code() == Errc::Closed;
                       }));
  CHECK_THROWS_AS(e->write_batch(std::vector<Record>{Record("k", 1, "v")}), Error);
}

TEST_CASE("a second open of the same directory is Busy", "[engine]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  CHECK_THROWS_MATCHES(
      Engine::open(test_config(dir.path(), clock)), Error,
      Catch::Predicate<Error>([](const Error& x) { return x.code() == Errc::Busy; }));
}

TEST_CASE("config validation names the field and range", "[engine][config]") {
  Config c;
  c.data_dir = "/tmp/x";
  c.block_size = 10;
  try {
    c.validate();
    FAIL("validate accepted block_size 10");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::InvalidArgument);
    CHECK_THAT(e.what(), Catch::Contains("block_size") && Catch::Contains("[256"));
  }
  Config d;
  CHECK_THROWS_WITH(d.validate(), Catch::Contains("data_dir"));
}

TEST_CASE("binary keys and values round-trip", "[engine]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  std::string k("\0\xff\x01key", 6), v("\0\0value\xff", 8);
  e->write_batch(std::vector<Record>{Record(k, -5, v)});
  e->flush();
  auto r = e->get(k, -5);
  REQUIRE(r);
  CHECK(r->value == v);
  CHECK(e->query(Query::prefix(std::string("\0", 1))).size() == 1);
}

TEST_CASE("the single-file backend stores, reads and reclaims dropped space",
          "[engine][singlefile]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  cfg.storage_backend = StorageBackendKind::SingleFile;
  cfg.compression = Compression::none();
  std::string big(1000, 'x');
  {
    auto e = Engine::open(cfg);
    for (int b = 0; b < 4; ++b) {
      std::vector<Record> rs;
      for (int i = 0; i < 200; ++i) rs.emplace_back("k" + std::to_string(i), b * 60 * kSec, big);
      e->write_batch(rs);
      e->flush();
    }
    CHECK(e->list_buckets().size() == 4);
    uint64_t before = e->disk_usage();
    CHECK(e->drop_bucket(0).files == 1);
    CHECK(e->drop_bucket(3).files == 1);
    uint64_t after = e->disk_usage();
    CHECK(after + 300'000 < before);  // two ~200 KB tables reclaimed
    CHECK(e->query(Query::prefix("")).size() == 400);
  }
  auto e = Engine::open(cfg);
  CHECK(e->query(Query::prefix("")).size() == 400);
  CHECK(e->get("k5", 60 * kSec)->value == big);
}

// The metrics made of these stats: tests/agent/engine_metrics_test.cc.
TEST_CASE("stats report activity", "[engine][stats]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(test_config(dir.path(), clock));
  e->write_batch(std::vector<Record>{Record("a", 1, "xyz")});
  e->flush();
  e->get("a", 1);
  auto s = e->stats();
  CHECK(s.total_records_written == 1);
  CHECK(s.total_bytes_written == 4);
  CHECK(s.total_flushes == 1);
  CHECK(s.sstable_count == 1);
  CHECK(s.records_purged_by_gc == 0);
  // The latency histograms (the agent's flowdb_engine_*_duration_seconds).
  CHECK(s.write_latency.count >= 1);
  CHECK(s.query_latency.count == 1);
  CHECK(s.flush_latency.count == 1);
  for (const LatencyStats* l : {&s.write_latency, &s.query_latency, &s.flush_latency}) {
    REQUIRE_FALSE(l->upper_bounds_us.empty());
    REQUIRE(l->counts.size() == l->upper_bounds_us.size());
    CHECK(std::is_sorted(l->upper_bounds_us.begin(), l->upper_bounds_us.end()));
    CHECK(l->count_at_most(l->upper_bounds_us.back()) == l->count);
    CHECK(l->count_at_most(l->upper_bounds_us.front()) == l->counts.front());
  }
}
