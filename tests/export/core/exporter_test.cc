// The exporter core against a scripted in-process sink: delivery in commit
// order, acknowledgement only after acceptance, retry, reject isolation,
// restart (at least once), filters and quota drops.
#include "export/core/exporter.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>

#include "agent_util.h"
#include "flowdb/engine.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"

namespace flowdb::exporter {
namespace {

using testing::TempDir;
using testing::wait_until;

// A sink whose answer is scripted per call; records what it accepted.
class ScriptedSink : public Sink {
 public:
  std::function<SendResult(std::span<const Sample>)> decide = [](auto) { return SendResult{}; };

  SendResult send(std::span<const Sample> batch) override {
    SendResult r = decide(batch);
    std::lock_guard<std::mutex> l(mu);
    ++calls;
    if (r.status == SendStatus::kOk) {
      for (const Sample& s : batch) accepted.push_back(s);
    }
    return r;
  }
  std::string_view type() const override { return "scripted"; }

  size_t accepted_count() {
    std::lock_guard<std::mutex> l(mu);
    return accepted.size();
  }
  std::mutex mu;
  std::vector<Sample> accepted;
  size_t calls = 0;
};

Config engine_config(const std::string& dir) {
  Config c;
  c.data_dir = dir;
  c.memtable_size_mb = 1;
  c.auto_background = false;
  return c;
}

Record point(const std::string& m, const std::string& host, int64_t ts, double v) {
  return Record(ingest::series_key(m, std::vector<ingest::Tag>{{"host", host}}, "value"), ts,
                ingest::encode_value(v));
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<Engine> db = Engine::open(engine_config(dir.path()));
  prometheus::Registry registry;
  ExportMetrics metrics{registry};

  std::unique_ptr<Exporter> exporter(ScriptedSink** sink_out, ExporterOptions o = {}) {
    auto sink = std::make_unique<ScriptedSink>();
    *sink_out = sink.get();
    if (o.name.empty()) o.name = "up";
    o.max_delay = std::chrono::milliseconds(20);
    o.retry_min = std::chrono::milliseconds(1);
    o.retry_max = std::chrono::milliseconds(5);
    return std::make_unique<Exporter>(o, db->open_feed(o.name), std::move(sink), &metrics);
  }
};

TEST_CASE("every stored point reaches the sink in commit order and the feed is acknowledged",
          "[export][core]") {
  Fixture f;
  ScriptedSink* sink;
  ExporterOptions o;
  o.batch_points = 64;
  auto ex = f.exporter(&sink, o);
  ex->start();
  for (int b = 0; b < 20; ++b) {
    std::vector<Record> batch;
    for (int i = 0; i < 50; ++i)
      batch.push_back(point("cpu", "h" + std::to_string(i % 3), b * 50 + i, i * 0.5));
    f.db->write_batch(batch);
  }
  REQUIRE(wait_until([&] { return ex->status().lag_points == 0 && sink->accepted_count() == 1000; },
                     std::chrono::seconds(20)));
  ex->stop();
  REQUIRE(sink->accepted.size() == 1000);
  for (size_t n = 0; n < 1000; ++n) {
    const Sample& s = sink->accepted[n];
    CHECK(s.ts_us == int64_t(n));
    CHECK(s.series.measurement == "cpu");
    CHECK(s.series.field == "value");
    CHECK(s.series.tags == std::vector<ingest::Tag>{{"host", "h" + std::to_string(n % 50 % 3)}});
    CHECK(std::get<double>(s.value) == (n % 50) * 0.5);
  }
  CHECK(f.db->list_feeds().at(0).lag == 0);
  CHECK(ex->status().sent_points == 1000);
}

TEST_CASE("a failing upstream gets the same batch again until it accepts it", "[export][core]") {
  Fixture f;
  ScriptedSink* sink;
  auto ex = f.exporter(&sink);
  std::atomic<int> failures{5};
  sink->decide = [&](std::span<const Sample>) {
    SendResult r;
    if (failures.fetch_sub(1) > 0) {
      r.status = SendStatus::kRetry;
      r.message = "503";
      r.retry_after = std::chrono::milliseconds(2);
    }
    return r;
  };
  f.db->write_batch(std::vector<Record>{point("m", "a", 1, 1), point("m", "a", 2, 2)});
  ex->start();
  REQUIRE(wait_until([&] { return sink->accepted_count() == 2; }, std::chrono::seconds(20)));
  REQUIRE(wait_until([&] { return ex->status().lag_points == 0; }, std::chrono::seconds(20)));
  ex->stop();
  CHECK(sink->accepted.size() == 2);  // delivered once, after the failures
  CHECK(ex->status().retries == 5);
  CHECK(sink->calls == 6);
}

TEST_CASE("points the upstream rejects are isolated and counted while the rest flows",
          "[export][core]") {
  Fixture f;
  ScriptedSink* sink;
  ExporterOptions o;
  o.batch_points = 1000;
  auto ex = f.exporter(&sink, o);
  // The upstream refuses any batch holding a point of measurement "bad".
  sink->decide = [](std::span<const Sample> batch) {
    SendResult r;
    for (const Sample& s : batch) {
      if (s.series.measurement == "bad") r.status = SendStatus::kReject;
    }
    return r;
  };
  std::vector<Record> batch;
  for (int i = 0; i < 300; ++i) batch.push_back(point(i % 97 == 5 ? "bad" : "good", "h", i, i));
  f.db->write_batch(batch);
  ex->start();
  REQUIRE(wait_until([&] { return ex->status().lag_points == 0; }, std::chrono::seconds(20)));
  ex->stop();
  CHECK(ex->status().rejected_points == 4);  // i = 5, 102, 199, 296
  REQUIRE(sink->accepted.size() == 296);
  for (size_t n = 1; n < sink->accepted.size(); ++n) {
    CHECK(sink->accepted[n].ts_us > sink->accepted[n - 1].ts_us);  // order kept
  }
}

TEST_CASE("a stopped exporter resends its unacknowledged batch after a restart", "[export][core]") {
  Fixture f;
  std::set<int64_t> seen;
  {
    ScriptedSink* sink;
    auto ex = f.exporter(&sink);
    sink->decide = [](std::span<const Sample>) {  // upstream down
      SendResult r;
      r.status = SendStatus::kRetry;
      return r;
    };
    f.db->write_batch(std::vector<Record>{point("m", "a", 1, 1), point("m", "a", 2, 2)});
    ex->start();
    REQUIRE(wait_until([&] { return ex->status().retries >= 2; }, std::chrono::seconds(20)));
    ex->stop();
    CHECK(sink->accepted.empty());
  }
  f.db->write_batch(std::vector<Record>{point("m", "a", 3, 3)});
  ScriptedSink* sink;
  auto ex = f.exporter(&sink);
  ex->start();
  REQUIRE(wait_until([&] { return sink->accepted_count() == 3; }, std::chrono::seconds(20)));
  ex->stop();
  for (const Sample& s : sink->accepted) seen.insert(s.ts_us);
  CHECK(seen == std::set<int64_t>{1, 2, 3});
}

TEST_CASE("a measurement filter exports only the listed measurements", "[export][core]") {
  Fixture f;
  ScriptedSink* sink;
  ExporterOptions o;
  o.measurements = {"keep"};
  auto ex = f.exporter(&sink, o);
  f.db->write_batch(std::vector<Record>{point("keep", "a", 1, 1), point("skip", "a", 2, 2),
                                        point("keep", "b", 3, 3)});
  f.db->write_batch(std::vector<Record>{Record("not a series key", 4, "x")});  // undecodable
  ex->start();
  REQUIRE(wait_until([&] { return ex->status().lag_points == 0; }, std::chrono::seconds(20)));
  ex->stop();
  REQUIRE(sink->accepted.size() == 2);
  CHECK(sink->accepted[0].ts_us == 1);
  CHECK(sink->accepted[1].ts_us == 3);
  CHECK(ex->status().rejected_points == 1);
}

TEST_CASE("writes the quota trimmed before export are counted as dropped", "[export][core]") {
  Fixture f;
  {
    ScriptedSink* unused;
    auto ex = f.exporter(&unused);  // registers the feed, never started
  }
  for (int round = 0; round < 3; ++round) {
    std::vector<Record> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(point("m", "a", round * 10 + i, i));
    f.db->write_batch(batch);
    f.db->flush();
  }
  REQUIRE(f.db->trim_feed_backlog(1) > 0);  // drops the first segment: 10 points
  ScriptedSink* sink;
  auto ex = f.exporter(&sink);
  ex->start();
  REQUIRE(wait_until([&] { return ex->status().lag_points == 0; }, std::chrono::seconds(20)));
  ex->stop();
  CHECK(ex->status().dropped_points == 10);
  CHECK(sink->accepted.size() == 20);
}

}  // namespace
}  // namespace flowdb::exporter
