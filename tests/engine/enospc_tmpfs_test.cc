// ENOSPC on a real file system: a tmpfs of 4 MiB mounted by the test.
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"
#include "tmpfs_mount.h"

using namespace flowdb;
using flowdb::testing::fill_leaving;
using flowdb::testing::TempDir;
using flowdb::testing::TmpfsMount;

namespace {

std::vector<Record> batch(int i) {
  std::vector<Record> rs;
  for (int j = 0; j < 8; ++j) {
    std::string v(2000, static_cast<char>('a' + (i + j) % 26));
    v += "#" + std::to_string(i);
    rs.emplace_back("s" + std::to_string(j), static_cast<int64_t>(i) * 1000 + j, std::move(v));
  }
  return rs;
}

int visible(Engine& e, int i) {
  int n = 0;
  for (const Record& r : batch(i)) {
    auto got = e.get(r.key, r.ts);
    if (got) {
      REQUIRE(got->value == r.value);
      ++n;
    }
  }
  return n;
}

void verify(Engine& e, int written, const std::set<int>& acked) {
  for (int i = 0; i < written; ++i) {
    INFO("batch " << i);
    const int n = visible(e, i);
    REQUIRE((n == 0 || n == 8));
    REQUIRE((n == 8) == (acked.count(i) == 1));
  }
}

bool wait_for(const std::function<bool()>& cond) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

TEST_CASE("A full tmpfs stops writes, and freeing space resumes them in the same process",
          "[engine][enospc][tmpfs][slow]") {
  TempDir dir;
  const std::string mnt = (dir / "mnt");
  std::filesystem::create_directories(mnt);
  TmpfsMount m(mnt, "4m");
  if (!m.ok()) {
    WARN("tmpfs not mounted (" << m.error() << "): needs root; test skipped");
    return;
  }
  Config cfg;
  cfg.data_dir = mnt + "/db";
  cfg.memtable_size_mb = 1;
  cfg.flush_interval_ms = 50;
  cfg.wal_sync_mode = SyncMode::always();
  std::set<int> acked;
  int next = 0, failed = 0, after_free = 0;
  {
    auto e = Engine::open(cfg);
    // Leave ~1.5 MiB: the WAL and the first flushes fill it.
    fill_leaving(mnt + "/filler", 1536 * 1024);
    while (failed == 0 && next < 5000) {
      const int i = next++;
      try {
        e->write_batch(batch(i));
        acked.insert(i);
      } catch (const Error& err) {
        INFO(err.what());
        REQUIRE(err.code() == Errc::NoSpace);
        ++failed;
      }
    }
    REQUIRE(failed == 1);
    REQUIRE(e->background_error().severity == BackgroundError::Severity::Soft);
    // Writes keep failing fast while the device is full.
    for (int k = 0; k < 5; ++k, ++next, ++failed) {
      REQUIRE_THROWS_AS(e->write_batch(batch(next)), Error);
    }
    verify(*e, next, acked);
    std::filesystem::remove(mnt + "/filler");
    REQUIRE(wait_for(
        [&] { return e->background_error().severity == BackgroundError::Severity::None; }));
    for (int k = 0; k < 100; ++k, ++after_free) {
      const int i = next++;
      e->write_batch(batch(i));
      acked.insert(i);
    }
    e->flush();
    verify(*e, next, acked);
    std::cout << "enospc tmpfs: written " << next << " batches of 8 records, acknowledged "
              << acked.size() << " (" << after_free << " after freeing space), failed " << failed
              << ", background errors " << e->stats().background_errors << ", resumes "
              << e->stats().background_resumes << "\n";
  }
  auto e = Engine::open(cfg);
  verify(*e, next, acked);
}
