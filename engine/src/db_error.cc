// Background errors and resume (after RocksDB's ErrorHandler and
// DBImpl::Resume).
//
// A failed WAL append or sync, flush or manifest write sets bg_error_. The
// failed group was never applied to the memtable nor published, so what
// readers see is exactly the acknowledged batches; the WAL may hold a torn
// or unacknowledged record after wal_tail_bytes_. Resuming, as the leader of
// the writer queue (so nobody appends meanwhile):
//   1. cuts the active WAL segment back to wal_tail_bytes_ and syncs it, so
//      neither a reopen nor a feed can see the failed record;
//   2. starts a new segment and freezes the active memtable (when it holds
//      anything), so the flush thread makes it durable as an SST;
//   3. clears the error. A failed flush keeps its frozen memtable and is
//      simply retried; a manifest that a failed edit may have torn is
//      replaced by a snapshot on the next edit (VersionSet::log_and_apply).
#include <algorithm>

#include "db_impl.h"

namespace flowdb {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

BackgroundError::Severity severity_of(Errc code) {
  switch (code) {
    case Errc::NoSpace:
      return BackgroundError::Severity::Soft;
    case Errc::Io:
      return BackgroundError::Severity::Hard;
    default:
      return BackgroundError::Severity::Fatal;
  }
}

}  // namespace

std::string_view severity_name(BackgroundError::Severity s) noexcept {
  switch (s) {
    case BackgroundError::Severity::None:
      return "none";
    case BackgroundError::Severity::Soft:
      return "soft";
    case BackgroundError::Severity::Hard:
      return "hard";
    case BackgroundError::Severity::Fatal:
      return "fatal";
  }
  return "unknown";
}

void DBImpl::set_bg_error_locked(const Error& e, const char* what) {
  if (!bg_error_) {
    bg_error_ = Error(e.code(), std::string(what) + " failed: " + e.what());
    bg_severity_ = severity_of(e.code());
    ++bg_errors_total_;
    // Retries that fail again back off; the log hears of the first failure
    // and of every doubling only, not of every retry.
    bg_backoff_ = bg_backoff_.count() == 0 ? kFirstBackoff : std::min(bg_backoff_ * 2, kMaxBackoff);
    bg_next_retry_ = std::chrono::steady_clock::now() + bg_backoff_;
    if (bg_backoff_ < kMaxBackoff) {
      log_event(Logger::Level::kError,
                std::string(severity_name(bg_severity_)) + " background error (" +
                    std::string(errc_name(e.code())) + "), writes stopped: " + bg_error_->what());
    }
  }
  cv_.notify_all();  // stalled writers and flush() waiters fail fast
}

void DBImpl::throw_bg_error_locked() const {
  throw Error(bg_error_->code(),
              "writes stopped by a " + std::string(severity_name(bg_severity_)) +
                  " background error (resume() or free space): " + bg_error_->what());
}

std::chrono::milliseconds DBImpl::bg_retry_wait_locked() const {
  const std::chrono::milliseconds interval(cfg_.flush_interval_ms);
  if (!bg_error_ || bg_severity_ != BackgroundError::Severity::Soft || !cfg_.auto_background) {
    return interval;
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      bg_next_retry_ - std::chrono::steady_clock::now());
  return std::clamp(left, std::chrono::milliseconds(1), interval);
}

void DBImpl::maybe_auto_resume() {
  if (!cfg_.auto_background || bg_severity_ != BackgroundError::Severity::Soft) return;
  if (std::chrono::steady_clock::now() < bg_next_retry_) return;
  mu_.unlock();
  try {
    WriteBatch none;
    write(none, WriteOptions{}, WriteMode::kResume);
  } catch (const Error&) {
    // Still full (or closing): resume_locked() scheduled the next attempt.
  }
  mu_.lock();
}

void DBImpl::resume_locked() {
  if (!bg_error_) return;
  if (bg_severity_ == BackgroundError::Severity::Fatal) {
    throw Error(bg_error_->code(),
                std::string("cannot resume after a fatal background error (reopen the engine): ") +
                    bg_error_->what());
  }
  // A flush started before the error may still run; let it end first.
  while (flush_in_progress_ != 0 && !closed_) cv_.wait(mu_);
  check_open_locked();
  ++bg_resume_attempts_;
  try {
    roll_wal_after_error_locked();
  } catch (const Error& e) {
    bg_backoff_ = std::min(std::max(bg_backoff_ * 2, kFirstBackoff), kMaxBackoff);
    bg_next_retry_ = std::chrono::steady_clock::now() + bg_backoff_;
    throw Error(e.code(), std::string("resume failed: ") + e.what());
  }
  bg_error_.reset();
  bg_severity_ = BackgroundError::Severity::None;
  bg_resume_attempts_ = 0;
  ++bg_resumes_total_;
  cv_.notify_all();
}

void DBImpl::roll_wal_after_error_locked() {
  const bool empty = active_.mem->num_entries() == 0 && active_tombstones_.empty();
  const std::string old_path = wal_path(log_file_number_);
  MutexLock wl(&wal_mu_);
  auto install = [this](std::unique_ptr<WritableFile> file) REQUIRES(wal_mu_) {
    try {
      log_file_->close();
    } catch (const Error&) {  // the old segment's state is settled already
    }
    log_file_ = std::move(file);
    log_ = std::make_unique<log::Writer>(log_file_.get());
    log_dirty_.store(false);
  };
  if (empty && wal_tail_bytes_ == 0) {
    // Nothing acknowledged lives in this segment: start it over in place.
    install(env_->new_writable_file(old_path));
    return;
  }
  const uint64_t number = take_wal_number_locked();
  const std::string new_path = wal_path(number);
  auto file = env_->new_writable_file(new_path);
  try {
    auto old = env_->new_read_write_file(old_path);
    old->truncate(wal_tail_bytes_);
    old->sync();
    env_->sync_dir(cfg_.data_dir + "/wal");
  } catch (const Error&) {
    try {
      file->close();
      env_->remove_file(new_path);
    } catch (const Error&) {
    }
    spare_wal_number_ = number;  // never recorded: the next attempt reuses it
    throw;
  }
  // Recorded before use, as at a memtable switch.
  record_wal_segment_locked(number);
  install(std::move(file));
  freeze_active_locked(number);
}

BackgroundError DBImpl::background_error() {
  MutexLock l(&mu_);
  BackgroundError b;
  if (!bg_error_) return b;
  b.severity = bg_severity_;
  b.code = bg_error_->code();
  b.message = bg_error_->what();
  b.resume_attempts = bg_resume_attempts_;
  return b;
}

void DBImpl::resume() {
  WriteBatch none;
  write(none, WriteOptions{}, WriteMode::kResume);
  // Like flush(): the memtables the error held back are durable on return.
  MutexLock lock(&mu_);
  cv_.notify_all();
  while (!frozen_.empty() && !bg_error_ && !stop_threads_) cv_.wait(mu_);
  if (bg_error_) throw_bg_error_locked();
}

}  // namespace flowdb
