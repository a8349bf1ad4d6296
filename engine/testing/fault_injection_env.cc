// FaultInjectionEnv: a test Env that fails chosen operations and simulates a
// power loss by reverting everything that was not made durable.
//
// Durability model (the conservative POSIX reading, as ext4/xfs may behave):
//  * File contents: appends, write_at and punch_hole are durable only after
//    sync() of that file through this Env. Power loss truncates each file to
//    its synced size and restores the durable bytes that unsynced positional
//    writes overwrote (the ReadWriteFile contract: "durable after sync()").
//  * Truncations (truncate_file, ReadWriteFile::truncate, the O_TRUNC of
//    new_writable_file) are durable at once: they are journaled metadata, and
//    Env offers no way to sync after truncate_file(), so a stricter model
//    would fault correct callers.
//  * Names: a creation is durable after sync_dir() of the file's directory, a
//    rename after sync_dir() of the destination's directory, and a removal
//    after sync_dir() of its directory. Power loss deletes non-durable
//    creations and undoes non-durable renames/removals (newest first),
//    restoring the contents captured when the file was replaced or removed.
//  * Directories, locks and files never touched through this Env are durable.
//  * Op::Sync counts file syncs AND sync_dir(), so directory fsync failures
//    can be injected as well.
//  * A failed (injected) operation changes nothing. Writes through a handle
//    whose file was later renamed or removed are not tracked.
#include "flowdb/fault_injection_env.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "flowdb/error.h"

namespace flowdb {
namespace {

constexpr size_t kNumOps = 5;

size_t op_index(FaultInjectionEnv::Op op) { return static_cast<size_t>(op); }

const char* op_name(FaultInjectionEnv::Op op) {
  switch (op) {
    case FaultInjectionEnv::Op::Write:
      return "write";
    case FaultInjectionEnv::Op::Sync:
      return "sync";
    case FaultInjectionEnv::Op::Rename:
      return "rename";
    case FaultInjectionEnv::Op::Create:
      return "create";
    case FaultInjectionEnv::Op::Remove:
      return "remove";
  }
  return "unknown";
}

// Lexical normalisation, so "d/./f" and "d/f" (and "d/" and "d") match.
std::string normalize(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p.empty() ? "." : p;
}

std::string parent_dir(const std::string& normalized_path) {
  std::string dir = std::filesystem::path(normalized_path).parent_path().string();
  return dir.empty() ? "." : dir;
}

void write_contents(Env* env, const std::string& path, std::string_view contents) {
  auto file = env->new_writable_file(path);
  file->append(contents);
  file->close();
}

}  // namespace

class FaultInjectionEnv::WritableWrapper final : public WritableFile {
 public:
  WritableWrapper(FaultInjectionEnv* env, std::unique_ptr<WritableFile> base, std::string path)
      : env_(env), base_(std::move(base)), path_(std::move(path)) {}

  void append(std::string_view data) override {
    env_->check_fault(Op::Write, path_);
    try {
      base_->append(data);
    } catch (...) {
      env_->record_written(path_, base_->size());  // a partial write still counts
      throw;
    }
    env_->record_written(path_, base_->size());
  }
  void sync() override {
    env_->check_fault(Op::Sync, path_);
    base_->sync();
    env_->record_synced(path_, base_->size());
  }
  void close() override { base_->close(); }
  uint64_t size() const override { return base_->size(); }

 private:
  FaultInjectionEnv* const env_;
  const std::unique_ptr<WritableFile> base_;
  const std::string path_;  // normalised
};

class FaultInjectionEnv::ReadWriteWrapper final : public Env::ReadWriteFile {
 public:
  ReadWriteWrapper(FaultInjectionEnv* env, std::unique_ptr<ReadWriteFile> base, std::string path)
      : env_(env), base_(std::move(base)), path_(std::move(path)) {}

  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    return base_->read(offset, n, scratch);
  }
  uint64_t size() const override { return base_->size(); }

  void write_at(uint64_t offset, std::string_view data) override {
    env_->check_fault(Op::Write, path_);
    env_->save_durable_bytes(path_, *base_, offset, data.size());
    try {
      base_->write_at(offset, data);
    } catch (...) {
      env_->record_written(path_, base_->size());
      throw;
    }
    env_->record_written(path_, base_->size());
  }
  void sync() override {
    env_->check_fault(Op::Sync, path_);
    base_->sync();
    env_->record_synced(path_, base_->size());
  }
  void truncate(uint64_t size) override {
    base_->truncate(size);
    std::lock_guard<std::mutex> l(env_->mu_);
    if (auto it = env_->files_.find(path_); it != env_->files_.end()) {
      truncate_state(&it->second, size);
    }
  }
  void punch_hole(uint64_t offset, uint64_t len) override {
    env_->save_durable_bytes(path_, *base_, offset, len);
    base_->punch_hole(offset, len);
  }

 private:
  FaultInjectionEnv* const env_;
  const std::unique_ptr<ReadWriteFile> base_;
  const std::string path_;  // normalised
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::fail_after(Op op, uint64_t n, bool no_space) {
  std::lock_guard<std::mutex> l(mu_);
  faults_[op_index(op)] = Fault{true, n, no_space};
}

void FaultInjectionEnv::clear_faults() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& f : faults_) f = Fault{};
}

uint64_t FaultInjectionEnv::count(Op op) const {
  std::lock_guard<std::mutex> l(mu_);
  return counts_[op_index(op)];
}

void FaultInjectionEnv::maybe_fail(Op op) { check_fault(op, std::string()); }

void FaultInjectionEnv::check_fault(Op op, const std::string& path) {
  static_assert(sizeof(counts_) / sizeof(counts_[0]) == kNumOps);
  std::lock_guard<std::mutex> l(mu_);
  const size_t i = op_index(op);
  ++counts_[i];
  Fault& f = faults_[i];
  if (!f.armed) return;
  if (f.remaining > 0) {
    --f.remaining;
    return;
  }
  std::string msg = std::string("injected ") + op_name(op) + " fault";
  if (!path.empty()) msg += " on " + path;
  msg += f.no_space ? ": No space left on device" : ": Input/output error";
  throw Error(f.no_space ? Errc::NoSpace : Errc::Io, msg);
}

void FaultInjectionEnv::record_synced(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(normalize(path));
  if (it == files_.end()) return;
  it->second.synced_size = size;
  it->second.size = size;
  it->second.overwritten.clear();
}

void FaultInjectionEnv::record_written(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(normalize(path));
  if (it != files_.end()) it->second.size = size;
}

FaultInjectionEnv::FileState& FaultInjectionEnv::track_locked(const std::string& path,
                                                              uint64_t size, bool created) {
  auto [it, inserted] = files_.try_emplace(path);
  if (inserted) {
    it->second.synced_size = size;
    it->second.size = size;
    it->second.created_unsynced_dir = created;
  }
  return it->second;
}

void FaultInjectionEnv::save_durable_bytes(const std::string& path, const RandomAccessFile& file,
                                           uint64_t offset, uint64_t len) {
  uint64_t synced;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return;
    synced = it->second.synced_size;
  }
  if (offset >= synced || len == 0) return;
  // synced_size never exceeds the file size (truncations lower it), so the
  // read returns every durable byte of the range.
  std::string old(std::min(len, synced - offset), '\0');
  old.resize(file.read(offset, old.size(), old.data()));
  if (old.empty()) return;
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) it->second.overwritten.emplace_back(offset, std::move(old));
}

void FaultInjectionEnv::truncate_state(FileState* st, uint64_t size) {
  st->size = size;
  st->synced_size = std::min(st->synced_size, size);
  // Saved durable bytes past the new end no longer exist anywhere.
  std::erase_if(st->overwritten, [size](const auto& w) { return w.first >= size; });
  for (auto& [offset, bytes] : st->overwritten) {
    if (offset + bytes.size() > size) bytes.resize(size - offset);
  }
}

void FaultInjectionEnv::mark_all_durable_locked() {
  for (auto& [path, st] : files_) {
    st.synced_size = st.size;
    st.created_unsynced_dir = false;
    st.overwritten.clear();
  }
  undo_.clear();
}

void FaultInjectionEnv::reset_tracking() {
  // Entries stay (now fully durable) so handles still open keep being tracked.
  std::lock_guard<std::mutex> l(mu_);
  mark_all_durable_locked();
}

void FaultInjectionEnv::drop_unsynced_data() {
  std::lock_guard<std::mutex> l(mu_);
  // 1. Undo non-durable renames and removals, newest first, carrying the
  //    tracking state along so step 2 reverts the right file contents.
  for (auto u = undo_.rbegin(); u != undo_.rend(); ++u) {
    if (u->to.empty()) {  // removal of u->from
      write_contents(base_, u->from, u->previous_contents);
      if (u->had_state) {
        files_[u->from] = std::move(u->previous_state);
      } else {
        files_.erase(u->from);
      }
      continue;
    }
    if (base_->file_exists(u->to)) base_->rename_file(u->to, u->from);
    if (auto it = files_.find(u->to); it != files_.end()) {
      files_[u->from] = std::move(it->second);
      files_.erase(u->to);
    } else {
      files_.erase(u->from);
    }
    if (u->had_previous) write_contents(base_, u->to, u->previous_contents);
    if (u->had_state) files_[u->to] = std::move(u->previous_state);
  }
  undo_.clear();

  // 2. Revert contents to the last sync; delete non-durable creations.
  for (auto it = files_.begin(); it != files_.end();) {
    const std::string& path = it->first;
    FileState& st = it->second;
    if (!base_->file_exists(path)) {
      it = files_.erase(it);
      continue;
    }
    if (st.created_unsynced_dir) {
      base_->remove_file(path);
      it = files_.erase(it);
      continue;
    }
    if (st.size != st.synced_size || !st.overwritten.empty() ||
        base_->get_file_size(path) != st.synced_size) {
      base_->truncate_file(path, st.synced_size);
      if (!st.overwritten.empty()) {
        auto file = base_->new_read_write_file(path);
        for (auto w = st.overwritten.rbegin(); w != st.overwritten.rend(); ++w) {
          file->write_at(w->first, w->second);
        }
      }
    }
    st.size = st.synced_size;
    ++it;
  }
  // 3. What survived the "crash" is durable by definition.
  mark_all_durable_locked();
}

std::unique_ptr<WritableFile> FaultInjectionEnv::new_writable_file(const std::string& path) {
  const std::string p = normalize(path);
  check_fault(Op::Create, p);
  const bool existed = base_->file_exists(p);
  auto file = base_->new_writable_file(p);
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(p);
  if (existed && it != files_.end()) {
    truncate_state(&it->second, 0);  // keeps whether its name is durable
  } else {
    // An untracked existing file was durable, and O_TRUNC is durable at once.
    files_[p] = FileState{0, 0, !existed, {}};
  }
  return std::make_unique<WritableWrapper>(this, std::move(file), p);
}

std::unique_ptr<WritableFile> FaultInjectionEnv::new_appendable_file(const std::string& path) {
  const std::string p = normalize(path);
  auto file = base_->new_appendable_file(p);
  {
    std::lock_guard<std::mutex> l(mu_);
    track_locked(p, file->size(), false).size = file->size();
  }
  return std::make_unique<WritableWrapper>(this, std::move(file), p);
}

std::unique_ptr<RandomAccessFile> FaultInjectionEnv::new_random_access_file(
    const std::string& path) {
  return base_->new_random_access_file(path);
}

std::unique_ptr<Env::ReadWriteFile> FaultInjectionEnv::new_read_write_file(
    const std::string& path) {
  const std::string p = normalize(path);
  check_fault(Op::Create, p);
  const bool existed = base_->file_exists(p);
  auto file = base_->new_read_write_file(p);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (existed) {
      track_locked(p, file->size(), false);
    } else {
      files_[p] = FileState{0, 0, true, {}};
    }
  }
  return std::make_unique<ReadWriteWrapper>(this, std::move(file), p);
}

bool FaultInjectionEnv::file_exists(const std::string& path) { return base_->file_exists(path); }

std::vector<std::string> FaultInjectionEnv::get_children(const std::string& dir) {
  return base_->get_children(dir);
}

uint64_t FaultInjectionEnv::get_file_size(const std::string& path) {
  return base_->get_file_size(path);
}

void FaultInjectionEnv::remove_file(const std::string& path) {
  const std::string p = normalize(path);
  check_fault(Op::Remove, p);
  Undo u;
  u.dir = parent_dir(p);
  u.from = p;
  if (base_->file_exists(p)) {
    u.had_previous = true;
    u.previous_contents = read_file_to_string(base_, p);
  }
  base_->remove_file(p);  // throws NotFound for a missing file
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = files_.find(p); it != files_.end()) {
    u.had_state = true;
    u.previous_state = std::move(it->second);
    files_.erase(it);
  }
  undo_.push_back(std::move(u));
}

void FaultInjectionEnv::create_dir(const std::string& dir) { base_->create_dir(dir); }

void FaultInjectionEnv::rename_file(const std::string& from, const std::string& to) {
  const std::string f = normalize(from);
  const std::string t = normalize(to);
  check_fault(Op::Rename, f);
  if (f == t) {
    base_->rename_file(f, t);
    return;
  }
  Undo u;
  u.dir = parent_dir(t);
  u.from = f;
  u.to = t;
  if (base_->file_exists(t)) {
    u.had_previous = true;
    u.previous_contents = read_file_to_string(base_, t);
  }
  base_->rename_file(f, t);
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = files_.find(t); it != files_.end()) {
    u.had_state = true;
    u.previous_state = std::move(it->second);
    files_.erase(it);
  }
  if (auto it = files_.find(f); it != files_.end()) {
    files_[t] = std::move(it->second);
    files_.erase(f);
  }
  undo_.push_back(std::move(u));
}

void FaultInjectionEnv::truncate_file(const std::string& path, uint64_t size) {
  const std::string p = normalize(path);
  base_->truncate_file(p, size);
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = files_.find(p); it != files_.end()) truncate_state(&it->second, size);
}

void FaultInjectionEnv::sync_dir(const std::string& dir) {
  const std::string d = normalize(dir);
  check_fault(Op::Sync, d);
  base_->sync_dir(d);
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [path, st] : files_) {
    if (parent_dir(path) == d) st.created_unsynced_dir = false;
  }
  std::erase_if(undo_, [&](const Undo& u) { return u.dir == d; });
}

std::unique_ptr<FileLock> FaultInjectionEnv::lock_file(const std::string& path) {
  return base_->lock_file(path);
}

std::unique_ptr<FileLock> FaultInjectionEnv::lock_file_shared(const std::string& path) {
  return base_->lock_file_shared(path);
}

}  // namespace flowdb
