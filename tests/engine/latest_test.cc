// get_latest: the newest visible version of a key, wherever it lives.
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <random>

#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;

namespace {

constexpr int64_t kSec = 1'000'000;

}  // namespace

TEST_CASE("get_latest skips deleted and expired versions and spans buckets and memtables",
          "[engine][latest]") {
  TempDir dir;
  ManualClock clock;
  clock.set(10 * kSec);
  auto e = Engine::open(test_config(dir.path(), clock));  // 60 s buckets
  e->write_batch(std::vector<Record>{Record("s", 1 * kSec, "b0"), Record("s", 61 * kSec, "b1"),
                                     Record("t", 500 * kSec, "other")});
  e->flush();
  CHECK(e->get_latest("s")->value == "b1");
  e->write_batch_ttl(std::vector<Record>{Record("s", 200 * kSec, "b3-short")}, 5);
  CHECK(e->get_latest("s")->value == "b3-short");  // in the memtable, newest bucket
  clock.set(300 * kSec);                           // ... now expired
  CHECK(e->get_latest("s")->value == "b1");
  std::vector<std::pair<std::string, int64_t>> del{{"s", 61 * kSec}};
  e->delete_batch(del);
  CHECK(e->get_latest("s")->value == "b0");
  e->flush();
  CHECK(e->get_latest("s")->value == "b0");
  CHECK_FALSE(e->get_latest("u"));
  CHECK_FALSE(e->get_latest("s\x01"));
  e->write_batch(std::vector<Record>{Record("s", 2 * kSec, "b0-later")});
  CHECK(e->get_latest("s")->value == "b0-later");
}

TEST_CASE("get_latest finds the newest visible version among many across buckets and tombstones",
          "[engine][latest]") {
  // A model of every write; after each step get_latest must return the
  // visible record with the largest ts (not deleted, not range-deleted, not
  // expired), wherever it lives: active or frozen memtable, any SST, any
  // 60 s bucket. Keys get hundreds of versions, so a wrong backward step
  // or a scan that stops early shows up.
  TempDir dir;
  ManualClock clock;
  clock.set(100'000 * kSec);
  auto cfg = test_config(dir.path(), clock);
  auto e = Engine::open(cfg);
  struct Version {
    std::string value;
    int64_t expire_at;
    bool deleted;
  };
  std::map<std::string, std::map<int64_t, Version>> model;
  const std::vector<std::string> keys{"a", "ab", "b", std::string("b\0", 2), "c"};
  auto want_latest = [&](const std::string& k) -> std::optional<Record> {
    auto it = model.find(k);
    if (it == model.end()) return std::nullopt;
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
      if (!v->second.deleted && v->second.expire_at > clock.now->load()) {
        return Record(k, v->first, v->second.expire_at, v->second.value);
      }
    }
    return std::nullopt;
  };
  auto check_all = [&](const char* when) {
    for (const auto& k : keys) {
      INFO(when << ": key '" << k << "'");
      const auto want = want_latest(k);
      const auto got = e->get_latest(k);
      REQUIRE(got.has_value() == want.has_value());
      if (want) REQUIRE(*got == *want);
    }
  };
  std::mt19937_64 rng(2024);
  int step = 0;
  for (int round = 0; round < 60; ++round) {
    std::vector<Record> batch;
    for (int i = 0; i < 40; ++i) {
      const std::string& k = keys[rng() % keys.size()];
      // Mostly recent points, some far in the past (older buckets).
      const int64_t ts = (rng() % 4 == 0 ? static_cast<int64_t>(rng() % 20'000)
                                         : 99'000 + static_cast<int64_t>(rng() % 900)) *
                         kSec;
      Record r(k, ts, "v" + std::to_string(++step));
      if (rng() % 6 == 0) r.expire_at = clock.now->load() + static_cast<int64_t>(rng() % 50) * kSec;
      model[k][ts] = Version{r.value, r.expire_at, false};
      batch.push_back(std::move(r));
    }
    e->write_batch(batch);
    check_all("after a batch");
    switch (rng() % 6) {
      case 0: {  // delete the current latest of a key: the one before must surface
        const std::string& k = keys[rng() % keys.size()];
        if (auto w = want_latest(k)) {
          std::vector<std::pair<std::string, int64_t>> del{{k, w->ts}};
          e->delete_batch(del);
          model[k][w->ts].deleted = true;
        }
        break;
      }
      case 1:
        e->flush();
        break;
      case 2:
        e->trigger_compaction();
        break;
      case 3:
        clock.advance(static_cast<int64_t>(rng() % 30) * kSec);  // expire some
        break;
      case 4: {  // a range delete hides every earlier write of the keys it covers
        e->delete_range("b", "c");
        for (auto& [k, versions] : model) {
          if (k >= "b" && k < "c") {
            for (auto& [ts, v] : versions) v.deleted = true;
          }
        }
        break;
      }
      default:
        break;
    }
    check_all("after maintenance");
  }
  // A snapshot keeps answering as of its creation while newer writes arrive.
  auto snap = e->get_snapshot();
  std::map<std::string, std::optional<Record>> before;
  for (const auto& k : keys) before[k] = want_latest(k);
  std::vector<Record> newer;
  for (const auto& k : keys) newer.emplace_back(k, 200'000 * kSec, "newer");
  e->write_batch(newer);
  e->flush();
  ReadOptions ro;
  ro.snapshot = snap;
  for (const auto& k : keys) {
    INFO("snapshot read of '" << k << "'");
    const auto got = e->get_latest(k, ro);
    REQUIRE(got.has_value() == before[k].has_value());
    if (got) CHECK(*got == *before[k]);
    CHECK(e->get_latest(k)->value == "newer");
  }
}

TEST_CASE("get_latest of a key with many versions per bucket returns the newest after restart",
          "[engine][latest]") {
  TempDir dir;
  ManualClock clock;
  auto cfg = test_config(dir.path(), clock);
  {
    auto e = Engine::open(cfg);
    for (int b = 0; b < 5; ++b) {  // five 60 s buckets, 300 versions each over 3 keys
      std::vector<Record> rs;
      for (int i = 0; i < 300; ++i) {
        const int64_t ts = b * 60 * kSec + i * 100'000;
        rs.emplace_back("k" + std::to_string(i % 3), ts, std::to_string(ts));
      }
      e->write_batch(rs);
      if (b % 2 == 0) e->flush();
    }
    // The newest point of k0 is deleted; the newest of k1 is in the memtable.
    std::vector<std::pair<std::string, int64_t>> del{{"k0", 4 * 60 * kSec + 297 * 100'000}};
    e->delete_batch(del);
    CHECK(e->get_latest("k0")->ts == 4 * 60 * kSec + 294 * 100'000);
    CHECK(e->get_latest("k1")->ts == 4 * 60 * kSec + 298 * 100'000);
    CHECK(e->get_latest("k2")->value == std::to_string(4 * 60 * kSec + 299 * 100'000));
  }
  auto e = Engine::open(cfg);  // everything now comes from SSTs
  CHECK(e->get_latest("k0")->ts == 4 * 60 * kSec + 294 * 100'000);
  CHECK(e->get_latest("k1")->ts == 4 * 60 * kSec + 298 * 100'000);
  CHECK(e->get_latest("k2")->ts == 4 * 60 * kSec + 299 * 100'000);
  CHECK_FALSE(e->get_latest("k"));
  CHECK_FALSE(e->get_latest("k3"));
}

TEST_CASE("get_latest past a thousand expired versions reads each file a bounded number of times",
          "[engine][latest]") {
  TempDir dir;
  ManualClock clock;
  clock.set(10 * kSec);
  auto e = Engine::open(test_config(dir.path(), clock));  // 60 s buckets
  e->write_batch(std::vector<Record>{Record("s", 1 * kSec, "survivor")});
  std::vector<Record> rs;
  for (int i = 0; i < 1000; ++i) rs.emplace_back("s", 61 * kSec + i * kSec, "short-lived");
  e->write_batch_ttl(rs, 5);
  e->flush();  // about 17 bucket files of expiring versions
  clock.set(5000 * kSec);
  const uint64_t before = e->stats().files_opened_by_reads;
  const auto got = e->get_latest("s");
  const uint64_t opened = e->stats().files_opened_by_reads - before;
  REQUIRE(got);
  CHECK(got->value == "survivor");
  // One search per hidden version would consult a file about 2000 times.
  CHECK(opened < 100);
}
