// Open-time audits of db_validate.h on a real store: an unrecorded table is
// reported only when its sequences are past what the manifest and the WAL
// account for.
#include "db_validate.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;

TEST_CASE("an unrecorded table is reported only past the sequences the state accounts for",
          "[engine][validate]") {
  TempDir tmp;
  ManualClock clock;
  Config cfg = test_config((tmp / "db"), clock);
  cfg.wal_sync_mode = SyncMode::always();
  uint64_t last = 0;
  {
    auto e = Engine::open(cfg);
    for (int i = 0; i < 3; ++i) {
      e->write_batch(std::vector<Record>{Record("k" + std::to_string(i), i, "v")});
      e->flush();
    }
    last = e->stats().last_sequence;
  }
  Env* env = Env::posix();
  const DirInventory inv = inventory_dir(env, cfg.data_dir);
  REQUIRE(inv.tables.size() == 3);
  REQUIRE(inv.wal_segments.size() == 1);  // the empty one the close left
  // As if the manifest recorded none of them (recovered next file number 0)
  // and knew of no sequence: the WAL is empty, so nothing accounts for them.
  const auto lost = audit_unrecorded_tables(env, cfg.data_dir, inv, 0, 0, 0);
  REQUIRE(lost.size() == 3);
  CHECK_THAT(lost[0], Catch::Contains("an edit that recorded it is lost"));
  // Sequences up to the last one are accounted for: a torn flush edit.
  CHECK(audit_unrecorded_tables(env, cfg.data_dir, inv, 0, last, 0).empty());
  // Tables below the recovered next file number are not this audit's concern.
  CHECK(audit_unrecorded_tables(env, cfg.data_dir, inv, inv.tables.back() + 1, 0, 0).empty());
}

TEST_CASE("an unrecorded table whose sequences are in the WAL is accounted for",
          "[engine][validate]") {
  TempDir tmp;
  ManualClock clock;
  Config cfg = test_config((tmp / "db"), clock);
  cfg.wal_sync_mode = SyncMode::always();
  auto e = Engine::open(cfg);
  e->write_batch(std::vector<Record>{Record("a", 1, "v")});
  e->flush();
  e->write_batch(std::vector<Record>{Record("b", 2, "v"), Record("c", 3, "v")});
  const uint64_t last = e->stats().last_sequence;
  Env* env = Env::posix();
  const DirInventory inv = inventory_dir(env, cfg.data_dir);
  REQUIRE(inv.tables.size() == 1);
  // The table's one sequence is below what the live WAL segment holds.
  CHECK(audit_unrecorded_tables(env, cfg.data_dir, inv, 0, 0, 0).empty());
  CHECK(last >= 3);
}
