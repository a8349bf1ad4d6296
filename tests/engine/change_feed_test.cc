// Change feeds: commit-order reads from the WAL, durable cursors, WAL
// retention and trimming, power loss.
#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "engine_util.h"
#include "flowdb/engine.h"
#include "flowdb/fault_injection_env.h"

namespace flowdb {
namespace {

using testing::ManualClock;
using testing::TempDir;

Record rec(int i, int64_t ts) {
  return Record("series-" + std::to_string(i % 7), ts, "v" + std::to_string(i));
}

// Reads everything available, in chunks of `chunk` records.
std::vector<Change> drain(ChangeFeed& feed, size_t chunk = 1000) {
  std::vector<Change> out;
  while (feed.read(chunk, 1 << 20, &out) > 0) {
  }
  return out;
}

size_t wal_files(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/wal")) n += e.is_regular_file();
  return n;
}

TEST_CASE("a feed returns every put after its start, in commit order", "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  clock.set(1'000'000'000);
  auto db = Engine::open(testing::test_config(dir.path(), clock));
  db->write_batch(std::vector<Record>{rec(-1, 5)});  // before the feed: not reported
  auto feed = db->open_feed("cloud");
  std::vector<Record> expected;
  for (int b = 0; b < 50; ++b) {
    std::vector<Record> batch;
    for (int i = 0; i < 40; ++i) batch.push_back(rec(b * 40 + i, 1'000'000 + (b * 40 + i) % 97));
    db->write_batch(batch);
    expected.insert(expected.end(), batch.begin(), batch.end());
    if (b % 10 == 3) db->flush();  // new WAL segments; flushed data must stay readable
    if (b == 20) {
      const std::pair<std::string, int64_t> del{"series-1", 3};
      db->delete_batch(std::span(&del, 1));  // not reported
    }
  }
  const std::vector<Change> got = drain(*feed, 37);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].record.key == expected[i].key);
    CHECK(got[i].record.ts == expected[i].ts);
    CHECK(got[i].record.value == expected[i].value);
    if (i > 0) CHECK(got[i].seq > got[i - 1].seq);
  }
  std::vector<Change> none;
  CHECK(feed->read(10, 1 << 20, &none) == 0);
}

TEST_CASE("a feed's size limits split a group and resume inside it", "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  auto db = Engine::open(testing::test_config(dir.path(), clock));
  auto feed = db->open_feed("f");
  std::vector<Record> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(rec(i, i));
  db->write_batch(batch);
  std::vector<Change> out;
  CHECK(feed->read(3, 1 << 20, &out) == 3);
  CHECK(feed->read(3, 1 << 20, &out) == 3);
  CHECK(feed->read(100, 1, &out) == 1);  // byte limit: at least one record
  CHECK(feed->read(100, 1 << 20, &out) == 3);
  REQUIRE(out.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(out[i].record.value == batch[i].value);
  feed->rewind();
  std::vector<Change> again = drain(*feed);
  CHECK(again.size() == 10);
}

TEST_CASE("an acknowledged cursor survives reopen and unacknowledged changes come again",
          "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  uint64_t acked = 0;
  {
    auto db = Engine::open(testing::test_config(dir.path(), clock));
    auto feed = db->open_feed("up");
    for (int i = 0; i < 100; ++i) db->write_batch(std::vector<Record>{rec(i, i)});
    std::vector<Change> out;
    REQUIRE(feed->read(60, 1 << 20, &out) == 60);
    acked = out.back().seq;
    feed->ack(acked);
    CHECK(feed->acked() == acked);
  }
  auto db = Engine::open(testing::test_config(dir.path(), clock));
  auto feed = db->open_feed("up");
  CHECK(feed->acked() == acked);
  const std::vector<Change> rest = drain(*feed);
  REQUIRE(rest.size() == 40);
  CHECK(rest.front().seq == acked + 1);
  CHECK(rest.front().record.value == "v60");
  CHECK(rest.back().record.value == "v99");
  // New writes after reopen follow on.
  db->write_batch(std::vector<Record>{rec(500, 1)});
  std::vector<Change> more = drain(*feed);
  REQUIRE(more.size() == 1);
  CHECK(more[0].record.value == "v500");
}

TEST_CASE("WAL segments stay until every feed acknowledges them", "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  auto db = Engine::open(testing::test_config(dir.path(), clock));
  auto feed = db->open_feed("slow");
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i) db->write_batch(std::vector<Record>{rec(i, round * 100 + i)});
    db->flush();
  }
  CHECK(wal_files(dir.path()) == 6);  // 5 flushed segments kept + the active one
  CHECK(db->list_feeds().at(0).retained_bytes > 0);
  const std::vector<Change> all = drain(*feed);
  REQUIRE(all.size() == 100);
  feed->ack(all[49].seq);  // half: the first segments go
  const size_t half = wal_files(dir.path());
  CHECK(half < 6);
  CHECK(half > 1);
  feed->ack(all.back().seq);
  CHECK(wal_files(dir.path()) == 1);
  CHECK(db->list_feeds().at(0).retained_bytes == 0);
  CHECK(db->list_feeds().at(0).lag == 0);
}

TEST_CASE("a new feed starts at the current sequence and names are checked", "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  auto db = Engine::open(testing::test_config(dir.path(), clock));
  db->write_batch(std::vector<Record>{rec(1, 1), rec(2, 2)});
  auto a = db->open_feed("a");
  std::vector<Change> out;
  CHECK(a->read(10, 1 << 20, &out) == 0);
  CHECK_THROWS_MATCHES(db->open_feed("a"), Error, Catch::Predicate<Error>([](const Error& e) {
                         return e.code() == Errc::Busy;
                       }));
  for (const char* bad : {"", "a/b", "..", "x y"}) {
    CHECK_THROWS_MATCHES(db->open_feed(bad), Error, Catch::Predicate<Error>([](const Error& e) {
                           return e.code() == Errc::InvalidArgument;
                         }));
  }
  CHECK_THROWS_MATCHES(db->drop_feed("a"), Error, Catch::Predicate<Error>([](const Error& e) {
                         return e.code() == Errc::Busy;
                       }));
  a.reset();
  db->write_batch(std::vector<Record>{rec(3, 3)});
  db->flush();
  CHECK(wal_files(dir.path()) == 2);  // kept for "a"
  db->drop_feed("a");
  CHECK(wal_files(dir.path()) == 1);
  CHECK(db->list_feeds().empty());
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/feeds/a.cursor"));
}

TEST_CASE("trimming the backlog moves a lagging feed on and counts what it lost",
          "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  auto db = Engine::open(testing::test_config(dir.path(), clock));
  auto feed = db->open_feed("lag");
  for (int round = 0; round < 4; ++round) {
    std::vector<Record> batch;
    for (int i = 0; i < 25; ++i) batch.push_back(rec(round * 25 + i, round * 25 + i));
    db->write_batch(batch);
    db->flush();
  }
  db->write_batch(std::vector<Record>{rec(1000, 1000)});  // in the active segment
  const uint64_t freed = db->trim_feed_backlog(1);        // the oldest segment only
  CHECK(freed > 0);
  CHECK(wal_files(dir.path()) == 4);
  std::vector<Change> got = drain(*feed);
  CHECK(feed->lost() == 25);
  REQUIRE(got.size() == 76);
  CHECK(got.front().record.value == "v25");
  CHECK(got.back().record.value == "v1000");
  CHECK(db->trim_feed_backlog(UINT64_MAX) > 0);
  CHECK(wal_files(dir.path()) == 1);
  CHECK(db->trim_feed_backlog(UINT64_MAX) == 0);
}

TEST_CASE("a feed reader keeps up with a concurrent writer, each put once and in order",
          "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = testing::test_config(dir.path(), clock);
  cfg.memtable_size_mb = 1;
  auto db = Engine::open(cfg);
  auto feed = db->open_feed("live");
  constexpr int kBatches = 400, kPerBatch = 50;
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Record> batch;
      for (int i = 0; i < kPerBatch; ++i) {
        const int n = b * kPerBatch + i;
        batch.push_back(
            Record("k" + std::to_string(n % 13), n, std::string(100, 'x') + std::to_string(n)));
      }
      db->write_batch(batch);
    }
  });
  std::vector<Change> got;
  while (got.size() < size_t(kBatches * kPerBatch)) {
    if (feed->read(500, 1 << 20, &got) == 0) feed->wait(std::chrono::milliseconds(200));
    if (got.size() > 5000 && feed->acked() == 0) feed->ack(got[4999].seq);
  }
  writer.join();
  REQUIRE(got.size() == size_t(kBatches * kPerBatch));
  for (size_t n = 0; n < got.size(); ++n) {
    REQUIRE(got[n].record.ts == int64_t(n));
    if (n > 0) REQUIRE(got[n].seq == got[n - 1].seq + 1);
  }
}

// Power loss as in power_loss_test.cc: every further write fails (so the
// dying engine's close() persists nothing), then unsynced data is dropped.
void power_loss(FaultInjectionEnv& env, std::unique_ptr<ChangeFeed> feed,
                std::unique_ptr<Engine> db) {
  using Op = FaultInjectionEnv::Op;
  for (Op op : {Op::Write, Op::Sync, Op::Rename, Op::Create, Op::Remove}) env.fail_after(op, 0);
  feed.reset();
  db.reset();
  env.clear_faults();
  env.drop_unsynced_data();
}

TEST_CASE("after a power loss a feed resumes at its synced cursor and new writes follow it",
          "[engine][feed][power_loss]") {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::posix());
  Config cfg = testing::test_config(dir.path(), clock);
  cfg.env = &env;
  cfg.wal_sync_mode = SyncMode::interval_ms(600'000);  // the timer syncs nothing
  uint64_t acked = 0, synced_seq = 0;
  {
    auto db = Engine::open(cfg);
    auto feed = db->open_feed("pl");
    db->write_batch_sync(std::vector<Record>{rec(1, 1), rec(2, 2)});
    db->write_batch(std::vector<Record>{rec(3, 3), rec(4, 4)});  // never synced
    std::vector<Change> out = drain(*feed);
    REQUIRE(out.size() == 4);
    synced_seq = out[1].seq;
    acked = out.back().seq;
    feed->ack(acked);  // shipped upstream before the power failed
    power_loss(env, std::move(feed), std::move(db));
  }
  auto db = Engine::open(cfg);
  CHECK(db->get("series-3", 3) == std::nullopt);  // the unsynced batch is gone
  CHECK(db->get("series-2", 2).has_value());
  auto feed = db->open_feed("pl");
  CHECK(feed->acked() == acked);
  CHECK(acked > synced_seq);
  db->write_batch(std::vector<Record>{rec(6, 6)});
  const std::vector<Change> out = drain(*feed);
  REQUIRE(out.size() == 1);  // not hidden behind the acknowledged cursor
  CHECK(out[0].seq > acked);
  CHECK(out[0].record.value == "v6");
}

TEST_CASE("unacknowledged changes survive a power loss once their WAL is synced",
          "[engine][feed][power_loss]") {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::posix());
  Config cfg = testing::test_config(dir.path(), clock);
  cfg.env = &env;
  cfg.wal_sync_mode = SyncMode::always();
  {
    auto db = Engine::open(cfg);
    auto feed = db->open_feed("pl");
    for (int i = 0; i < 30; ++i) db->write_batch(std::vector<Record>{rec(i, i)});
    db->flush();  // the data is in SSTs now; the feed still needs the WAL
    std::vector<Change> out;
    REQUIRE(feed->read(10, 1 << 20, &out) == 10);
    feed->ack(out.back().seq);
    power_loss(env, std::move(feed), std::move(db));
  }
  auto db = Engine::open(cfg);
  auto feed = db->open_feed("pl");
  const std::vector<Change> rest = drain(*feed);
  REQUIRE(rest.size() == 20);
  CHECK(rest.front().record.value == "v10");
  CHECK(rest.back().record.value == "v29");
}

TEST_CASE("a damaged feed cursor file is reported as corruption", "[engine][feed]") {
  TempDir dir;
  ManualClock clock;
  {
    auto db = Engine::open(testing::test_config(dir.path(), clock));
    db->open_feed("c");
  }
  {
    std::FILE* f = std::fopen((dir.path() + "/feeds/c.cursor").c_str(), "r+b");
    REQUIRE(f != nullptr);
    std::fputc(0x55, f);
    std::fclose(f);
  }
  CHECK_THROWS_MATCHES(
      Engine::open(testing::test_config(dir.path(), clock)), Error,
      Catch::Predicate<Error>([](const Error& e) { return e.code() == Errc::Corruption; }));
}

}  // namespace
}  // namespace flowdb
