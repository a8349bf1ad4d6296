// A store with more tables than the process may open files: every read
// still works, and the table files held open stay under Config::max_open_files
// (issue 21: a full scan of 1,500 one-hour buckets failed with "Too many open
// files" at Debian's default soft limit of 1,024).
#include <dirent.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <string>

#include "engine_util.h"
#include "flowdb/engine.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::TempDir;

namespace {

constexpr int64_t kMinute = 60'000'000;
constexpr int kBuckets = 600;  // one table each: more than the fd limit below
constexpr int kSeries = 3;

// Lowers the soft RLIMIT_NOFILE for its scope (each test case runs in its own
// process under ctest, so nothing else sees it).
class FdLimit {
 public:
  explicit FdLimit(rlim_t soft) {
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit r = saved_;
    r.rlim_cur = std::min<rlim_t>(soft, saved_.rlim_max);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &r) == 0);
  }
  ~FdLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

// Open file descriptors of this process; SIZE_MAX if even that fails (no
// descriptor left to read /proc/self/fd with).
size_t open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return SIZE_MAX;
  size_t n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 3;  // ".", ".." and the DIR's own fd
}

size_t count(ScanIterator it) {
  size_t n = 0;
  while (it.next() != nullptr) ++n;
  return n;
}

// kBuckets one-minute buckets of kSeries series, flushed: one table per bucket.
void build_store(const Config& c) {
  auto e = Engine::open(c);
  std::vector<Record> rs;
  for (int b = 0; b < kBuckets; ++b) {
    for (int s = 0; s < kSeries; ++s) {
      rs.emplace_back("series" + std::to_string(s), b * kMinute + s, "v" + std::to_string(b));
    }
  }
  e->write_batch(rs);
  e->flush();
  REQUIRE(e->list_buckets().size() == kBuckets);
}

}  // namespace

TEST_CASE("a store with more tables than the fd limit is fully readable", "[engine][fd]") {
  TempDir dir;
  ManualClock clock;
  Config c = flowdb::testing::test_config(dir.path(), clock);
  c.default_ttl_secs = std::nullopt;
  build_store(c);

  FdLimit limit(256);
  c.max_open_files = 64;
  auto e = Engine::open(c);
  CHECK(count(e->scan(ScanRange::all())) == kBuckets * kSeries);
  CHECK(e->query(Query::prefix("series1")).size() == kBuckets);
  CHECK(count(e->scan(ScanRange::time_range(100 * kMinute, 199 * kMinute + 59))) == 100 * kSeries);
  // Every point is still there by point lookup, also after the scans.
  for (int b = 0; b < kBuckets; b += 7) {
    auto r = e->get("series2", b * kMinute + 2);
    REQUIRE(r.has_value());
    CHECK(r->value == "v" + std::to_string(b));
  }
  // While a scan over every bucket is open, the table files held open stay
  // under the cap (plus the WAL, MANIFEST, LOCK and what the process had).
  const size_t before = open_fds();
  ScanIterator it = e->scan(ScanRange::all());
  size_t n = 0;
  while (it.next() != nullptr) {
    if (++n % 97 == 0) CHECK(open_fds() <= before + 64);
  }
  CHECK(n == kBuckets * kSeries);
}

TEST_CASE("the default open-file cap follows RLIMIT_NOFILE", "[engine][fd]") {
  TempDir dir;
  ManualClock clock;
  Config c = flowdb::testing::test_config(dir.path(), clock);
  c.default_ttl_secs = std::nullopt;
  build_store(c);
  FdLimit limit(200);  // max_open_files left at 0: derived from this limit
  auto e = Engine::open(c);
  CHECK(count(e->scan(ScanRange::all())) == kBuckets * kSeries);
  CHECK(e->query(Query::prefix("series0")).size() == kBuckets);
  CHECK(open_fds() < 200);
}
