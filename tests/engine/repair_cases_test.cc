// Repair cases (issue 14 item 2) beyond the damage trials: a compaction's
// output next to its leftover inputs (recorded or not), WAL records already
// in tables or on both sides of a kept table, range deletes, and refusals.
#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "damage_util.h"

using namespace flowdb;
using namespace flowdb::damage;
using flowdb::testing::write_bytes;

namespace {

// A fresh store directory with a test config and its model.
struct Scratch {
  TempDir work;
  std::string dir = (work / "db");
  ManualClock clock;
  Config cfg = test_config(dir, clock);
  Model model;
};

}  // namespace

TEST_CASE(
    "of a compaction's output and its leftover inputs, repair keeps the output: nothing "
    "deleted comes back",
    "[engine][repair]") {
  Scratch sc;
  auto& [work, dir, clock, cfg, model] = sc;
  std::vector<std::string> inputs;
  std::string pre_manifest;
  {
    auto e = Engine::open(cfg);
    std::vector<Record> rs;
    for (int i = 0; i < 100; ++i) rs.emplace_back(key_of(i), 1, value_of(i, 1));
    e->write_batch(rs);
    e->flush();
    std::vector<std::pair<std::string, int64_t>> dels;
    for (int i = 0; i < 10; ++i) dels.emplace_back(key_of(i), 1);
    e->delete_batch(dels);
    rs.clear();
    for (int i = 10; i < 20; ++i) rs.emplace_back(key_of(i), 1, value_of(i, 2));
    e->write_batch(rs);
    e->flush();
    inputs = table_files(dir);
    REQUIRE(inputs.size() == 2);
    for (const auto& t : inputs)
      fs::copy_file(dir + "/" + t, (work / fs::path(t).filename().string()));
    pre_manifest = manifest_name(dir);
    fs::copy_file(dir + "/" + pre_manifest, (work / "pre-manifest"));
    REQUIRE(e->compact_bucket(0));  // drops the deletes and the overwritten versions
    for (int i = 10; i < 100; ++i) model[{key_of(i), 1}] = value_of(i, i < 20 ? 2 : 1);
  }
  // A crash after the compaction's output was written, before its inputs
  // were removed: the inputs (with the deleted records) are back in sst/.
  for (const auto& t : inputs)
    fs::copy_file((work / fs::path(t).filename().string()), dir + "/" + t);
  const std::string manifest = manifest_name(dir);
  std::string reason;
  uint64_t adopted = 0;
  SECTION("the MANIFEST records the compaction: the inputs are obsolete") { reason = "obsolete"; }
  SECTION("the MANIFEST is lost: the inputs are superseded") {
    fs::remove(dir + "/CURRENT");
    fs::remove(dir + "/" + manifest);
    reason = "superseded";
    adopted = 1;  // nothing is recorded
  }
  SECTION("the compaction's edit never became durable: its output is adopted") {
    fs::remove(dir + "/" + manifest);
    fs::copy_file((work / "pre-manifest"), dir + "/" + pre_manifest,
                  fs::copy_options::overwrite_existing);
    write_bytes(dir + "/CURRENT", pre_manifest + "\n");
    reason = "superseded";
    adopted = 1;
  }
  const RepairResult r = Engine::repair(cfg);
  INFO(r.summary());
  CHECK(r.tables_kept == 1);
  CHECK(r.tables_adopted == adopted);
  CHECK(r.quarantined.size() == 2);
  for (const auto& t : inputs) CHECK(fs::exists(dir + "/lost/" + t));
  for (const auto& q : r.quarantined) CHECK_THAT(q, Catch::Matchers::Contains(reason));
  auto e = Engine::open(cfg);
  CHECK(compare_with_model(*e, model).empty());
}

namespace {

// Three flushed tables (keys 0..99 v1; 0..49 v2; 0..24 v3) plus copies of
// the WAL segments of the first and the third round, put back after close
// as if a crash had kept them (or a change feed still needed them).
struct LayeredStore : Scratch {
  std::vector<std::string> tables;

  void round(Engine& e, int keys, int version, const std::string& save_as) {
    std::vector<Record> rs;
    for (int i = 0; i < keys; ++i) {
      rs.emplace_back(key_of(i), 1, value_of(i, version));
      model[{key_of(i), 1}] = value_of(i, version);
    }
    e.write_batch_sync(rs);
    if (!save_as.empty()) fs::copy_file(dir + "/" + wal_segments(dir).back(), (work / save_as));
    e.flush();
  }
  LayeredStore() {
    {
      auto e = Engine::open(cfg);
      round(*e, 100, 1, "s1");
      round(*e, 50, 2, "");
      round(*e, 25, 3, "s3");
    }
    tables = table_files(dir);
    REQUIRE(tables.size() == 3);
  }
  // Puts the saved segments back under fresh names after every other one.
  void restore_wal() {
    const auto wal = wal_segments(dir);
    unsigned long n = std::stoul(fs::path(wal.back()).stem().string());
    for (const char* s : {"s1", "s3"}) {
      char name[32];
      std::snprintf(name, sizeof name, "/wal/%06lu.log", ++n);
      fs::copy_file((work / s), dir + name);
    }
  }
};

}  // namespace

TEST_CASE("WAL records that kept tables already hold are not written again", "[engine][repair]") {
  LayeredStore s;
  s.restore_wal();
  fs::remove(s.dir + "/CURRENT");
  const RepairResult r = Engine::repair(s.cfg);
  INFO(r.summary());
  CHECK(r.tables_kept == 3);
  CHECK(r.records_from_wal == 0);
  CHECK(r.tables_built == 0);
  auto e = Engine::open(s.cfg);
  CHECK(compare_with_model(*e, s.model).empty());
}

TEST_CASE(
    "WAL records on both sides of a kept table go into separate tables: the newest version wins",
    "[engine][repair]") {
  LayeredStore s;
  s.restore_wal();
  flip(s.dir + "/" + s.tables[0], 100);  // v1 and v3 are left only in the WAL copies
  flip(s.dir + "/" + s.tables[2], 100);
  const RepairResult r = Engine::repair(s.cfg);
  INFO(r.summary());
  CHECK(r.tables_kept == 1);
  CHECK(r.tables_built == 2);
  CHECK(r.records_from_wal == 125);
  CHECK(r.quarantined.size() == 2);
  auto e = Engine::open(s.cfg);
  CHECK(compare_with_model(*e, s.model).empty());  // 0..24 v3, 25..49 v2, 50..99 v1
  REQUIRE(e->compact_bucket(0));
  CHECK(compare_with_model(*e, s.model).empty());
}

TEST_CASE("a range delete survives repair: from the MANIFEST, or from its WAL segment",
          "[engine][repair]") {
  Scratch sc;
  auto& [work, dir, clock, cfg, model] = sc;
  {
    auto e = Engine::open(cfg);
    std::vector<Record> rs;
    for (int i = 0; i < 110; ++i) {
      rs.emplace_back(key_of(i), 1, value_of(i, 1));
      if (i < 10 || i >= 20) model[{key_of(i), 1}] = value_of(i, 1);
    }
    e->write_batch(std::span<const Record>(rs).first(100));
    e->flush();
    e->delete_range(key_of(10), key_of(20));  // hides keys 10..19 of the table
    e->write_batch_sync(std::span<const Record>(rs).subspan(100));
    fs::copy_file(dir + "/" + wal_segments(dir).back(), (work / "saved.log"));
  }  // close flushes: the tombstone is recorded in the MANIFEST
  const std::string manifest = manifest_name(dir);
  fs::remove(dir + "/CURRENT");
  SECTION("the MANIFEST is kept") {}
  SECTION("the MANIFEST is lost but the segment holding the range delete is not") {
    fs::remove(dir + "/" + manifest);
    fs::copy_file((work / "saved.log"), dir + "/wal/000900.log");
  }
  const RepairResult r = Engine::repair(cfg);
  INFO(r.summary());
  auto e = Engine::open(cfg);
  CHECK(compare_with_model(*e, model).empty());
}

namespace {

std::optional<Errc> repair_error(const Config& cfg) {
  try {
    Engine::repair(cfg);
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("repair refuses a directory an engine holds, one without FlowDB files, the wrong backend",
          "[engine][repair]") {
  TempDir work;
  const std::string dir = (work / "db");
  ManualClock clock;
  Config cfg = test_config(dir, clock);
  auto e = Engine::open(cfg);
  e->write_batch(std::vector<Record>{Record(key_of(1), 1, value_of(1, 1))});
  e->flush();
  const Files before = snapshot(dir);
  CHECK(repair_error(cfg) == Errc::Busy);
  CHECK(snapshot(dir) == before);
  e.reset();
  const Files closed = snapshot(dir);
  Config single = cfg;
  single.storage_backend = StorageBackendKind::SingleFile;
  CHECK(repair_error(single) == Errc::InvalidArgument);
  CHECK(snapshot(dir) == closed);  // refused before anything was written
  Config empty = cfg;
  empty.data_dir = (work / "empty");
  fs::create_directories(empty.data_dir);
  CHECK(repair_error(empty) == Errc::NotFound);
  CHECK(fs::is_empty(empty.data_dir));
}
