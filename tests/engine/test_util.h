// Helpers shared by the engine tests.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "flowdb/config.h"

namespace flowdb::testing {

// A unique temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("flowdb-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
              std::to_string(std::random_device{}())))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A clock tests advance by hand (microseconds).
struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(0);
  std::function<int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void set(int64_t t) { now->store(t); }
  void advance(int64_t dt) { now->fetch_add(dt); }
};

// A config for tests: small memtable, no background thread, manual clock.
inline Config test_config(const std::string& dir, const ManualClock& clock) {
  Config c;
  c.data_dir = dir;
  c.memtable_size_mb = 1;
  c.auto_background = false;
  c.time_bucket_secs = 60;
  c.wal_sync_mode = SyncMode::interval_ms(50);
  c.block_cache_capacity_mb = 4;
  c.clock = clock.fn();
  return c;
}

}  // namespace flowdb::testing
