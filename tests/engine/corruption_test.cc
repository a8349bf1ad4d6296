// Corruption: flipped bytes and damaged or missing files are detected and
// reported as Errc::Corruption (naming file and offset), never returned as
// data; only a torn WAL tail is silently truncated.
//
// Data directory layout (engine/doc/format.md): <dir>/wal/NNNNNN.log,
// <dir>/sst/NNNNNN.sst (or <dir>/sst.pack), <dir>/MANIFEST-NNNNNN, <dir>/CURRENT.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"
#include "flowdb/fault_injection_env.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::read_bytes;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;
using flowdb::testing::write_bytes;
namespace fs = std::filesystem;
using Op = FaultInjectionEnv::Op;

namespace {

constexpr size_t kLogHeader = 7;
constexpr size_t kFooterSize = 3 * 16 + 4 + 8;  // block.h

void flip(const std::string& path, uint64_t offset, uint8_t mask = 0x40) {
  std::string d = read_bytes(path);
  REQUIRE(offset < d.size());
  d[offset] = static_cast<char>(d[offset] ^ mask);
  write_bytes(path, d);
}

// Files of `sub` (relative to dir) ending in `suffix`, sorted by name.
std::vector<std::string> files(const std::string& dir, const std::string& suffix,
                               const std::string& prefix = "") {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() >= suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        n.rfind(prefix, 0) == 0) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string manifest_path(const std::string& dir) {
  std::string cur = read_bytes(dir + "/CURRENT");
  REQUIRE(!cur.empty());
  REQUIRE(cur.back() == '\n');
  cur.pop_back();
  return dir + "/" + cur;
}

// Log records of a file smaller than one 32 KiB block: {offset, length}.
struct LogRec {
  uint64_t offset;
  uint64_t length;  // payload bytes
};
std::vector<LogRec> log_records(const std::string& path) {
  std::string d = read_bytes(path);
  REQUIRE(d.size() < 32768);
  std::vector<LogRec> out;
  uint64_t pos = 0;
  while (pos + kLogHeader <= d.size()) {
    uint64_t len = static_cast<uint8_t>(d[pos + 4]) | (static_cast<uint8_t>(d[pos + 5]) << 8);
    REQUIRE(static_cast<uint8_t>(d[pos + 6]) == 1);  // kFull
    out.push_back({pos, len});
    pos += kLogHeader + len;
  }
  REQUIRE(pos == d.size());
  return out;
}

template <typename F>
std::string expect_corruption(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    INFO("error: " << e.what());
    CHECK(e.code() == Errc::Corruption);
    return e.what();
  }
  FAIL("no Corruption error was thrown");
  return {};
}

std::vector<Record> batch(int i) {
  std::vector<Record> rs;
  for (int j = 0; j < 3; ++j) {
    rs.emplace_back("k" + std::to_string(i) + "/" + std::to_string(j), i,
                    "value-" + std::to_string(i));
  }
  return rs;
}

// Writes batches 1..n, one WAL record each, and "crashes": every further
// file operation fails, so close() cannot flush and the WAL keeps them all.
void write_and_crash(const Config& base, FaultInjectionEnv& env, int n) {
  Config cfg = base;
  cfg.env = &env;
  auto e = Engine::open(cfg);
  for (int i = 1; i <= n; ++i) e->write_batch(batch(i));
  for (Op op : {Op::Write, Op::Sync, Op::Rename, Op::Create, Op::Remove}) env.fail_after(op, 0);
  e.reset();
  env.clear_faults();
}

std::string live_wal(const std::string& dir) {
  auto logs = files(dir + "/wal", ".log");
  REQUIRE(!logs.empty());
  return logs.back();
}

int count_batches(Engine& e, int n) {
  int present = 0;
  for (int i = 1; i <= n; ++i) {
    auto rs = batch(i);
    int got = 0;
    for (const auto& r : rs) got += e.get(r.key, r.ts).has_value() ? 1 : 0;
    INFO("batch " << i);
    CHECK((got == 0 || got == 3));
    if (got == 3) ++present;
  }
  return present;
}

}  // namespace

TEST_CASE("a damaged last WAL record is dropped as a torn tail", "[engine][corruption]") {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::posix());
  Config cfg = test_config(dir.path(), clock);
  cfg.wal_sync_mode = SyncMode::always();
  write_and_crash(cfg, env, 5);
  const std::string wal = live_wal(dir.path());
  auto recs = log_records(wal);
  REQUIRE(recs.size() == 5);
  flip(wal, recs[4].offset + kLogHeader + 5);  // inside the last record's payload
  auto e = Engine::open(cfg);
  CHECK(count_batches(*e, 5) == 4);
  CHECK_FALSE(e->get("k5/0", 5));
  CHECK(e->get("k4/2", 4).value_or(Record()).value == "value-4");
  // Recovery truncated the tail: later writes and reopens are clean.
  e->write_batch(batch(6));
  e.reset();
  e = Engine::open(cfg);
  CHECK(count_batches(*e, 6) == 5);
  CHECK(e->get("k6/1", 6));
}

TEST_CASE("a damaged WAL header at the tail is a torn tail too", "[engine][corruption]") {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env(Env::posix());
  Config cfg = test_config(dir.path(), clock);
  cfg.wal_sync_mode = SyncMode::always();
  write_and_crash(cfg, env, 4);
  const std::string wal = live_wal(dir.path());
  auto recs = log_records(wal);
  REQUIRE(recs.size() == 4);
  // Cut the last record in the middle, as a crash mid-append would.
  std::string d = read_bytes(wal);
  d.resize(recs[3].offset + kLogHeader + recs[3].length / 2);
  write_bytes(wal, d);
  auto e = Engine::open(cfg);
  CHECK(count_batches(*e, 4) == 3);
}

TEST_CASE("a damaged WAL record followed by valid ones is Corruption naming file and offset",
          "[engine][corruption]") {
  for (int victim : {0, 1, 3}) {
    DYNAMIC_SECTION("damaged record " << victim) {
      TempDir dir;
      ManualClock clock;
      FaultInjectionEnv env(Env::posix());
      Config cfg = test_config(dir.path(), clock);
      cfg.wal_sync_mode = SyncMode::always();
      write_and_crash(cfg, env, 5);
      const std::string wal = live_wal(dir.path());
      auto recs = log_records(wal);
      REQUIRE(recs.size() == 5);
      flip(wal, recs[victim].offset + kLogHeader + 3);
      std::string msg = expect_corruption([&] { Engine::open(cfg); });
      CHECK_THAT(msg, Catch::Contains(fs::path(wal).filename().string()));
      CHECK_THAT(msg, Catch::Contains("offset"));
      CHECK_THAT(msg, Catch::Contains(std::to_string(recs[victim].offset)));
      // Still refused on a second try: nothing was "repaired" by truncation.
      expect_corruption([&] { Engine::open(cfg); });
    }
  }
}

namespace {

// A flushed database of 400 records in one bucket; returns its config.
Config make_sst_db(const TempDir& dir, const ManualClock& clock, Compression c,
                   StorageBackendKind backend = StorageBackendKind::MultiFile) {
  Config cfg = test_config(dir.path(), clock);
  cfg.compression = c;
  cfg.storage_backend = backend;
  cfg.block_size = 1024;
  auto e = Engine::open(cfg);
  std::vector<Record> rs;
  for (int i = 0; i < 400; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "key%04d", i);
    rs.emplace_back(k, 1000 + i, std::string(60, static_cast<char>('a' + i % 26)));
  }
  e->write_batch(rs);
  e->flush();
  REQUIRE(e->stats().sstable_count == 1);
  return cfg;
}

std::string the_sst(const std::string& dir) {
  auto ssts = files(dir + "/sst", ".sst");
  REQUIRE(ssts.size() == 1);
  return ssts[0];
}

}  // namespace

TEST_CASE("a flipped byte in an SST data block makes checked reads throw Corruption",
          "[engine][corruption]") {
  for (auto c : {Compression::none(), Compression::lz4()}) {
    DYNAMIC_SECTION("compression " << static_cast<int>(c.kind())) {
      TempDir dir;
      ManualClock clock;
      Config cfg = make_sst_db(dir, clock, c);
      const std::string sst = the_sst(dir.path());
      flip(sst, 40);  // inside the first data block (keys key0000...)
      auto e = Engine::open(cfg);
      ReadOptions verify_no_fill;
      verify_no_fill.fill_cache = false;
      for (const ReadOptions& ro : {ReadOptions{}, verify_no_fill}) {
        INFO("fill_cache " << ro.fill_cache);
        expect_corruption([&] { e->get("key0000", 1000, ro); });
        expect_corruption([&] { e->query(Query::prefix("key000"), ro); });
        expect_corruption([&] { e->query(Query{ScanRange::all(), {}}, ro); });
        expect_corruption([&] { e->get_latest("key0001", ro); });
        expect_corruption([&] {
          auto it = e->scan(ScanRange::all(), ro);
          while (it.next()) {
          }
        });
      }
      std::string msg = expect_corruption([&] { e->verify_checksums(); });
      CHECK_THAT(msg, Catch::Contains(fs::path(sst).filename().string()));
      CHECK_THAT(msg, Catch::Contains("offset"));
      // Blocks not damaged still read fine.
      CHECK(e->get("key0399", 1399).value_or(Record()).value ==
            std::string(60, static_cast<char>('a' + 399 % 26)));
      // Nothing damaged entered the cache: a second attempt still throws.
      expect_corruption([&] { e->get("key0000", 1000); });
    }
  }
}

TEST_CASE("verify_checksums=false is honoured for uncached reads", "[engine][corruption]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = make_sst_db(dir, clock, Compression::none());
  const std::string sst = the_sst(dir.path());
  // Flip a byte of a value in the first block (values are 60 x 'a' there).
  std::string d = read_bytes(sst);
  auto pos = d.find(std::string(60, 'a'));
  REQUIRE(pos != std::string::npos);
  flip(sst, pos + 30, 0x20);  // 'a' -> 'A'
  auto e = Engine::open(cfg);
  ReadOptions raw;
  raw.verify_checksums = false;
  raw.fill_cache = false;  // cached blocks are always verified
  auto before = e->stats().blocks_read_from_disk;
  auto r = e->get("key0000", 1000, raw);
  REQUIRE(r);  // not checked: the damaged bytes come through
  CHECK(r->value != std::string(60, 'a'));
  CHECK(e->stats().blocks_read_from_disk > before);
  CHECK(e->stats().block_cache_bytes == 0);
  // Checked reads refuse the same block.
  expect_corruption([&] { e->get("key0000", 1000); });
}

TEST_CASE("a damaged SST footer or index is Corruption at open or first read",
          "[engine][corruption]") {
  for (int where : {0, 1, 2, 3}) {
    DYNAMIC_SECTION("damage " << where) {
      TempDir dir;
      ManualClock clock;
      Config cfg = make_sst_db(dir, clock, Compression::lz4());
      const std::string sst = the_sst(dir.path());
      const uint64_t size = fs::file_size(sst);
      switch (where) {
        case 0:
          flip(sst, size - 1);  // magic
          break;
        case 1:
          flip(sst, size - kFooterSize);  // first block handle
          break;
        case 2:
          flip(sst, size - kFooterSize - 3);  // index block checksum
          break;
        default: {
          std::string d = read_bytes(sst);  // truncated: no footer at all
          d.resize(size - 10);
          write_bytes(sst, d);
        }
      }
      std::unique_ptr<Engine> e;
      try {
        e = Engine::open(cfg);
      } catch (const Error& err) {
        CHECK(err.code() == Errc::Corruption);
        return;
      }
      std::string msg = expect_corruption([&] { e->get("key0005", 1005); });
      CHECK_THAT(msg, Catch::Contains(fs::path(sst).filename().string()));
      expect_corruption([&] { e->query(Query{ScanRange::all(), {}}); });
      expect_corruption([&] { e->verify_checksums(); });
    }
  }
}

TEST_CASE("a damaged table in the single-file container is Corruption", "[engine][corruption]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = make_sst_db(dir, clock, Compression::lz4(), StorageBackendKind::SingleFile);
  const std::string pack = (dir / "sst.pack");
  REQUIRE(fs::exists(pack));
  flip(pack, 40);
  auto e = Engine::open(cfg);
  expect_corruption([&] { e->get("key0000", 1000); });
  expect_corruption([&] { e->verify_checksums(); });
}

namespace {

// A directory whose MANIFEST holds several edits.
void make_manifest_db(const TempDir& dir, const ManualClock& clock) {
  Config cfg = test_config(dir.path(), clock);
  cfg.compaction_threshold = 1;
  auto e = Engine::open(cfg);
  e->write_batch(std::vector<Record>{Record("a", 1, "1"), Record("b", 61'000'000, "2")});
  e->flush();
  e->delete_range("a", "aa");
  e->write_batch(std::vector<Record>{Record("a", 2, "3")});
  e->flush();
  e->trigger_compaction();
  e->write_batch(std::vector<Record>{Record("c", 3, "4")});
}

}  // namespace

TEST_CASE("any flipped MANIFEST byte outside a cut-off tail is Corruption",
          "[engine][corruption][manifest]") {
  TempDir pristine;
  ManualClock clock;
  make_manifest_db(pristine, clock);
  const std::string mpath = manifest_path(pristine.path());
  const std::string mname = fs::path(mpath).filename().string();
  const std::string original = read_bytes(mpath);
  auto recs = log_records(mpath);
  REQUIRE(recs.size() >= 2);
  const LogRec last = recs.back();
  uint64_t tried = 0, refused = 0;
  for (uint64_t pos = 0; pos < original.size(); ++pos) {
    std::string d = original;
    d[pos] = static_cast<char>(d[pos] ^ 0x01);
    // A larger length in the last header looks exactly like a cut-off
    // append: the one ambiguous case, allowed to be a torn tail.
    if (pos == last.offset + 4 || pos == last.offset + 5) {
      uint64_t len = static_cast<uint8_t>(d[last.offset + 4]) |
                     (static_cast<uint8_t>(d[last.offset + 5]) << 8);
      if (last.offset + kLogHeader + len > d.size()) continue;
    }
    TempDir work;
    fs::copy(pristine.path(), work.path(),
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    write_bytes(work.path() + "/" + mname, d);
    Config cfg = test_config(work.path(), clock);
    ++tried;
    try {
      auto e = Engine::open(cfg);
      FAIL_CHECK("open accepted a MANIFEST with byte " << pos << " of " << original.size()
                                                       << " flipped");
    } catch (const Error& e) {
      INFO("byte " << pos << ": " << e.what());
      CHECK(e.code() == Errc::Corruption);
      CHECK_THAT(e.what(), Catch::Contains(mname));
      ++refused;
    }
  }
  CHECK(tried > 100);
  CHECK(refused == tried);
}

TEST_CASE("a MANIFEST cut off inside its last record opens with the earlier edits",
          "[engine][corruption][manifest]") {
  TempDir dir;
  ManualClock clock;
  make_manifest_db(dir, clock);
  const std::string mpath = manifest_path(dir.path());
  auto recs = log_records(mpath);
  REQUIRE(recs.size() >= 2);
  std::string d = read_bytes(mpath);
  // Append half of a copy of the first record: an interrupted append.
  std::string tail = d.substr(recs[0].offset, kLogHeader + recs[0].length);
  d += tail.substr(0, tail.size() / 2);
  write_bytes(mpath, d);
  auto e = Engine::open(test_config(dir.path(), clock));
  CHECK(e->get("a", 2).value_or(Record()).value == "3");
  CHECK_FALSE(e->get("a", 1));
  CHECK(e->get("c", 3));
}

TEST_CASE("a garbage or dangling CURRENT is Corruption", "[engine][corruption]") {
  for (std::string contents :
       {std::string("garbage\n"), std::string("MANIFEST-999999\n"), std::string(""),
        std::string("MANIFEST-000001"), std::string("\0\0\0\0", 4)}) {
    DYNAMIC_SECTION("CURRENT = " << contents.size() << " bytes") {
      TempDir dir;
      ManualClock clock;
      make_manifest_db(dir, clock);
      write_bytes((dir / "CURRENT"), contents);
      std::string msg = expect_corruption([&] { Engine::open(test_config(dir.path(), clock)); });
      CHECK_THAT(msg, Catch::Contains("CURRENT"));
    }
  }
}

TEST_CASE("a missing live SST is Corruption, never silently empty", "[engine][corruption]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = make_sst_db(dir, clock, Compression::lz4());
  fs::remove(the_sst(dir.path()));
  std::unique_ptr<Engine> e;
  try {
    e = Engine::open(cfg);
  } catch (const Error& err) {
    CHECK(err.code() == Errc::Corruption);
    return;
  }
  expect_corruption([&] { e->get("key0001", 1001); });
  expect_corruption([&] { e->query(Query{ScanRange::all(), {}}); });
  expect_corruption([&] { e->verify_checksums(); });
}

TEST_CASE("a truncated single-file container is Corruption", "[engine][corruption]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = make_sst_db(dir, clock, Compression::lz4(), StorageBackendKind::SingleFile);
  write_bytes((dir / "sst.pack"), "");
  std::unique_ptr<Engine> e;
  try {
    e = Engine::open(cfg);
  } catch (const Error& err) {
    CHECK(err.code() == Errc::Corruption);
    return;
  }
  expect_corruption([&] { e->get("key0001", 1001); });
  expect_corruption([&] { e->verify_checksums(); });
}

TEST_CASE("a missing CURRENT beside tables is Corruption even with create_if_missing",
          "[engine][corruption][regression]") {
  TempDir dir;
  ManualClock clock;
  Config cfg = make_sst_db(dir, clock, Compression::none());
  cfg.create_if_missing = true;
  std::vector<std::string> before;
  for (const auto& p : fs::directory_iterator(dir.path() + "/sst")) before.push_back(p.path());
  REQUIRE_FALSE(before.empty());
  fs::remove(dir.path() + "/CURRENT");
  try {
    Engine::open(cfg);
    FAIL("open succeeded without CURRENT");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::Corruption);
    CHECK_THAT(e.what(), Catch::Contains("CURRENT is missing"));
  }
  for (const auto& p : before) CHECK(fs::exists(p));  // no table deleted
}
