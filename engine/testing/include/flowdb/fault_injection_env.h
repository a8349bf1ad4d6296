// FaultInjectionEnv: an Env wrapper for tests that fails chosen operations and
// simulates power loss (everything not yet fsync'd is lost).
//
// Thread-safe. Wraps, but does not own, a base Env (normally Env::posix()).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "flowdb/env.h"

namespace flowdb {

class FaultInjectionEnv : public Env {
 public:
  enum class Op { Write, Sync, Rename, Create, Remove };

  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  // After `n` more successful operations of kind `op`, every following
  // operation of that kind throws Errc::Io (or Errc::NoSpace when
  // `no_space`), until clear_faults(). n = 0 fails the very next one.
  void fail_after(Op op, uint64_t n, bool no_space = false);
  void clear_faults();
  // Number of operations of kind `op` seen so far (failed ones included).
  uint64_t count(Op op) const;

  // Simulated power loss. REQUIRES: no engine is open on files of this Env.
  // Truncates every file written through this Env to its last synced size,
  // deletes files created since the last sync_dir of their directory, and
  // undoes renames and removals not followed by a sync_dir.
  void drop_unsynced_data();
  // Forgets all tracking (as if every byte so far were durable).
  void reset_tracking();

  std::unique_ptr<WritableFile> new_writable_file(const std::string& path) override;
  std::unique_ptr<WritableFile> new_appendable_file(const std::string& path) override;
  std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) override;
  std::unique_ptr<ReadWriteFile> new_read_write_file(const std::string& path) override;
  bool file_exists(const std::string& path) override;
  std::vector<std::string> get_children(const std::string& dir) override;
  uint64_t get_file_size(const std::string& path) override;
  void remove_file(const std::string& path) override;
  void create_dir(const std::string& dir) override;
  void rename_file(const std::string& from, const std::string& to) override;
  void truncate_file(const std::string& path, uint64_t size) override;
  void sync_dir(const std::string& dir) override;
  std::unique_ptr<FileLock> lock_file(const std::string& path) override;
  std::unique_ptr<FileLock> lock_file_shared(const std::string& path) override;

  // Used by the file wrappers; not for callers.
  void maybe_fail(Op op);
  void record_synced(const std::string& path, uint64_t size);
  void record_written(const std::string& path, uint64_t size);

 private:
  // Notes on the model (see fault_injection_env.cc):
  //  * Op::Sync counts both file syncs and sync_dir(), so directory fsync
  //    failures can be injected too.
  //  * Appends, write_at and punch_hole are durable only after a sync of the
  //    file. Truncations (truncate_file, ReadWriteFile::truncate and the
  //    O_TRUNC of new_writable_file) are durable at once: Env offers no way to
  //    sync a truncate_file().
  //  * A creation is durable after sync_dir of the file's directory; a rename
  //    after sync_dir of the destination's directory; a removal after sync_dir
  //    of its directory. Directories themselves are assumed durable.
  //  * Paths are compared after lexical normalisation only.
  class WritableWrapper;  // nested so they can update the bookkeeping below
  class ReadWriteWrapper;

  struct FileState {
    uint64_t synced_size = 0;  // bytes known durable
    uint64_t size = 0;         // bytes written
    bool created_unsynced_dir = false;
    // Durable bytes (below synced_size) changed since the last sync, with
    // their durable contents, oldest first; replayed newest-first on power
    // loss so the oldest capture of each byte wins.
    std::vector<std::pair<uint64_t, std::string>> overwritten;
  };
  struct Undo {  // a rename or removal to revert on power loss
    std::string dir;
    std::string from, to;  // rename from -> to (removal: to empty)
    bool had_previous = false;
    std::string previous_contents;  // what `to` (or the removed file) held
    bool had_state = false;         // tracking of the replaced/removed file
    FileState previous_state;
  };

  // Counts an operation and throws if a fault is armed for it.
  void check_fault(Op op, const std::string& path);
  // Starts tracking `path` (normalised) if untracked, as durable at `size`.
  FileState& track_locked(const std::string& path, uint64_t size, bool created);
  // Saves the durable bytes of [offset, offset+len) of `path` before a change.
  void save_durable_bytes(const std::string& path, const RandomAccessFile& file, uint64_t offset,
                          uint64_t len);
  // Applies a (durable) truncation to `st`.
  static void truncate_state(FileState* st, uint64_t size);
  void mark_all_durable_locked();

  Env* const base_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::map<std::string, FileState> files_;
  std::vector<Undo> undo_;
  struct Fault {
    bool armed = false;
    uint64_t remaining = 0;
    bool no_space = false;
  };
  Fault faults_[5];
  uint64_t counts_[5] = {};
};

}  // namespace flowdb
