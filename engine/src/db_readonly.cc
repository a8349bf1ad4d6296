// DBImpl: read-only open (Config::read_only, after RocksDB's OpenForReadOnly).
// Recovery reads CURRENT, the MANIFEST, the feed cursors and the WAL segments
// and builds the state in memory; nothing in the directory is created,
// renamed, truncated or removed. Rules: engine/doc/format.md ("Read-only open").
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "db_impl.h"
#include "db_validate.h"

namespace flowdb {

namespace {

// A shared flock on an existing LOCK file; none if there is no LOCK file.
std::unique_ptr<FileLock> lock_shared(Env* env, const std::string& dir) {
  const std::string path = dir + "/LOCK";
  if (!env->file_exists(path)) return nullptr;
  try {
    return env->lock_file_shared(path);
  } catch (const Error& e) {
    if (e.code() == Errc::NotFound) return nullptr;  // removed since: nobody holds it
    if (e.code() != Errc::Busy) throw;
    throw Error(Errc::Busy, dir +
                                " is open for writing by another process (it holds an exclusive "
                                "lock on " +
                                path + "); a read-only open waits for it to close: " + e.what());
  }
}

}  // namespace

void DBImpl::require_writable(const char* what) const {
  if (cfg_.read_only) {
    throw Error(Errc::ReadOnlyError,
                std::string(what) + ": the engine at " + cfg_.data_dir + " is open read-only");
  }
}

void DBImpl::open_read_only() {
  const std::string& dir = cfg_.data_dir;
  if (!env_->file_exists(dir + "/CURRENT")) check_new_database_allowed(false);
  lock_ = lock_shared(env_, dir);
  recover_versions();
  audit_files();  // changes nothing on disk, like everything below
  feeds_->load();
  recover_memtable();
  visible_seq_.store(last_seq_, std::memory_order_release);
  open_time_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  MutexLock l(&mu_);
  install_super_version_locked();
  closed_ = false;
  stop_threads_ = false;
}

}  // namespace flowdb
