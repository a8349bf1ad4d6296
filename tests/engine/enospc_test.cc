// A full disk is survivable without a restart: background errors, resume()
// and the automatic retry, through FaultInjectionEnv and on a real tmpfs of a
// few MiB that the test mounts (skipped with a warning where mount(2) is not
// permitted, i.e. not root).
//
// Every test numbers its batches and checks, in the same process and after a
// reopen: every acknowledged batch is wholly readable, no batch is partly
// visible, and a batch whose write threw is absent.
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"
#include "flowdb/fault_injection_env.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;
using Op = FaultInjectionEnv::Op;
using Severity = BackgroundError::Severity;

namespace {

constexpr int kPerBatch = 4;

std::vector<Record> make_batch(int i, size_t value_bytes) {
  std::vector<Record> rs;
  for (int j = 0; j < kPerBatch; ++j) {
    std::string v = std::to_string(i) + "/" + std::to_string(j) + ":";
    v.append(value_bytes, static_cast<char>('a' + (i + j) % 26));
    rs.emplace_back("b" + std::to_string(i) + "/" + std::to_string(j),
                    static_cast<int64_t>(i % 50) * 1'000'000 + j, std::move(v));
  }
  return rs;
}

// What a run wrote: acknowledged and failed batch numbers.
struct Ledger {
  std::set<int> acked, failed;
  size_t value_bytes = 100;
  int next = 0;

  // Writes batch `next`; true if acknowledged. Anything but NoSpace fails.
  bool write(Engine& e) {
    const int i = next++;
    try {
      e.write_batch(make_batch(i, value_bytes));
      acked.insert(i);
      return true;
    } catch (const Error& err) {
      INFO(err.what());
      REQUIRE(err.code() == Errc::NoSpace);
      failed.insert(i);
      return false;
    }
  }
  // Records of batch i that are visible, 0..kPerBatch.
  static int visible(Engine& e, int i, size_t value_bytes) {
    int n = 0;
    for (const Record& r : make_batch(i, value_bytes)) {
      auto got = e.get(r.key, r.ts);
      if (got) {
        REQUIRE(got->value == r.value);
        ++n;
      }
    }
    return n;
  }
  void verify(Engine& e) const {
    for (int i = 0; i < next; ++i) {
      INFO("batch " << i);
      const int n = visible(e, i, value_bytes);
      REQUIRE((n == 0 || n == kPerBatch));  // never partly visible
      if (acked.count(i)) REQUIRE(n == kPerBatch);
      if (failed.count(i)) REQUIRE(n == 0);
    }
  }
};

bool wait_for(const std::function<bool()>& cond, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Writes until one write fails; requires the error state to be Soft NoSpace.
void write_until_full(Engine& e, Ledger& l, int max_batches) {
  for (int k = 0; k < max_batches && l.write(e); ++k) {
  }
  REQUIRE(!l.failed.empty());
  const BackgroundError b = e.background_error();
  REQUIRE(b.severity == Severity::Soft);
  REQUIRE(b.code == Errc::NoSpace);
  REQUIRE(e.stats().background_error.severity == Severity::Soft);
  // Fails fast, and the write is not applied.
  REQUIRE_FALSE(l.write(e));
}

// A data directory behind a FaultInjectionEnv.
struct FaultyStore {
  TempDir dir;
  ManualClock clock;
  FaultInjectionEnv env{Env::posix()};
  Config cfg;
  FaultyStore() {
    cfg = test_config(dir.path(), clock);
    cfg.env = &env;
  }
};

}  // namespace

TEST_CASE("A NoSpace WAL append stops writes until resume() and loses no acknowledged batch",
          "[engine][enospc]") {
  FaultyStore store;
  FaultInjectionEnv& env = store.env;
  Config& cfg = store.cfg;
  Ledger l;
  {
    auto e = Engine::open(cfg);
    for (int k = 0; k < 50; ++k) REQUIRE(l.write(*e));
    env.fail_after(Op::Write, 3, /*no_space=*/true);
    write_until_full(*e, l, 100);
    REQUIRE_THROWS_AS(e->flush(), Error);
    // Still full: resume() fails and leaves the error set.
    REQUIRE_THROWS_AS(e->resume(), Error);
    REQUIRE(e->background_error().severity == Severity::Soft);
    l.verify(*e);

    env.clear_faults();
    e->resume();
    REQUIRE(e->background_error().severity == Severity::None);
    REQUIRE(e->stats().background_resumes >= 1);
    for (int k = 0; k < 50; ++k) REQUIRE(l.write(*e));
    e->flush();
    l.verify(*e);
    std::cout << "enospc fault-env explicit resume: written " << l.next << " batches, acknowledged "
              << l.acked.size() << ", failed " << l.failed.size() << "\n";
  }
  auto e = Engine::open(cfg);
  l.verify(*e);
}

TEST_CASE("A failed WAL sync is cut off the log by resume(), so a reopen does not replay it",
          "[engine][enospc]") {
  FaultyStore store;
  FaultInjectionEnv& env = store.env;
  Config& cfg = store.cfg;
  cfg.wal_sync_mode = SyncMode::always();
  Ledger l;
  {
    auto e = Engine::open(cfg);
    for (int k = 0; k < 20; ++k) REQUIRE(l.write(*e));
    // The record is fully appended, then its fsync fails.
    env.fail_after(Op::Sync, 0, /*no_space=*/true);
    REQUIRE_FALSE(l.write(*e));
    REQUIRE(e->background_error().code == Errc::NoSpace);
    env.clear_faults();
    e->resume();
    for (int k = 0; k < 20; ++k) REQUIRE(l.write(*e));
    l.verify(*e);
  }
  auto e = Engine::open(cfg);
  REQUIRE(l.failed.size() == 1);
  l.verify(*e);  // the failed batch is absent after replay too
}

TEST_CASE("The flush thread resumes a NoSpace error by itself once space is back",
          "[engine][enospc]") {
  FaultyStore store;
  FaultInjectionEnv& env = store.env;
  Config& cfg = store.cfg;
  cfg.auto_background = true;
  cfg.flush_interval_ms = 50;
  Ledger l;
  l.value_bytes = 4000;  // ~16 KiB a batch: the 1 MiB memtable freezes and flushes
  {
    auto e = Engine::open(cfg);
    for (int k = 0; k < 100; ++k) REQUIRE(l.write(*e));
    env.fail_after(Op::Write, 20, /*no_space=*/true);
    write_until_full(*e, l, 400);
    // The background retries fail while the device stays full (at the
    // MANIFEST edit that records the new WAL segment, before any flush).
    REQUIRE(wait_for([&] { return e->background_error().resume_attempts >= 2; },
                     std::chrono::seconds(20)));
    REQUIRE(e->background_error().severity == Severity::Soft);
    // Failed retries reuse one spare segment: more of them add no file.
    auto segments = [&] {
      size_t n = 0;
      for (const auto& f : std::filesystem::directory_iterator(cfg.data_dir + "/wal")) {
        n += f.path().extension() == ".log" ? 1 : 0;
      }
      return n;
    };
    const size_t after_two = segments();
    REQUIRE(wait_for([&] { return e->background_error().resume_attempts >= 4; },
                     std::chrono::seconds(20)));
    CHECK(segments() == after_two);
    env.clear_faults();
    REQUIRE(wait_for([&] { return e->background_error().severity == Severity::None; },
                     std::chrono::seconds(20)));
    for (int k = 0; k < 100; ++k) REQUIRE(l.write(*e));
    e->flush();
    l.verify(*e);
    std::cout << "enospc fault-env automatic resume: written " << l.next
              << " batches, acknowledged " << l.acked.size() << ", failed " << l.failed.size()
              << ", flushes " << e->stats().total_flushes << "\n";
  }
  auto e = Engine::open(cfg);
  l.verify(*e);
}

TEST_CASE("An I/O background error is Hard: an explicit resume() clears it", "[engine][enospc]") {
  FaultyStore store;
  FaultInjectionEnv& env = store.env;
  Config& cfg = store.cfg;
  auto e = Engine::open(cfg);
  Ledger l;
  REQUIRE(l.write(*e));
  env.fail_after(Op::Write, 0, /*no_space=*/false);
  try {
    e->write_batch(make_batch(1, 10));
    FAIL("write succeeded");
  } catch (const Error& err) {
    REQUIRE(err.code() == Errc::Io);
  }
  REQUIRE(e->background_error().severity == Severity::Hard);
  env.clear_faults();
  e->resume();  // Hard errors resume explicitly
  REQUIRE(e->background_error().severity == Severity::None);
  REQUIRE(l.write(*e));
}
