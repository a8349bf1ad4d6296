// Config::read_only (issue 14): the same records as a normal open, every
// write throws ReadOnlyError, and the directory -- listing, content, sizes,
// mtimes, ctimes -- is exactly as it was, for both storage backends.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dir_snapshot.h"
#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using flowdb::testing::diff_snapshots;
using flowdb::testing::ManualClock;
using flowdb::testing::read_bytes;
using flowdb::testing::snapshot_dir;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;
using flowdb::testing::write_bytes;
namespace fs = std::filesystem;

namespace {

using Model = std::map<std::pair<std::string, int64_t>, std::string>;

constexpr int64_t kBucketUs = int64_t{60} * 1'000'000;

std::string key_of(int i) { return "dev-" + std::to_string(i % 40) + "/temp"; }

// A store as a crash leaves it: three flushed buckets (several tables), then
// overwrites, deletes, a range delete and new records only in the WAL. The
// directory is copied while the engine is open (SyncMode::always: every
// acknowledged batch is in the files), so it holds an unlocked LOCK file.
struct CrashedStore {
  TempDir tmp;
  ManualClock clock;
  Config cfg;
  Model model;
  std::string dir() const { return (tmp / "db"); }

  explicit CrashedStore(StorageBackendKind backend) {
    cfg = test_config((tmp / "live"), clock);
    cfg.storage_backend = backend;
    cfg.wal_sync_mode = SyncMode::always();
    cfg.memtable_size_mb = 8;
    auto e = Engine::open(cfg);
    auto put = [&](int i, int64_t ts, const std::string& v) {
      e->write_batch(std::vector<Record>{Record(key_of(i), ts, v)});
      model[{key_of(i), ts}] = v;
    };
    for (int b = 0; b < 3; ++b) {
      for (int i = 0; i < 300; ++i) put(i, b * kBucketUs + i, "v1-" + std::to_string(i));
      e->flush();
    }
    for (int i = 0; i < 50; ++i) put(i, i, "v2-" + std::to_string(i));  // overwrites
    std::vector<std::pair<std::string, int64_t>> dels;
    for (int i = 100; i < 120; ++i) dels.emplace_back(key_of(i), kBucketUs + i);
    e->delete_batch(dels);
    for (const auto& d : dels) model.erase(d);
    e->delete_range("dev-39/", "dev-39/~");
    std::erase_if(model, [](const auto& kv) { return kv.first.first.starts_with("dev-39/"); });
    for (int i = 0; i < 200; ++i) put(i, 3 * kBucketUs + i, "wal-" + std::to_string(i));
    REQUIRE(e->stats().memtable_records > 0);
    REQUIRE(e->stats().sstable_count >= 3);
    fs::copy(cfg.data_dir, dir(), fs::copy_options::recursive);
    cfg.data_dir = dir();
  }
  Config read_only() const {
    Config c = cfg;
    c.read_only = true;
    return c;
  }
};

Model records_of(Engine& e) {
  Model m;
  for (const auto& r : e.query(Query{ScanRange::all(), {}})) m[{r.key, r.ts}] = r.value;
  return m;
}

Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no flowdb::Error thrown");
  return Error(Errc::Io, "unreachable");
}

const char* name_of(StorageBackendKind b) {
  return b == StorageBackendKind::MultiFile ? "MultiFile" : "SingleFile";
}

}  // namespace

TEST_CASE("a read-only open returns the records of a normal open and changes no file",
          "[engine][read_only]") {
  for (auto backend : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    INFO(name_of(backend));
    CrashedStore s(backend);
    const auto before = snapshot_dir(s.dir());
    REQUIRE(before.count("LOCK") == 1);
    {
      Config c = s.read_only();
      c.memtable_size_mb = 1;  // smaller than the WAL's content: still nothing is flushed
      auto e = Engine::open(c);
      CHECK(records_of(*e) == s.model);
      CHECK(e->get(key_of(0), 0)->value == "v2-0");
      CHECK_FALSE(e->get(key_of(100), kBucketUs + 100));
      CHECK(e->stats().sstable_count >= 3);
      CHECK(e->stats().memtable_records > 0);
      CHECK(e->stats().wal_bytes > 0);
      CHECK(e->verify_checksums() > 0);
      CHECK(e->list_buckets().size() == 3);
      CHECK(e->list_feeds().empty());
      e->close();
    }
    CHECK(diff_snapshots(before, snapshot_dir(s.dir())) == "");
    // A normal open of the same directory agrees (and then may rewrite it).
    auto e = Engine::open(s.cfg);
    CHECK(records_of(*e) == s.model);
  }
}

TEST_CASE("every write, flush, compaction, GC and feed call on a read-only engine throws",
          "[engine][read_only]") {
  for (auto backend : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    INFO(name_of(backend));
    CrashedStore s(backend);
    const auto before = snapshot_dir(s.dir());
    auto e = Engine::open(s.read_only());
    const std::vector<Record> one{Record("k", 1, "v")};
    const std::vector<std::pair<std::string, int64_t>> key{{key_of(1), 1}};
    const std::vector<std::pair<const char*, std::function<void()>>> calls = {
        {"write_batch", [&] { e->write_batch(one); }},
        {"write_batch_sync", [&] { e->write_batch_sync(one); }},
        {"write_batch_ttl", [&] { e->write_batch_ttl(one, 10); }},
        {"write", [&] { e->write(WriteOptions{.sync = true}, WriteBatch{}); }},
        {"delete_batch", [&] { e->delete_batch(key); }},
        {"delete_range", [&] { e->delete_range("a", "z"); }},
        {"patch_record", [&] { e->patch_record(key_of(1), 1, "x", std::nullopt); }},
        {"flush", [&] { e->flush(); }},
        {"trigger_compaction", [&] { e->trigger_compaction(); }},
        {"trigger_gc", [&] { e->trigger_gc(); }},
        {"compact_bucket", [&] { e->compact_bucket(0); }},
        {"drop_bucket", [&] { e->drop_bucket(0); }},
        {"spawn_background_maintenance", [&] { e->spawn_background_maintenance(); }},
        {"open_feed", [&] { e->open_feed("f"); }},
        {"drop_feed", [&] { e->drop_feed("f"); }},
        {"trim_feed_backlog", [&] { e->trim_feed_backlog(0); }},
        {"resume", [&] { e->resume(); }},
    };
    for (const auto& [name, call] : calls) {
      INFO(name);
      const Error err = error_of(call);
      CHECK(err.code() == Errc::ReadOnlyError);
      CHECK_THAT(err.what(), Catch::Contains(name) && Catch::Contains("read-only"));
    }
    CHECK(records_of(*e) == s.model);  // unchanged by the refused calls
    e->shutdown();
    CHECK(diff_snapshots(before, snapshot_dir(s.dir())) == "");
  }
}

TEST_CASE(
    "a read-only open of an absent, empty or CURRENT-less directory fails and creates nothing",
    "[engine][read_only]") {
  TempDir tmp;
  ManualClock clock;
  Config c = test_config((tmp / "absent"), clock);
  c.read_only = true;
  c.create_if_missing = true;  // ignored by a read-only open
  CHECK(error_of([&] { Engine::open(c); }).code() == Errc::NotFound);
  CHECK_FALSE(fs::exists(c.data_dir));

  c.data_dir = (tmp / "empty");
  fs::create_directories(c.data_dir);
  const Error empty = error_of([&] { Engine::open(c); });
  CHECK(empty.code() == Errc::NotFound);
  CHECK_THAT(empty.what(), Catch::Contains("read-only open never creates"));
  CHECK(fs::is_empty(c.data_dir));

  fs::create_directories(c.data_dir + "/wal");
  write_bytes(c.data_dir + "/wal/000007.log", "data");
  const auto before = snapshot_dir(c.data_dir);
  CHECK(error_of([&] { Engine::open(c); }).code() == Errc::Corruption);
  CHECK(diff_snapshots(before, snapshot_dir(c.data_dir)) == "");
}

TEST_CASE("a read-only open and a writable open of one directory exclude each other",
          "[engine][read_only]") {
  CrashedStore s(StorageBackendKind::MultiFile);
  {
    auto writer = Engine::open(s.cfg);
    const Error e = error_of([&] { Engine::open(s.read_only()); });
    CHECK(e.code() == Errc::Busy);
    CHECK_THAT(e.what(), Catch::Contains("open for writing by another process"));
  }
  {
    auto reader = Engine::open(s.read_only());
    auto second_reader = Engine::open(s.read_only());  // shared
    const Error e = error_of([&] { Engine::open(s.cfg); });
    CHECK(e.code() == Errc::Busy);
    CHECK_THAT(e.what(), Catch::Contains("a writer or a read-only reader"));
    CHECK(records_of(*second_reader) == s.model);
  }
  auto writer = Engine::open(s.cfg);  // the readers' locks are gone
  CHECK(records_of(*writer) == s.model);
}

TEST_CASE("a read-only open of a copied directory without LOCK creates no LOCK file",
          "[engine][read_only]") {
  CrashedStore s(StorageBackendKind::SingleFile);
  fs::remove(s.dir() + "/LOCK");
  const auto before = snapshot_dir(s.dir());
  {
    auto e = Engine::open(s.read_only());
    CHECK(records_of(*e) == s.model);
  }
  CHECK(diff_snapshots(before, snapshot_dir(s.dir())) == "");
}

TEST_CASE("a torn WAL tail is read up to the tear and left in place by a read-only open",
          "[engine][read_only]") {
  for (auto backend : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    INFO(name_of(backend));
    CrashedStore s(backend);
    std::vector<std::string> wal;
    for (const auto& e : fs::directory_iterator(s.dir() + "/wal")) wal.push_back(e.path());
    std::sort(wal.begin(), wal.end());
    REQUIRE(!wal.empty());
    // Half a record header: an append cut short by the crash.
    write_bytes(wal.back(), read_bytes(wal.back()) + std::string("\x12\x34\x56", 3));
    const auto before = snapshot_dir(s.dir());
    {
      auto e = Engine::open(s.read_only());
      CHECK(records_of(*e) == s.model);
    }
    CHECK(diff_snapshots(before, snapshot_dir(s.dir())) == "");
    auto e = Engine::open(s.cfg);  // the writable open cuts the tail
    CHECK(records_of(*e) == s.model);
  }
}
