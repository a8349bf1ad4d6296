#include "file_store.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "flowdb/error.h"
#include "mutex.h"
#include "open_file_limiter.h"

namespace flowdb {

std::string table_file_name(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06llu.sst", static_cast<unsigned long long>(number));
  return buf;
}

namespace {

bool parse_number(const std::string& name, const char* suffix, uint64_t* n) {
  size_t sl = std::char_traits<char>::length(suffix);
  if (name.size() <= sl || name.compare(name.size() - sl, sl, suffix) != 0) return false;
  std::string digits = name.substr(0, name.size() - sl);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  *n = std::stoull(digits);
  return true;
}

class MultiFileStore final : public FileStore {
 public:
  MultiFileStore(Env* env, std::string dir, bool read_only, size_t max_open_files)
      : env_(env), dir_(std::move(dir)), open_files_(max_open_files) {
    if (!read_only) env_->create_dir(dir_);
  }
  std::unique_ptr<WritableFile> new_table_file(uint64_t number) override {
    return env_->new_writable_file(tmp_path(number));
  }
  uint64_t publish(uint64_t number, std::unique_ptr<WritableFile> file) override {
    file->sync();
    file->close();
    env_->rename_file(tmp_path(number), path(number));
    env_->sync_dir(dir_);
    return 0;
  }
  void discard(uint64_t number) override {
    if (env_->file_exists(tmp_path(number))) env_->remove_file(tmp_path(number));
  }
  std::unique_ptr<RandomAccessFile> open(const FileMeta& f) override {
    try {
      return open_files_.open(env_, path(f.number));
    } catch (const Error& e) {
      if (e.code() != Errc::NotFound) throw;
      throw Error(Errc::Corruption, "live table is missing: " + std::string(e.what()));
    }
  }
  void remove(const FileMeta& f) override { env_->remove_file(path(f.number)); }
  void remove_orphans(const Version& live, uint64_t recovered_next) override {
    std::set<uint64_t> keep;
    for (const auto& [b, files] : live.buckets) {
      for (const auto& f : files) keep.insert(f->number);
    }
    for (const auto& name : env_->get_children(dir_)) {
      uint64_t n;
      if ((parse_number(name, ".sst.tmp", &n) ||
           (parse_number(name, ".sst", &n) && !keep.count(n))) &&
          n < recovered_next) {
        env_->remove_file(dir_ + "/" + name);
      }
    }
  }
  std::string describe(const FileMeta& f) const override { return path(f.number); }

 private:
  std::string path(uint64_t n) const { return dir_ + "/" + table_file_name(n); }
  std::string tmp_path(uint64_t n) const { return path(n) + ".tmp"; }

  Env* const env_;
  const std::string dir_;
  OpenFileLimiter open_files_;
};

// A window [offset, offset+size) of the container, read-only.
class ContainerSlice final : public RandomAccessFile {
 public:
  ContainerSlice(std::shared_ptr<const RandomAccessFile> c, uint64_t off, uint64_t size)
      : c_(std::move(c)), off_(off), size_(size) {}
  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= size_) return 0;
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
    return c_->read(off_ + offset, n, scratch);
  }
  uint64_t size() const override { return size_; }

 private:
  std::shared_ptr<const RandomAccessFile> c_;
  uint64_t off_, size_;
};

// Tables are built in a staging file, then copied into the first free extent
// of the container that fits (first fit), so concurrent builders never
// contend on the container. Free extents are the complement of the live
// tables, recomputed at open; freed space is punched out (and the file
// truncated when the tail is free), so disk usage follows live data.
class SingleFileStore final : public FileStore {
 public:
  SingleFileStore(Env* env, const std::string& data_dir)
      : env_(env), staging_dir_(data_dir + "/staging"), pack_path_(data_dir + "/sst.pack") {
    env_->create_dir(staging_dir_);
    container_ = env_->new_read_write_file(pack_path_);
  }
  std::unique_ptr<WritableFile> new_table_file(uint64_t number) override {
    return env_->new_writable_file(staging(number));
  }
  uint64_t publish(uint64_t number, std::unique_ptr<WritableFile> file) override {
    file->close();
    auto src = env_->new_random_access_file(staging(number));
    const uint64_t size = src->size();
    uint64_t off = allocate(size);
    try {
      std::string buf(std::min<uint64_t>(size, 1 << 20), '\0');
      for (uint64_t pos = 0; pos < size;) {
        size_t n = src->read(pos, std::min<uint64_t>(buf.size(), size - pos), buf.data());
        if (n == 0) throw Error(Errc::Io, staging(number) + ": short read while packing");
        container_->write_at(off + pos, std::string_view(buf.data(), n));
        pos += n;
      }
      container_->sync();
    } catch (...) {
      release(off, size);
      throw;
    }
    env_->remove_file(staging(number));
    return off;
  }
  void discard(uint64_t number) override {
    if (env_->file_exists(staging(number))) env_->remove_file(staging(number));
  }
  std::unique_ptr<RandomAccessFile> open(const FileMeta& f) override {
    return std::make_unique<ContainerSlice>(container_, f.container_offset, f.file_size);
  }
  void remove(const FileMeta& f) override { release(f.container_offset, f.file_size); }
  void remove_orphans(const Version& live, uint64_t recovered_next) override {
    for (const auto& name : env_->get_children(staging_dir_)) {
      uint64_t n;
      if (parse_number(name, ".sst", &n) && n >= recovered_next) continue;  // kept, not reused
      env_->remove_file(staging_dir_ + "/" + name);
    }
    MutexLock l(&mu_);
    free_.clear();
    std::vector<std::pair<uint64_t, uint64_t>> used;
    for (const auto& [b, files] : live.buckets) {
      for (const auto& f : files) used.emplace_back(f->container_offset, f->file_size);
    }
    std::sort(used.begin(), used.end());
    uint64_t pos = 0;
    for (auto [off, size] : used) {
      if (off > pos) free_[pos] = off - pos;
      pos = std::max(pos, off + size);
    }
    end_ = pos;
    if (container_->size() > end_) container_->truncate(end_);
    for (auto [off, size] : free_) container_->punch_hole(off, size);
  }
  std::string describe(const FileMeta& f) const override {
    return pack_path_ + "@" + std::to_string(f.container_offset);
  }

 private:
  std::string staging(uint64_t n) const { return staging_dir_ + "/" + table_file_name(n); }

  uint64_t allocate(uint64_t size) {
    MutexLock l(&mu_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second >= size) {
        uint64_t off = it->first, rest = it->second - size;
        free_.erase(it);
        if (rest > 0) free_[off + size] = rest;
        return off;
      }
    }
    uint64_t off = end_;
    end_ += size;
    return off;
  }
  void release(uint64_t off, uint64_t size) {
    MutexLock l(&mu_);
    container_->punch_hole(off, size);
    auto next = free_.lower_bound(off);
    if (next != free_.end() && off + size == next->first) {  // merge with the following extent
      size += next->second;
      next = free_.erase(next);
    }
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == off) {  // and with the preceding one
        off = prev->first;
        size += prev->second;
        free_.erase(prev);
      }
    }
    if (off + size == end_) {
      end_ = off;
      container_->truncate(end_);
    } else {
      free_[off] = size;
    }
  }

  Env* const env_;
  const std::string staging_dir_;
  const std::string pack_path_;
  std::shared_ptr<Env::ReadWriteFile> container_;

  Mutex mu_;
  std::map<uint64_t, uint64_t> free_ GUARDED_BY(mu_);  // free extents (offset -> length) below end_
  uint64_t end_ GUARDED_BY(mu_) = 0;
};

// sst.pack opened for reading only (Config::read_only): nothing is created,
// moved or reclaimed. An absent pack reads as empty.
class ReadOnlyPackStore final : public FileStore {
 public:
  ReadOnlyPackStore(Env* env, const std::string& data_dir) : pack_path_(data_dir + "/sst.pack") {
    if (env->file_exists(pack_path_)) container_ = env->new_random_access_file(pack_path_);
  }
  std::unique_ptr<WritableFile> new_table_file(uint64_t) override { refuse(); }
  uint64_t publish(uint64_t, std::unique_ptr<WritableFile>) override { refuse(); }
  void discard(uint64_t) override { refuse(); }
  std::unique_ptr<RandomAccessFile> open(const FileMeta& f) override {
    if (!container_) throw Error(Errc::Corruption, pack_path_ + " is missing");
    return std::make_unique<ContainerSlice>(container_, f.container_offset, f.file_size);
  }
  void remove(const FileMeta&) override { refuse(); }
  void remove_orphans(const Version&, uint64_t) override { refuse(); }
  std::string describe(const FileMeta& f) const override {
    return pack_path_ + "@" + std::to_string(f.container_offset);
  }

 private:
  [[noreturn]] void refuse() const {
    throw Error(Errc::ReadOnlyError, pack_path_ + " is open read-only");
  }
  const std::string pack_path_;
  std::shared_ptr<const RandomAccessFile> container_;
};

}  // namespace

std::unique_ptr<FileStore> FileStore::create(StorageBackendKind kind, Env* env,
                                             const std::string& data_dir, bool read_only,
                                             size_t max_open_files) {
  if (kind == StorageBackendKind::SingleFile) {
    if (read_only) return std::make_unique<ReadOnlyPackStore>(env, data_dir);
    return std::make_unique<SingleFileStore>(env, data_dir);
  }
  if (max_open_files == 0) max_open_files = OpenFileLimiter::default_max_open();
  return std::make_unique<MultiFileStore>(env, data_dir + "/sst", read_only, max_open_files);
}

}  // namespace flowdb
