// SingleFile sst.pack outside the live extents (format.md, "What open
// accepts" and "Repair"): a table that only lost MANIFEST edits recorded is
// refused at open (not reclaimed) and adopted by repair; the bytes of a
// table whose removal the MANIFEST recorded are reclaimed at open and
// quarantined as obsolete by repair.
#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "damage_util.h"

using namespace flowdb;
using namespace flowdb::damage;
using flowdb::testing::read_bytes;
using flowdb::testing::write_bytes;

namespace {

struct PackStore {
  TempDir work;
  std::string dir = (work / "db");
  ManualClock clock;
  Config cfg = single_file(test_config(dir, clock));
  Model model;

  static Config single_file(Config c) {
    c.storage_backend = StorageBackendKind::SingleFile;
    return c;
  }
  void put(Engine& e, int from, int to, int version, int64_t ts = 1) {
    std::vector<Record> rs;
    for (int i = from; i < to; ++i) {
      rs.emplace_back(key_of(i), ts, value_of(i, version));
      model[{key_of(i), ts}] = value_of(i, version);
    }
    e.write_batch_sync(rs);
  }
  void del(Engine& e, int from, int to) {
    std::vector<std::pair<std::string, int64_t>> ds;
    for (int i = from; i < to; ++i) {
      ds.emplace_back(key_of(i), 1);
      model.erase({key_of(i), 1});
    }
    e.delete_batch(ds);
  }
  // The MANIFEST and every WAL segment as they are now.
  Files save_metadata() const {
    Files f;
    f["MANIFEST"] = manifest_name(dir);
    f[f["MANIFEST"]] = read_bytes(dir + "/" + f["MANIFEST"]);
    for (const auto& w : wal_segments(dir)) f[w] = read_bytes(dir + "/" + w);
    return f;
  }
  // Puts the saved MANIFEST and WAL segments back (as a MANIFEST and a WAL
  // that lost their newest writes would be), newer segments stay.
  void restore_metadata(const Files& saved) const {
    REQUIRE(manifest_name(dir) == saved.at("MANIFEST"));  // the same session's MANIFEST
    for (const auto& [rel, bytes] : saved) {
      if (rel != "MANIFEST") write_bytes(dir + "/" + rel, bytes);
    }
  }
};

std::optional<Error> open_error(const Config& cfg) {
  try {
    Engine::open(cfg);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

bool all_zero(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

// A complete MANIFEST record with a wrong checksum: the readable prefix ends
// before it, and open refuses the MANIFEST.
void append_damaged_edit(const std::string& path) {
  std::string rec = read_bytes(path);
  const std::string payload = "not an edit";
  rec += std::string(4, '\x5a');  // checksum
  rec += static_cast<char>(payload.size());
  rec += '\0';
  rec += '\x01';  // a full record
  rec += payload;
  write_bytes(path, rec);
}

}  // namespace

TEST_CASE(
    "SingleFile: a table in sst.pack that only lost MANIFEST edits recorded is Corruption at "
    "open, and repair recovers every record of it",
    "[engine][pack_gap]") {
  PackStore s;
  Files before_flush;
  {
    auto e = Engine::open(s.cfg);
    before_flush = s.save_metadata();  // no table, an empty WAL segment
    s.put(*e, 0, 300, 1);
    e->flush();  // the table's edit moves the log number on; the segment is removed
  }
  const uint64_t pack = fs::file_size(s.dir + "/sst.pack");
  REQUIRE(pack > 0);
  // The MANIFEST loses the flush's edit, the WAL the flushed records: the
  // older state needs nothing that is missing.
  s.restore_metadata(before_flush);
  const auto err = open_error(s.cfg);
  REQUIRE(err.has_value());
  INFO(err->what());
  CHECK(err->code() == Errc::Corruption);
  CHECK_THAT(err->what(), Catch::Matchers::Contains("sst.pack@0+" + std::to_string(pack)));
  CHECK_THAT(err->what(), Catch::Matchers::Contains("flowdb repair"));
  CHECK(fs::file_size(s.dir + "/sst.pack") == pack);  // nothing was reclaimed
  const RepairResult r = Engine::repair(s.cfg);
  INFO(r.summary());
  CHECK(r.tables_adopted == 1);
  CHECK(r.records_in_tables == 300);
  auto e = Engine::open(s.cfg);
  CHECK(compare_with_model(*e, s.model).empty());
}

TEST_CASE(
    "SingleFile: a table in sst.pack whose records the WAL still holds (a crash between copy and "
    "MANIFEST edit) is reclaimed at open",
    "[engine][pack_gap]") {
  PackStore s;
  Files before_flush;
  {
    auto e = Engine::open(s.cfg);
    s.put(*e, 0, 300, 1);
    before_flush = s.save_metadata();  // the WAL segment holds the records
    e->flush();
  }
  REQUIRE(fs::file_size(s.dir + "/sst.pack") > 0);
  s.restore_metadata(before_flush);
  auto e = Engine::open(s.cfg);
  CHECK(fs::file_size(s.dir + "/sst.pack") == 0);  // the unrecorded table was reclaimed
  CHECK(compare_with_model(*e, s.model).empty());  // replayed from the WAL
}

namespace {

enum class Removal { Compaction, DroppedBucket };

// A store whose MANIFEST removed the table at sst.pack@0 (a compaction
// input whose deletes the compaction dropped, or the table of a bucket
// retention dropped) but whose bytes are back there, as if the punch never
// happened (a crash before it, a file system without PUNCH_HOLE). Returns
// the table's bytes.
std::string build_unpunched(PackStore& s, Removal how) {
  std::string old_bytes;
  {
    auto e = Engine::open(s.cfg);
    if (how == Removal::Compaction) {
      s.put(*e, 0, 20, 1);
      e->flush();
      old_bytes = read_bytes(s.dir + "/sst.pack");
      s.del(*e, 0, 10);      // the newer input deletes keys 0..9 ...
      s.put(*e, 10, 20, 2);  // ... and overwrites 10..19
      e->flush();
      // The output holds only keys 10..19 v2: no sequence of the first input.
      REQUIRE(e->compact_bucket(0));
    } else {
      const int64_t width = int64_t{s.cfg.time_bucket_secs} * 1000000;
      s.put(*e, 0, 20, 1, width + 1);
      e->flush();
      old_bytes = read_bytes(s.dir + "/sst.pack");
      s.put(*e, 0, 20, 1);
      e->flush();
      e->drop_bucket(1);
      for (int i = 0; i < 20; ++i) s.model.erase({key_of(i), width + 1});
    }
  }
  const std::string pack = s.dir + "/sst.pack";
  std::string bytes = read_bytes(pack);
  REQUIRE(all_zero(bytes.substr(0, old_bytes.size())));  // punched out
  bytes.replace(0, old_bytes.size(), old_bytes);
  write_bytes(pack, bytes);
  return old_bytes;
}

}  // namespace

TEST_CASE(
    "SingleFile: the unpunched bytes of a table the MANIFEST removed are accounted for: open "
    "reclaims them",
    "[engine][pack_gap]") {
  for (Removal how : {Removal::Compaction, Removal::DroppedBucket}) {
    INFO((how == Removal::Compaction ? "compaction input" : "dropped bucket"));
    PackStore s;
    const std::string old_bytes = build_unpunched(s, how);
    auto e = Engine::open(s.cfg);
    CHECK(compare_with_model(*e, s.model).empty());
    CHECK(all_zero(read_bytes(s.dir + "/sst.pack").substr(0, old_bytes.size())));
  }
}

TEST_CASE(
    "SingleFile: repair quarantines as obsolete the unpunched bytes of a table the readable "
    "MANIFEST removed: nothing deleted, overwritten or dropped comes back",
    "[engine][pack_gap][repair]") {
  for (Removal how : {Removal::Compaction, Removal::DroppedBucket}) {
    INFO((how == Removal::Compaction ? "compaction input" : "dropped bucket"));
    PackStore s;
    const std::string old_bytes = build_unpunched(s, how);
    // Damage after the removal's edit: repair reads the prefix up to it.
    append_damaged_edit(s.dir + "/" + manifest_name(s.dir));
    REQUIRE(open_error(s.cfg).has_value());
    const Files damaged = snapshot(s.dir);
    const RepairResult r = Engine::repair(s.cfg);
    INFO(r.summary());
    CHECK(r.tables_adopted == 0);
    CHECK(check_nothing_lost(damaged, s.dir).empty());
    // The removed table's bytes are in lost/ (in the copy of the gap holding it).
    bool copied = false;
    for (const auto& f : fs::directory_iterator(s.dir + "/lost")) {
      if (f.path().filename().string().rfind("sst.pack@0+", 0) != 0) continue;
      copied |= read_bytes(f.path().string()).compare(0, old_bytes.size(), old_bytes) == 0;
    }
    CHECK(copied);
    bool obsolete = false;
    for (const auto& q : r.quarantined) obsolete |= q.find("obsolete") != std::string::npos;
    CHECK(obsolete);
    auto e = Engine::open(s.cfg);
    CHECK(compare_with_model(*e, s.model).empty());
  }
}
