// OpenFileLimiter: more files than the cap stay readable, concurrently, and
// idle files beyond the cap are closed.
#include "open_file_limiter.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine_util.h"
#include "flowdb/error.h"

using flowdb::Env;
using flowdb::OpenFileLimiter;
using flowdb::RandomAccessFile;
using flowdb::testing::TempDir;

namespace {

std::vector<std::unique_ptr<RandomAccessFile>> open_files(OpenFileLimiter& lim, const TempDir& dir,
                                                          int n) {
  std::vector<std::unique_ptr<RandomAccessFile>> files;
  for (int i = 0; i < n; ++i) {
    const std::string p = dir.path() + "/f" + std::to_string(i);
    std::ofstream(p) << "file-" << i << "-payload";
    files.push_back(lim.open(Env::posix(), p));
  }
  return files;
}

std::string read_all(const RandomAccessFile& f) {
  std::string s(f.size(), '\0');
  s.resize(f.read(0, s.size(), s.data()));
  return s;
}

}  // namespace

TEST_CASE("files beyond the cap are closed when idle and reopened on read", "[engine][fd]") {
  TempDir dir;
  OpenFileLimiter lim(4);
  auto files = open_files(lim, dir, 20);
  CHECK(lim.open_now() == 4);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      CHECK(read_all(*files[i]) == "file-" + std::to_string(i) + "-payload");
      CHECK(lim.open_now() <= 4);
    }
  }
  files.resize(2);  // destroying files closes theirs
  CHECK(lim.open_now() <= 2);
}

TEST_CASE("concurrent reads of more files than the cap all return their bytes", "[engine][fd]") {
  TempDir dir;
  OpenFileLimiter lim(3);
  auto files = open_files(lim, dir, 32);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 2000; ++k) {
        const int i = (k * 7 + t * 13) % 32;
        if (read_all(*files[i]) != "file-" + std::to_string(i) + "-payload") ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(lim.open_now() <= 3);  // no read in flight: back under the cap
}

TEST_CASE("a table file removed behind the engine's back is reported as corruption",
          "[engine][fd]") {
  TempDir dir;
  OpenFileLimiter lim(1);
  auto files = open_files(lim, dir, 2);  // f0 was closed to keep the cap
  std::filesystem::remove(dir.path() + "/f0");
  try {
    read_all(*files[0]);
    FAIL("read of a missing file succeeded");
  } catch (const flowdb::Error& e) {
    CHECK(e.code() == flowdb::Errc::Corruption);
    CHECK_THAT(e.what(), Catch::Contains("live table is missing"));
  }
  CHECK(read_all(*files[1]) == "file-1-payload");
}
