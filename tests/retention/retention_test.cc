// Retention: TTL expiry by bucket drop, quotas, compaction, crash safety and
// write amplification.
#include "retention/retention.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "engine_util.h"
#include "flowdb/engine.h"
#include "flowdb/fault_injection_env.h"

using namespace flowdb;
using flowdb::retention::LogSeverity;
using flowdb::retention::Options;
using flowdb::retention::QuotaPolicy;
using flowdb::retention::RetentionThread;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;

namespace {

constexpr int64_t kSec = 1'000'000;
const auto kQuiet = [](LogSeverity, const std::string&) {};

Config retention_config(const std::string& dir, const ManualClock& clock) {
  Config c = flowdb::testing::test_config(dir, clock);
  c.time_bucket_secs = 60;
  c.compression = Compression::none();  // sizes predictable
  return c;
}

// Writes `n` points per series for `series` series at ts in [t, t + n s).
void ingest(Engine* e, int64_t t, int series, int n, std::optional<uint64_t> ttl) {
  std::vector<Record> rs;
  for (int s = 0; s < series; ++s) {
    for (int i = 0; i < n; ++i) {
      rs.emplace_back("sensor" + std::to_string(s), t + i * kSec, std::string(40, 'v'));
    }
  }
  e->write_batch_ttl(rs, ttl);
}

}  // namespace

TEST_CASE("disk usage plateaus under continuous ingest with a TTL", "[retention][ttl]") {
  TempDir dir;
  ManualClock clock;
  clock.set(1000 * 60 * kSec);
  auto e = Engine::open(retention_config(dir.path(), clock));
  Options p;
  p.compaction_threshold = 4;
  RetentionThread rt(e.get(), p, {}, kQuiet);
  const uint64_t ttl = 300;  // 5 buckets of 60 s
  std::vector<uint64_t> usage;
  for (int minute = 0; minute < 30; ++minute) {
    for (int part = 0; part < 6; ++part) {
      ingest(e.get(), clock.now->load(), 20, 10, ttl);
      clock.advance(10 * kSec);
    }
    e->flush();
    rt.run_once();
    usage.push_back(e->disk_usage());
    // Expired data is unreadable at once and gone from disk after the pass.
    const int64_t now = clock.now->load();
    CHECK(e->query(Query::time_range(0, now - static_cast<int64_t>(ttl) * kSec - 1)).empty());
    for (const auto& b : e->list_buckets()) CHECK(b.max_expire_at > now);
  }
  // Steady state once TTL + one bucket has passed: no growth.
  const uint64_t steady = *std::max_element(usage.begin() + 10, usage.end());
  const uint64_t early = usage[9];
  WARN("plateau: disk usage at minute 10 = " << early << " B, max over minutes 10-30 = " << steady
                                             << " B");
  CHECK(steady <= early * 13 / 10);
  CHECK(e->list_buckets().size() <= ttl / 60 + 1);
  // Bound: (TTL + one bucket) of data at the stored bytes per point, plus the
  // WAL, MANIFEST and filesystem block rounding.
  const auto s = e->stats();
  const double bytes_per_point = static_cast<double>(s.sstable_bytes) /
                                 static_cast<double>(e->query(Query::prefix("")).size());
  const double bound = (ttl + 60) * 20 * bytes_per_point + 512 * 1024;
  CHECK(static_cast<double>(steady) <= bound);
}

TEST_CASE("drop_oldest keeps the data dir under max_disk and drops the oldest buckets",
          "[retention][quota]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(retention_config(dir.path(), clock));
  Options p;
  p.max_disk_bytes = 600 * 1024;
  RetentionThread rt(e.get(), p, {}, kQuiet);
  uint64_t max_flush = 0;
  for (int b = 0; b < 40; ++b) {
    uint64_t before = e->stats().sstable_bytes;
    ingest(e.get(), b * 60 * kSec, 20, 50, std::nullopt);
    e->flush();
    max_flush = std::max(max_flush, e->stats().sstable_bytes - before);
    rt.run_once();
    CHECK(e->disk_usage() <= p.max_disk_bytes + max_flush);
  }
  auto buckets = e->list_buckets();
  REQUIRE_FALSE(buckets.empty());
  CHECK(buckets.back().bucket == 39);  // the newest survives
  CHECK(buckets.front().bucket > 0);   // the oldest went
  // Buckets are dropped whole and oldest first: what remains is contiguous.
  for (size_t i = 1; i < buckets.size(); ++i) CHECK(buckets[i].bucket == buckets[i - 1].bucket + 1);
  CHECK(e->query(Query::time_range(0, buckets.front().start_ts - 1)).empty());
  CHECK(e->query(Query::time_range(39 * 60 * kSec, 40 * 60 * kSec)).size() == 20 * 50);
  auto st = rt.stats();
  CHECK(st.bytes_dropped[1] > 0);
  CHECK(st.files_dropped[1] == 40 - buckets.size());
  CHECK(st.bytes_dropped[0] == 0);
  // As the agent exports them: tests/agent/engine_metrics_test.cc.
  CHECK(rt.stats().files_dropped[1] == 40 - buckets.size());
}

TEST_CASE("a stalled export's WAL backlog is trimmed to keep the quota, after old buckets",
          "[retention][quota][feed]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(retention_config(dir.path(), clock));
  auto feed = e->open_feed("stalled");  // never acknowledges: every WAL segment is kept
  Options p;
  p.max_disk_bytes = 250 * 1024;  // above the ~140 KiB of SSTs, below SSTs + kept WAL
  RetentionThread rt(e.get(), p, {}, kQuiet);
  for (int b = 0; b < 30; ++b) {
    ingest(e.get(), 0, 20, 50, std::nullopt);  // always bucket 0: one bucket only
    e->flush();
    rt.run_once();
  }
  const uint64_t slack = 32 * 1024;  // one flush of SST + WAL between passes
  CHECK(e->disk_usage() <= p.max_disk_bytes + slack);
  CHECK(rt.stats().backlog_bytes_trimmed > 0);
  CHECK(e->list_buckets().size() == 1);  // the only bucket stays
  // Exported as flowdb_retention_export_backlog_trimmed_bytes_total (the
  // backlog_bytes_trimmed checked above): tests/agent/engine_metrics_test.cc.
  std::vector<Change> out;
  while (feed->read(100000, 1 << 30, &out) > 0) {
  }
  CHECK(feed->lost() > 0);  // what the quota took is counted, not silently skipped
  CHECK(out.size() + feed->lost() == 30 * 20 * 50);
}

TEST_CASE("reject_new refuses ingest with a clear, counted error while old data stays",
          "[retention][quota]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(retention_config(dir.path(), clock));
  Options p;
  p.max_disk_bytes = 200 * 1024;
  p.quota_policy = QuotaPolicy::RejectNew;
  std::vector<std::pair<LogSeverity, std::string>> events;
  RetentionThread rt(e.get(), p, {},
                     [&](LogSeverity s, const std::string& line) { events.emplace_back(s, line); });
  int b = 0;
  while (rt.admitting() && b < 100) {
    rt.check_admission();
    ingest(e.get(), b++ * 60 * kSec, 20, 50, std::nullopt);
    e->flush();
    rt.run_once();
  }
  REQUIRE_FALSE(rt.admitting());
  try {
    rt.check_admission();
    FAIL("admission allowed over the quota");
  } catch (const Error& err) {
    CHECK(err.code() == Errc::NoSpace);
    CHECK_THAT(err.what(), Catch::Contains("reject_new"));
  }
  CHECK(rt.stats().rejected_writes == 1);
  CHECK(e->list_buckets().size() == static_cast<size_t>(b));  // nothing dropped
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 20 * 50);
  // Raising the limit lets ingest resume.
  p.max_disk_bytes = 100 << 20;
  rt.set_options(p);
  rt.run_once();
  CHECK(rt.admitting());
  CHECK_NOTHROW(rt.check_admission());
  // Each event keeps its severity for the agent's logger (no "level=" text).
  REQUIRE(events.size() == 2);
  CHECK(events[0].first == LogSeverity::warn);
  CHECK(events[0].second == "retention rejects new data reason=quota");
  CHECK(events[1].first == LogSeverity::info);
  CHECK(events[1].second == "retention accepts new data again");
}

namespace {
struct RecordingLogger : Logger {
  std::mutex mu;
  std::vector<std::pair<Logger::Level, std::string>> lines;
  void log(Level level, std::string_view message) override {
    std::lock_guard l(mu);
    lines.emplace_back(level, std::string(message));
  }
};
}  // namespace

TEST_CASE("without a log function retention reports through the engine's logger",
          "[retention][quota]") {
  TempDir dir;
  ManualClock clock;
  Config c = retention_config(dir.path(), clock);
  auto logger = std::make_shared<RecordingLogger>();
  c.logger = logger;
  auto e = Engine::open(c);
  Options p;
  p.max_disk_bytes = 1;  // any data is over it
  p.quota_policy = QuotaPolicy::RejectNew;
  RetentionThread rt(e.get(), p);
  ingest(e.get(), 0, 20, 50, std::nullopt);
  e->flush();
  rt.run_once();
  REQUIRE_FALSE(rt.admitting());
  std::lock_guard l(logger->mu);
  REQUIRE(logger->lines.size() == 1);
  CHECK(logger->lines[0].first == Logger::Level::kWarn);
  CHECK(logger->lines[0].second == "retention rejects new data reason=quota");
}

TEST_CASE("a free-space floor drops the oldest buckets like the quota", "[retention][quota]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(retention_config(dir.path(), clock));
  for (int b = 0; b < 5; ++b) ingest(e.get(), b * 60 * kSec, 5, 20, std::nullopt);
  e->flush();
  REQUIRE(e->list_buckets().size() == 5);
  Options p;
  p.min_free_bytes = 1000;
  uint64_t fake_free = 0;  // "disk full" until two buckets are gone
  int drops = 0;
  RetentionThread rt(
      e.get(), p, [&] { return fake_free; },
      [&](LogSeverity, const std::string& line) {
        if (line.find("dropped bucket") != std::string::npos) ++drops;
      });
  // Each drop frees what it reports; the floor is met after the first drop
  // whose bytes reach 1000.
  rt.run_once();
  CHECK(drops >= 1);
  CHECK(e->list_buckets().size() == 5 - static_cast<size_t>(drops));
  CHECK(rt.stats().files_dropped[2] == static_cast<uint64_t>(drops));
  CHECK(e->list_buckets().front().bucket == drops);
}

TEST_CASE("compaction merges crowded buckets only, cheapest first, within one bucket",
          "[retention][compaction]") {
  TempDir dir;
  ManualClock clock;
  auto e = Engine::open(retention_config(dir.path(), clock));
  for (int round = 0; round < 6; ++round) {
    ingest(e.get(), 0 + round, 3, 5, std::nullopt);                         // bucket 0: 6 files
    if (round < 2) ingest(e.get(), 60 * kSec + round, 3, 5, std::nullopt);  // bucket 1: 2 files
    e->flush();
  }
  Options p;
  p.compaction_threshold = 4;
  RetentionThread rt(e.get(), p, {}, kQuiet);
  auto r = rt.run_once();
  CHECK(r.compactions == 1);
  auto buckets = e->list_buckets();
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0].files == 1);
  CHECK(buckets[1].files == 2);  // under the threshold: untouched
  CHECK(e->query(Query::time_range(0, 59 * kSec)).size() == 6 * 3 * 5);  // nothing lost
  // Refuses when there is no room for the output.
  for (int round = 0; round < 5; ++round) {
    ingest(e.get(), 60 * kSec + 10 + round, 3, 5, std::nullopt);
    e->flush();
  }
  RetentionThread full(
      e.get(), p, [] { return uint64_t{10}; }, kQuiet);
  auto r2 = full.run_once();
  CHECK(r2.compactions == 0);
  CHECK(r2.compactions_skipped_no_room == 1);
  CHECK(e->list_buckets()[1].files == 7);
}

TEST_CASE("a failure in the middle of a drop leaves a consistent store", "[retention][crash]") {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::posix());
  Config c = retention_config(dir.path(), clock);
  c.env = &env;
  c.wal_sync_mode = SyncMode::always();
  {
    auto e = Engine::open(c);
    for (int b = 0; b < 3; ++b) {
      ingest(e.get(), b * 60 * kSec, 4, 10, std::nullopt);
      e->flush();
    }
    // The MANIFEST edit lands but unlinking fails: the file dangles.
    env.fail_after(FaultInjectionEnv::Op::Remove, 0);
    CHECK(e->drop_bucket(0).files == 1);
    env.clear_faults();
    // The MANIFEST fsync fails: the drop must not take effect in memory either.
    env.fail_after(FaultInjectionEnv::Op::Sync, 0);
    CHECK_THROWS_AS(e->drop_bucket(1), Error);
    env.clear_faults();
    CHECK(e->get("sensor0", 60 * kSec));
  }
  env.drop_unsynced_data();
  auto e = Engine::open(c);
  CHECK(e->query(Query::time_range(0, 59 * kSec)).empty());  // no resurrection
  CHECK(e->query(Query::time_range(2 * 60 * kSec, 3 * 60 * kSec)).size() == 40);
  size_t ssts = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path() + "/sst")) {
    (void)f;
    ++ssts;
  }
  CHECK(ssts == e->stats().sstable_count);  // no dangling files after open
}

TEST_CASE("kill -9 during retention compactions and drops leaves a consistent store",
          "[retention][crash][slow]") {
  TempDir dir;
  ManualClock clock;
  Config c = retention_config(dir.path(), clock);
  c.wal_sync_mode = SyncMode::always();
  // Eight buckets of 4 files each; the child compacts and drops them.
  {
    auto e = Engine::open(c);
    for (int round = 0; round < 4; ++round) {
      for (int b = 0; b < 8; ++b) ingest(e.get(), b * 60 * kSec + round, 5, 20, std::nullopt);
      e->flush();
    }
  }
  const int64_t per_bucket = 4 * 5 * 20;  // rounds x series x points, all distinct (key, ts)
  for (int cycle = 0; cycle < 10; ++cycle) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      try {
        auto e = Engine::open(c);
        Options p;
        p.compaction_threshold = 1;
        RetentionThread rt(e.get(), p, {}, kQuiet);
        char ready = 'r';
        if (::write(fds[1], &ready, 1) != 1) ::_exit(3);
        for (int64_t b = 0;; b = (b + 1) % 8) {
          e->compact_bucket(b);
          rt.run_once();
        }
      } catch (...) {
        ::_exit(2);
      }
    }
    ::close(fds[1]);
    char ready = 0;
    REQUIRE(::read(fds[0], &ready, 1) == 1);
    ::close(fds[0]);
    // Let it work a random number of compactions: wait on its CPU time.
    usleep(1000 * (cycle * 7 % 23));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    auto e = Engine::open(c);
    for (int b = 0; b < 8; ++b) {
      auto got = e->query(Query::time_range(b * 60 * kSec, (b + 1) * 60 * kSec - 1));
      CHECK(static_cast<int64_t>(got.size()) == per_bucket);
    }
    size_t ssts = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir.path() + "/sst")) {
      (void)f;
      ++ssts;
    }
    // Every live table is on disk. A compaction output whose manifest edit
    // the kill cut off is numbered past the recovered next file number: open
    // keeps it (never unlinks what it cannot prove obsolete; format.md), so
    // each kill may leave at most one such file.
    const size_t live = e->stats().sstable_count;
    CHECK(ssts >= live);
    CHECK(ssts - live <= static_cast<size_t>(cycle) + 1);
  }
}

TEST_CASE("write amplification over a TTL steady state", "[retention][wa]") {
  TempDir dir;
  ManualClock clock;
  clock.set(1000 * 60 * kSec);
  // Bytes the engine writes through its Env: the same on every file system
  // (/proc/self/io write_bytes is 0 on tmpfs).
  flowdb::testing::CountingEnv env;
  Config c = flowdb::testing::test_config(dir.path(), clock);
  c.env = &env;
  c.time_bucket_secs = 60;
  c.memtable_size_mb = 4;
  c.compression = Compression::lz4();  // the default
  auto e = Engine::open(c);
  Options p;
  RetentionThread rt(e.get(), p, {}, kQuiet);
  uint64_t logical = 0;
  const uint64_t w0 = env.bytes_written();
  for (int minute = 0; minute < 40; ++minute) {
    std::vector<Record> rs;
    for (int s = 0; s < 500; ++s) {
      for (int i = 0; i < 6; ++i) {
        std::string key = "cpu,host=gw" + std::to_string(s % 50) +
                          ",core=" + std::to_string(s / 50) + "\x1fusage";
        std::string value = std::to_string(s * 0.37 + minute + i);
        logical += key.size() + value.size() + 8;  // + the timestamp
        rs.emplace_back(std::move(key), clock.now->load() + i * 10 * kSec, std::move(value));
      }
    }
    e->write_batch_ttl(rs, 600);
    clock.advance(60 * kSec);
    rt.run_once();
  }
  e->close();
  const uint64_t written = env.bytes_written() - w0;
  const double wa = static_cast<double>(written) / static_cast<double>(logical);
  WARN("write amplification: bytes written through the Env " << written << " / logical " << logical
                                                             << " = " << wa);
  CHECK(written > 0);
  CHECK(wa <= 1.5);
}
