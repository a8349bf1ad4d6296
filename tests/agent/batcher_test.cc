// Batcher: group commit, durability wait, bounded queue drops, drain on stop.
#include "agent/batcher.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/core/metrics.h"
#include "agent_util.h"
#include "stderr_capture.h"

using namespace flowdb;
using namespace flowdb::agent;

namespace {
std::vector<Record> recs(const std::string& prefix, int n, int64_t ts0 = 1000) {
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) out.emplace_back(prefix + std::to_string(i), ts0 + i, "v");
  return out;
}
std::unique_ptr<Engine> open_engine(const std::string& dir,
                                    SyncMode sync = SyncMode::interval_ms(100)) {
  Config c;
  c.data_dir = dir;
  c.wal_sync_mode = sync;
  c.memtable_size_mb = 4;
  return Engine::open(c);
}
}  // namespace

TEST_CASE("submit_wait returns after the records are in the engine", "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db", SyncMode::always());
  Metrics metrics;
  Batcher b(engine.get(), &metrics, BatcherOptions{});
  b.start();
  // Catch2 assertions are not thread-safe: the writers count, the test asserts.
  std::atomic<int> not_stored{0}, not_visible{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 50; ++k) {
        const std::string prefix = "t" + std::to_string(t) + "-" + std::to_string(k) + "-";
        if (b.submit_wait("in", recs(prefix, 10)) != Batcher::Result::kStored) ++not_stored;
        // Visible right after submit_wait returned.
        if (!engine->get(prefix + "9", 1009)) ++not_visible;
      }
    });
  }
  for (auto& t : threads) t.join();
  b.stop();
  CHECK(not_stored == 0);
  CHECK(not_visible == 0);
  CHECK(engine->query(Query::prefix("t")).size() == 2000);
  std::string m = metrics.serialize(engine.get());
  CHECK(testing::metric_value(m, "flowdb_input_records_stored_total{input=\"in\"}") == 2000);
  // At most one fsync per submission. How many share one depends on how fast
  // fsync is, so grouping itself is tested deterministically below.
  CHECK(engine->stats().wal_syncs <= 200);
  // One receipt-to-stored latency per submitted chunk, each within the test's lifetime.
  CHECK(testing::metric_value(m, "flowdb_ingest_latency_seconds_count") == 200);
  CHECK(testing::metric_value(m, "flowdb_ingest_latency_seconds_sum") < 200 * 5.0);
}

TEST_CASE("chunks queued while the writer is busy share one write and one fsync", "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db", SyncMode::always());
  Metrics metrics;
  BatcherOptions o;
  std::atomic<int> writes{0};
  o.admission = [&] { ++writes; };
  Batcher b(engine.get(), &metrics, o);  // not started: chunks wait in the queue
  for (int k = 0; k < 20; ++k) {
    REQUIRE(b.try_submit("udp", recs("g" + std::to_string(k) + "-", 10)) ==
            Batcher::Result::kStored);
  }
  const uint64_t syncs0 = engine->stats().wal_syncs;
  b.start();
  b.stop();
  CHECK(writes == 1);
  CHECK(engine->stats().wal_syncs - syncs0 == 1);
  CHECK(engine->query(Query::prefix("g")).size() == 200);
}

TEST_CASE("try_submit drops and counts when the queue is full - stop drains", "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db");
  Metrics metrics;
  BatcherOptions o;
  o.queue_max_records = 100;
  Batcher b(engine.get(), &metrics, o);  // not started: nothing leaves the queue
  CHECK(b.try_submit("udp", recs("a", 60)) == Batcher::Result::kStored);
  {
    testing::StderrCapture err;
    CHECK(b.try_submit("udp", recs("b", 60)) == Batcher::Result::kDropped);
    CHECK_THAT(err.text(), Catch::Contains("udp: dropped 60 point(s), reason queue_full"));
  }
  CHECK(b.try_submit("udp", recs("c", 40)) == Batcher::Result::kStored);
  CHECK(b.queued_records() == 100);
  b.start();
  b.stop();  // drains
  CHECK(engine->query(Query::prefix("")).size() == 100);
  std::string m = metrics.serialize(engine.get());
  CHECK(testing::metric_value(
            m, "flowdb_input_points_dropped_total{input=\"udp\",reason=\"queue_full\"}") == 60);
  CHECK(testing::metric_value(m, "flowdb_ingest_latency_seconds_count") ==
        2);  // not the dropped one
  CHECK(b.try_submit("udp", recs("d", 1)) == Batcher::Result::kStopped);
}

TEST_CASE("try_submit_wait is busy at once on a full queue - else it waits for the WAL",
          "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db", SyncMode::always());
  Metrics metrics;
  BatcherOptions o;
  o.queue_max_records = 10;
  Batcher b(engine.get(), &metrics, o);  // not started: nothing leaves the queue
  REQUIRE(b.try_submit("udp", recs("a", 10)) == Batcher::Result::kStored);
  CHECK(b.try_submit_wait("http", recs("h", 1)) == Batcher::Result::kBusy);
  CHECK(b.queued_records() == 10);  // nothing queued
  std::string m = metrics.serialize(nullptr);
  CHECK(testing::metric_value(
            m, "flowdb_input_points_dropped_total{input=\"http\",reason=\"queue_full\"}") <= 0);
  b.start();
  REQUIRE(testing::wait_until([&] { return b.queued_records() == 0; }));
  CHECK(b.try_submit_wait("http", recs("h", 3)) == Batcher::Result::kStored);
  CHECK(engine->query(Query::prefix("h")).size() == 3);  // stored when it returned
  b.stop();
  CHECK(b.try_submit_wait("http", recs("z", 1)) == Batcher::Result::kStopped);
}

TEST_CASE("a failed write is reported to the waiter and counted", "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db");
  Metrics metrics;
  BatcherOptions o;
  o.write_retries = 1;
  Batcher b(engine.get(), &metrics, o);
  b.start();
  engine->close();  // every write now throws Closed
  CHECK(b.submit_wait("mqtt", recs("x", 5)) == Batcher::Result::kDropped);
  b.stop();
  std::string m = metrics.serialize(nullptr);
  CHECK(testing::metric_value(
            m, "flowdb_input_points_dropped_total{input=\"mqtt\",reason=\"storage_error\"}") == 5);
}

TEST_CASE("submit_wait writes on the caller's thread when nothing else is pending", "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db");
  Metrics metrics;
  BatcherOptions o;
  std::mutex mu;
  std::vector<std::thread::id> writers;
  o.admission = [&] {
    std::lock_guard lock(mu);
    writers.push_back(std::this_thread::get_id());
  };
  o.window = std::chrono::seconds(30);  // a queued chunk would wait for its waiter only
  Batcher b(engine.get(), &metrics, o);
  b.start();
  for (int k = 0; k < 3; ++k) {
    REQUIRE(b.submit_wait("mqtt", recs("m" + std::to_string(k) + "-", 5)) ==
            Batcher::Result::kStored);
  }
  // A fire-and-forget chunk goes to the writer thread.
  REQUIRE(b.try_submit("udp", recs("u-", 5)) == Batcher::Result::kStored);
  b.stop();
  CHECK(engine->query(Query::prefix("m")).size() == 15);
  CHECK(engine->query(Query::prefix("u-")).size() == 5);
  std::lock_guard lock(mu);
  REQUIRE(writers.size() == 4);
  for (int k = 0; k < 3; ++k) CHECK(writers[k] == std::this_thread::get_id());
  CHECK(writers[3] != std::this_thread::get_id());
}

TEST_CASE("submit_async returns once queued - done reports the write - expedite skips the window",
          "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db");
  Metrics metrics;
  BatcherOptions o;
  o.window = std::chrono::seconds(60);  // only expedite() (or stop) writes early
  Batcher b(engine.get(), &metrics, o);
  b.start();
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, visible = 0;
  for (int k = 0; k < 3; ++k) {
    const std::string prefix = "p" + std::to_string(k) + "-";
    REQUIRE(b.submit_async("mqtt", recs(prefix, 5), 5, [&, prefix](bool ok) {
      std::lock_guard lock(mu);
      done += ok ? 1 : 100;
      visible += engine->get(prefix + "4", 1004) ? 1 : 0;  // in the engine when called
      cv.notify_all();
    }) == Batcher::Result::kStored);
  }
  {
    std::unique_lock lock(mu);
    CHECK(done == 0);  // queued: the window has not passed
  }
  b.expedite();
  {
    std::unique_lock lock(mu);
    CHECK(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done == 3; }));
    CHECK(visible == 3);
  }
  b.stop();
  CHECK(b.submit_async("mqtt", recs("q", 1), 1, [&](bool) { ++done; }) ==
        Batcher::Result::kStopped);
  CHECK(done == 3);  // not called for a chunk that was not queued
}

TEST_CASE("submit_async callbacks of a batcher that never started report false on stop",
          "[batcher]") {
  testing::TempDir dir;
  auto engine = open_engine(dir / "db");
  Metrics metrics;
  Batcher b(engine.get(), &metrics, BatcherOptions{});
  std::vector<int> outcomes;
  for (int k = 0; k < 2; ++k) {
    REQUIRE(b.submit_async("mqtt", recs("n" + std::to_string(k), 2), 2, [&](bool ok) {
      outcomes.push_back(ok ? 1 : 0);
    }) == Batcher::Result::kStored);
  }
  b.stop();
  CHECK(outcomes == std::vector<int>{0, 0});
  CHECK(engine->query(Query::prefix("n")).empty());
}
