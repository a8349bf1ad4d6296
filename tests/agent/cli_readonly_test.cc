// `flowdb query`, `flowdb stats` and `flowdb check` open the data directory
// read-only (issue 14): every file -- listing, full content, size, mtime,
// ctime -- is the same before and after each command, on a store with WAL
// data and several tables, and on one whose newest WAL segment has a torn tail.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dir_snapshot.h"
#include "flowdb/engine.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"
#include "temp_dir.h"

using namespace flowdb;
using Catch::Matchers::Contains;
using flowdb::testing::diff_snapshots;
using flowdb::testing::snapshot_dir;
namespace fs = std::filesystem;

namespace {

using flowdb::testing::TempDir;

std::string run_capture(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *rc = WEXITSTATUS(::pclose(p));
  return out;
}

constexpr int64_t kHourUs = int64_t{3600} * 1'000'000;
constexpr int64_t kBaseUs = int64_t{1'700'000'000} * 1'000'000;  // 2023-11-14T22:13:20Z
constexpr int kHosts = 5, kPerHour = 120;

// Points of cpu,host=gwN usage=...: three hours flushed to tables (several
// files), a fourth only in the WAL; the directory is copied while the engine
// is open, as a crash (or a pulled SD card) leaves it.
void make_store(const fs::path& live, const fs::path& copy, StorageBackendKind backend) {
  Config c;
  c.data_dir = live.string();
  c.auto_background = false;
  c.storage_backend = backend;
  c.wal_sync_mode = SyncMode::always();
  auto e = Engine::open(c);
  for (int h = 0; h < 4; ++h) {
    std::vector<Record> batch;
    for (int host = 0; host < kHosts; ++host) {
      const std::vector<ingest::Tag> tags{{"host", "gw" + std::to_string(host)}};
      for (int i = 0; i < kPerHour; ++i) {
        batch.emplace_back(ingest::series_key("cpu", tags, "usage"),
                           kBaseUs + h * kHourUs + i * 1'000'000,
                           ingest::encode_value(ingest::FieldValue(0.5 * i)));
      }
    }
    e->write_batch(batch);
    if (h < 3) e->flush();
  }
  REQUIRE(e->stats().sstable_count >= 3);
  REQUIRE(e->stats().memtable_records == static_cast<size_t>(kHosts * kPerHour));
  fs::copy(live, copy, fs::copy_options::recursive);
}

void tear_newest_wal_segment(const fs::path& dir) {
  std::vector<fs::path> wal;
  for (const auto& f : fs::directory_iterator(dir / "wal")) wal.push_back(f.path());
  REQUIRE(!wal.empty());
  const fs::path newest = *std::max_element(wal.begin(), wal.end());
  FILE* f = std::fopen(newest.c_str(), "ab");
  REQUIRE(f != nullptr);
  std::fwrite("\x7f\x01\x02\x03\x04", 1, 5, f);  // a record header cut short
  std::fclose(f);
}

// Runs each read-only command and checks the directory is unchanged after it.
void check_commands_change_nothing(const fs::path& dir, size_t expected_points) {
  const std::string cli = FLOWDB_CLI_BIN;
  const std::string d = " --data-dir " + dir.string();
  const auto before = snapshot_dir(dir.string());
  REQUIRE(before.count("CURRENT") == 1);
  int rc;
  std::string out = run_capture(cli + " stats" + d, &rc);
  INFO(out);
  CHECK(rc == 0);
  CHECK_THAT(out, Contains("memtable " + std::to_string(kHosts * kPerHour) + " records"));
  CHECK(diff_snapshots(before, snapshot_dir(dir.string())) == "");

  out = run_capture(cli + " check" + d, &rc);
  CHECK(rc == 0);
  CHECK_THAT(out, Contains("OK: "));
  CHECK(diff_snapshots(before, snapshot_dir(dir.string())) == "");

  out = run_capture(cli + " query --format lp" + d, &rc);
  CHECK(rc == 0);
  size_t points = 0;  // stdout and stderr are merged: count the line-protocol lines
  for (size_t pos = 0; (pos = out.find("cpu,host=", pos)) != std::string::npos; ++pos) ++points;
  CHECK(points == expected_points);
  CHECK_THAT(out, Contains("cpu,host=gw4 usage=59.5 "));
  CHECK(diff_snapshots(before, snapshot_dir(dir.string())) == "");
}

// For each backend: a crashed store, damaged by `damage`, then the commands.
void for_each_backend(const std::function<void(const fs::path&)>& damage) {
  for (auto backend : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    INFO((backend == StorageBackendKind::MultiFile ? "MultiFile" : "SingleFile"));
    TempDir tmp;
    make_store(tmp / "live", tmp / "db", backend);
    damage(tmp / "db");
    check_commands_change_nothing(tmp / "db", 4 * kHosts * kPerHour);
  }
}

}  // namespace

TEST_CASE("flowdb stats, check and query change no file of a store with WAL data and tables",
          "[agent][cli][read_only]") {
  for_each_backend([](const fs::path&) {});
}

TEST_CASE("flowdb stats, check and query change no file of a store with a torn WAL tail",
          "[agent][cli][read_only]") {
  for_each_backend(tear_newest_wal_segment);
}

TEST_CASE("flowdb stats refuses a directory an open engine holds and changes nothing",
          "[agent][cli][read_only]") {
  TempDir tmp;
  make_store(tmp / "live", tmp / "db", StorageBackendKind::MultiFile);
  Config c;
  c.data_dir = tmp / "db";
  c.auto_background = false;
  auto holder = Engine::open(c);
  const auto before = snapshot_dir(c.data_dir);
  int rc;
  const std::string out =
      run_capture(std::string(FLOWDB_CLI_BIN) + " stats --data-dir " + c.data_dir, &rc);
  CHECK(rc == 1);
  CHECK_THAT(out, Contains("held by a running flowdb-agent"));
  CHECK(diff_snapshots(before, snapshot_dir(c.data_dir)) == "");
}
