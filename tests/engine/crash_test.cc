// Crash test: a forked child writes numbered batches and acknowledges each
// one to the parent through a pipe once write_batch has returned; the parent
// SIGKILLs it after a random number of acknowledgements, reopens the engine
// and checks that every acknowledged batch is there, that no batch is torn,
// and that nothing else appeared. Cycles reuse one directory, so each child
// also recovers what the previous kill left behind.
//
// FLOWDB_CRASH_CYCLES overrides the number of cycles per scenario,
// FLOWDB_CRASH_SEED the random seed.
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;

namespace {

constexpr int64_t kSec = 1'000'000;
constexpr uint64_t kChildError = ~uint64_t{0};

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

// The deterministic contents of batch `i` (i >= 1).
size_t batch_size(uint64_t i) { return 1 + (i * 7) % 8; }
std::string batch_key(uint64_t i, size_t j) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "b%08llu/%zu", static_cast<unsigned long long>(i), j);
  return buf;
}
int64_t batch_ts(uint64_t i, size_t j) {
  return static_cast<int64_t>((i * 13 + j) % 20) * kSec + static_cast<int64_t>(j);
}
std::string batch_value(uint64_t i, size_t j) {
  std::string v = "v" + std::to_string(i) + "/" + std::to_string(j) + ":";
  v.append(i % 5 == 0 ? 3000 : 200, static_cast<char>('a' + (i + j) % 26));
  return v;
}
std::vector<Record> make_batch(uint64_t i) {
  std::vector<Record> rs;
  for (size_t j = 0; j < batch_size(i); ++j)
    rs.emplace_back(batch_key(i, j), batch_ts(i, j), batch_value(i, j));
  return rs;
}

bool write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads one 8-byte ack; false at EOF.
bool read_ack(int fd, uint64_t* v) {
  char buf[8];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t r = ::read(fd, buf + got, sizeof buf - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  std::memcpy(v, buf, 8);
  return true;
}

// The child: never returns.
[[noreturn]] void child_main(const Config& cfg, uint64_t first_batch, int fd, bool flush_often) {
  try {
    auto e = Engine::open(cfg);
    for (uint64_t i = first_batch;; ++i) {
      e->write_batch(make_batch(i));
      if (!write_all(fd, &i, sizeof i)) _exit(4);
      if (flush_often && i % 29 == 0) e->flush();
      if (flush_often && i % 53 == 0) e->trigger_compaction();
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "crash_test child: %s\n", ex.what());
    uint64_t v = kChildError;
    write_all(fd, &v, sizeof v);
    _exit(3);
  } catch (...) {
    _exit(5);
  }
}

struct Scenario {
  const char* name;
  Config cfg;
  bool flush_often = false;
};

struct Totals {
  uint64_t cycles = 0;
  uint64_t acked = 0;
  uint64_t kills_before_first_ack = 0;
  uint64_t unacked_batch_survived = 0;
};

// Checks the recovered state; returns the largest batch present.
uint64_t verify(Engine& e, uint64_t max_acked, uint64_t max_possible, const std::string& ctx) {
  std::map<uint64_t, std::vector<Record>> by_batch;
  for (const Record& r : e.scan(ScanRange::all())) {
    unsigned long long i = 0;
    size_t j = 0;
    INFO(ctx);
    INFO("record key " << r.key);
    REQUIRE(std::sscanf(r.key.c_str(), "b%llu/%zu", &i, &j) == 2);
    by_batch[i].push_back(r);
  }
  INFO(ctx);
  // Every acknowledged batch, whole.
  for (uint64_t i = 1; i <= max_acked; ++i) {
    INFO("acknowledged batch " << i << " of " << max_acked);
    auto it = by_batch.find(i);
    REQUIRE(it != by_batch.end());
    REQUIRE(it->second.size() == batch_size(i));
  }
  uint64_t max_present = 0;
  for (const auto& [i, rs] : by_batch) {
    INFO("batch " << i);
    // No data from nowhere: only batches the child could have written.
    REQUIRE(i >= 1);
    REQUIRE(i <= max_possible);
    // All or nothing, with exactly the written contents.
    REQUIRE(rs.size() == batch_size(i));
    std::map<std::string, Record> want;
    for (const Record& r : make_batch(i)) want[r.key] = r;
    for (const Record& r : rs) {
      auto w = want.find(r.key);
      REQUIRE(w != want.end());
      CHECK(r == w->second);
    }
    max_present = i;
  }
  // A prefix: batches are written one at a time, so no gaps.
  CHECK(by_batch.size() == max_present);
  return max_present;
}

void run_crash_cycles(const Scenario& sc, uint64_t cycles, uint64_t seed, Totals* totals) {
  std::mt19937_64 rng(seed);
  uint64_t next_batch = 1;
  uint64_t max_acked_ever = 0;
  for (uint64_t c = 0; c < cycles; ++c) {
    // Number of acks to wait for before the kill; 0 kills during open/recovery.
    uint64_t n = rng() % 8 == 0 ? 0 : 1 + rng() % 60;
    if (rng() % 10 == 0) n = 100 + rng() % 200;  // long enough to flush and compact
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::cout.flush();
    std::cerr.flush();
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_main(sc.cfg, next_batch, fds[1], sc.flush_often);
    }
    ::close(fds[1]);
    uint64_t last = next_batch - 1, got = 0, v = 0;
    bool child_failed = false;
    while (got < n && read_ack(fds[0], &v)) {
      if (v == kChildError) {
        child_failed = true;
        break;
      }
      REQUIRE(v == last + 1);
      last = v;
      ++got;
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    // Acks already in the pipe were sent after write_batch returned: they
    // count as acknowledged too.
    while (!child_failed && read_ack(fds[0], &v)) {
      if (v == kChildError) {
        child_failed = true;
        break;
      }
      REQUIRE(v == last + 1);
      last = v;
    }
    ::close(fds[0]);
    INFO("scenario " << sc.name << " seed " << seed << " cycle " << c << " acks wanted " << n
                     << " child status " << status);
    REQUIRE_FALSE(child_failed);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    if (last + 1 == next_batch) ++totals->kills_before_first_ack;
    const uint64_t max_acked = std::max(max_acked_ever, last);
    max_acked_ever = max_acked;
    Config pc = sc.cfg;
    pc.auto_background = false;
    uint64_t max_present;
    {
      auto e = Engine::open(pc);
      max_present = verify(*e, max_acked, last + 1,
                           std::string("scenario ") + sc.name + " cycle " + std::to_string(c));
      e->close();
    }
    if (max_present > max_acked) ++totals->unacked_batch_survived;
    totals->acked += last + 1 - next_batch;
    next_batch = max_present + 1;
    ++totals->cycles;
  }
  // One more clean reopen of the final state.
  Config pc = sc.cfg;
  pc.auto_background = false;
  auto e = Engine::open(pc);
  verify(*e, max_acked_ever, next_batch - 1, std::string("final reopen of ") + sc.name);
}

Config base_config(const std::string& dir, const ManualClock& clock) {
  Config c = test_config(dir, clock);
  c.time_bucket_secs = 1;
  c.memtable_size_mb = 1;
  c.wal_segment_size_mb = 1;
  c.block_size = 1024;
  return c;
}

void report(const char* name, const Totals& t) {
  std::cout << "crash_test " << name << ": " << t.cycles << " kill/recover cycles, " << t.acked
            << " acknowledged batches, " << t.kills_before_first_ack
            << " kills before the first ack, " << t.unacked_batch_survived
            << " cycles where the in-flight batch survived" << std::endl;
}

}  // namespace

TEST_CASE("SIGKILLed writers lose no acknowledged batch with SyncMode::always",
          "[engine][crash][slow]") {
  const uint64_t cycles = env_u64("FLOWDB_CRASH_CYCLES", 60);
  const uint64_t seed = env_u64("FLOWDB_CRASH_SEED", 1001);
  TempDir dir;
  ManualClock clock;
  Scenario sc{"always", base_config(dir.path(), clock)};
  sc.cfg.wal_sync_mode = SyncMode::always();
  sc.cfg.auto_background = false;
  Totals t;
  run_crash_cycles(sc, cycles, seed, &t);
  report(sc.name, t);
  CHECK(t.cycles == cycles);
  CHECK(t.acked > cycles);
}

TEST_CASE("SIGKILLed writers lose no acknowledged batch with interval sync",
          "[engine][crash][slow]") {
  const uint64_t cycles = env_u64("FLOWDB_CRASH_CYCLES", 60);
  const uint64_t seed = env_u64("FLOWDB_CRASH_SEED", 2002);
  TempDir dir;
  ManualClock clock;
  Scenario sc{"interval", base_config(dir.path(), clock)};
  sc.cfg.wal_sync_mode = SyncMode::interval_ms(20);
  sc.cfg.auto_background = false;
  Totals t;
  run_crash_cycles(sc, cycles, seed, &t);
  report(sc.name, t);
  CHECK(t.cycles == cycles);
  CHECK(t.acked > cycles);
}

TEST_CASE("SIGKILL during background flush and compaction loses no acknowledged batch",
          "[engine][crash][slow]") {
  const uint64_t cycles = env_u64("FLOWDB_CRASH_CYCLES", 60);
  const uint64_t seed = env_u64("FLOWDB_CRASH_SEED", 3003);
  for (auto backend : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    const bool single = backend == StorageBackendKind::SingleFile;
    DYNAMIC_SECTION((single ? "single-file" : "multi-file")) {
      TempDir dir;
      ManualClock clock;
      Scenario sc{single ? "background-singlefile" : "background-multifile",
                  base_config(dir.path(), clock), true};
      sc.cfg.storage_backend = backend;
      sc.cfg.wal_sync_mode = SyncMode::interval_ms(5);
      sc.cfg.auto_background = true;
      sc.cfg.compaction_interval_ms = 1;
      sc.cfg.compaction_threshold = 1;
      sc.cfg.flush_interval_ms = 1;
      sc.cfg.gc_interval_secs = 1;
      Totals t;
      run_crash_cycles(sc, cycles, seed + (single ? 1 : 0), &t);
      report(sc.name, t);
      CHECK(t.cycles == cycles);
      CHECK(t.acked > cycles);
    }
  }
}
