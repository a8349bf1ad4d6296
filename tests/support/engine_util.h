// Helpers shared by the engine tests.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "flowdb/config.h"
#include "flowdb/env.h"
#include "temp_dir.h"

namespace flowdb::testing {

// The whole content of a file; throws std::runtime_error naming the path.
inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Replaces a file's content; throws std::runtime_error naming the path.
inline void write_bytes(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

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

// An Env that counts the bytes the engine hands to the OS (appends and
// positional writes), over Env::posix(). Measures write amplification on any
// file system: /proc/self/io write_bytes stays 0 on tmpfs.
class CountingEnv : public Env {
 public:
  uint64_t bytes_written() const { return written_->load(); }

  std::unique_ptr<WritableFile> new_writable_file(const std::string& path) override {
    return std::make_unique<Writable>(base_->new_writable_file(path), written_);
  }
  std::unique_ptr<WritableFile> new_appendable_file(const std::string& path) override {
    return std::make_unique<Writable>(base_->new_appendable_file(path), written_);
  }
  std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) override {
    return base_->new_random_access_file(path);
  }
  std::unique_ptr<ReadWriteFile> new_read_write_file(const std::string& path) override {
    return std::make_unique<ReadWrite>(base_->new_read_write_file(path), written_);
  }
  bool file_exists(const std::string& path) override { return base_->file_exists(path); }
  std::vector<std::string> get_children(const std::string& dir) override {
    return base_->get_children(dir);
  }
  uint64_t get_file_size(const std::string& path) override { return base_->get_file_size(path); }
  void remove_file(const std::string& path) override { base_->remove_file(path); }
  void create_dir(const std::string& dir) override { base_->create_dir(dir); }
  void rename_file(const std::string& from, const std::string& to) override {
    base_->rename_file(from, to);
  }
  void truncate_file(const std::string& path, uint64_t size) override {
    base_->truncate_file(path, size);
  }
  void sync_dir(const std::string& dir) override { base_->sync_dir(dir); }
  std::unique_ptr<FileLock> lock_file(const std::string& path) override {
    return base_->lock_file(path);
  }
  std::unique_ptr<FileLock> lock_file_shared(const std::string& path) override {
    return base_->lock_file_shared(path);
  }

 private:
  using Counter = std::shared_ptr<std::atomic<uint64_t>>;
  class Writable : public WritableFile {
   public:
    Writable(std::unique_ptr<WritableFile> f, Counter c) : f_(std::move(f)), c_(std::move(c)) {}
    void append(std::string_view data) override {
      f_->append(data);
      c_->fetch_add(data.size());
    }
    void sync() override { f_->sync(); }
    void close() override { f_->close(); }
    uint64_t size() const override { return f_->size(); }

   private:
    std::unique_ptr<WritableFile> f_;
    Counter c_;
  };
  class ReadWrite : public ReadWriteFile {
   public:
    ReadWrite(std::unique_ptr<ReadWriteFile> f, Counter c) : f_(std::move(f)), c_(std::move(c)) {}
    size_t read(uint64_t offset, size_t n, char* scratch) const override {
      return f_->read(offset, n, scratch);
    }
    uint64_t size() const override { return f_->size(); }
    void write_at(uint64_t offset, std::string_view data) override {
      f_->write_at(offset, data);
      c_->fetch_add(data.size());
    }
    void sync() override { f_->sync(); }
    void truncate(uint64_t size) override { f_->truncate(size); }
    void punch_hole(uint64_t offset, uint64_t len) override { f_->punch_hole(offset, len); }

   private:
    std::unique_ptr<ReadWriteFile> f_;
    Counter c_;
  };

  Env* const base_ = Env::posix();
  const Counter written_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace flowdb::testing
