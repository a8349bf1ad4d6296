// The write path: group commit into the WAL, then the memtable.
#include <algorithm>
#include <chrono>
#include <limits>

#include "db_impl.h"
#include "dbformat.h"
#include "wal_batch.h"

namespace flowdb {

namespace {

// A group commit stops taking writers once its batches exceed this size.
constexpr size_t kMaxGroupBytes = 1 << 20;

}  // namespace

// One caller of write() waiting in writers_. The owner fills the request
// fields before queueing it; `done` and `error` are set by the group leader
// and read by the owner, both under DBImpl::mu_ (not written as GUARDED_BY:
// the mutex is the enclosing DBImpl's, which a nested struct cannot name).
struct DBImpl::Writer {
  const WriteBatch* batch = nullptr;
  bool sync = false;
  std::optional<uint64_t> ttl;
  bool apply_ttl = true;
  bool force_switch = false;  // flush(): freeze the memtable
  bool resume = false;        // resume(): clear the background error
  bool done = false;
  std::optional<Error> error;
  CondVar cv;  // waits on DBImpl::mu_
};

std::string DBImpl::encode_group(const std::vector<Writer*>& group, uint64_t first_seq,
                                 uint64_t* count) {
  std::vector<WalBatchPart> parts;
  parts.reserve(group.size());
  for (Writer* w : group) {
    const std::optional<uint64_t> ttl = w->ttl ? w->ttl : cfg_.default_ttl_secs;
    parts.push_back({w->batch, w->apply_ttl ? ttl : std::nullopt});
  }
  return encode_wal_batch(first_seq, parts, count);
}

void DBImpl::apply_to_memtable(MemTable* mem, std::string_view rec,
                               std::vector<RangeTombstone>* rts) {
  WalBatchReader batch(rec);
  // Entries go in in batch order: the memtable finds a key's series by hash,
  // so sorting a batch first (as for a single skip list) would only cost.
  thread_local std::string buf;
  WalEntry e;
  while (batch.next(&e)) {
    buf.clear();
    switch (e.tag) {
      case kWalPut:
        append_internal_key(&buf, e.key, e.ts, e.seq, ValueType::Value);
        append_entry_value(&buf, e.expire_at, e.value);
        break;
      case kWalDelete:
        append_internal_key(&buf, e.key, e.ts, e.seq, ValueType::Deletion);
        append_entry_value(&buf, std::numeric_limits<int64_t>::min(), {});
        break;
      case kWalDeleteRange:
        rts->push_back(RangeTombstone{std::string(e.key), std::string(e.end_key), e.seq});
        continue;
    }
    const std::string_view all(buf);
    const size_t key_len = e.key.size() + kInternalSuffix;
    mem->add(all.substr(0, key_len), all.substr(key_len));
  }
}

void DBImpl::write(const WriteBatch& batch, const WriteOptions& options, WriteMode mode) {
  const uint64_t start = steady_us();
  const bool control = mode == WriteMode::kSwitchMemtable || mode == WriteMode::kResume;
  if (batch.empty() && !control) {
    MutexLock l(&mu_);
    check_open_locked();
    return;
  }
  for (const auto& e : batch.entries()) {
    if (e.op == WriteBatch::Op::DeleteRange && e.record.key >= e.end_key) {
      throw Error(Errc::InvalidArgument, "delete_range: start key must be < end key");
    }
  }
  Writer w;
  w.resume = mode == WriteMode::kResume;
  w.batch = &batch;
  w.sync = options.sync;
  w.ttl = options.ttl_secs;
  w.apply_ttl = mode != WriteMode::kAsIs;
  w.force_switch = mode == WriteMode::kSwitchMemtable;

  MutexLock lock(&mu_);
  check_open_locked();
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(mu_);
  if (!w.done) lead_write_group_locked(&w);  // answered by its own group
  lock.unlock();
  if (w.error) throw *w.error;
  counters_.write_latency.record(steady_us() - start);
}

void DBImpl::lead_write_group_locked(Writer* w) {
  std::vector<Writer*> group;
  std::optional<Error> err;
  try {
    check_open_locked();
    if (w->resume) {
      resume_locked();  // as the leader, no other writer is appending
      answer_resume_writers_locked();
    } else {
      make_room_for_write(w->force_switch);
    }
  } catch (const Error& e) {
    err = e;
  }
  if (w->force_switch || w->resume || err) {
    group.push_back(w);
  } else {
    bool need_sync = false;
    group = collect_write_group_locked(&need_sync);
    err = append_write_group_locked(group, need_sync);
  }
  for (Writer* x : group) {
    writers_.pop_front();
    x->error = err;
    x->done = true;
    if (x != w) x->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
}

std::vector<DBImpl::Writer*> DBImpl::collect_write_group_locked(bool* need_sync) {
  std::vector<Writer*> group;
  size_t bytes = 0;
  for (Writer* x : writers_) {
    if (x->force_switch) break;
    if (!group.empty() && bytes > kMaxGroupBytes) break;
    // A sync writer never rides on a non-sync leader's decision: need_sync
    // covers the whole group.
    group.push_back(x);
    *need_sync |= x->sync;
    for (const auto& e : x->batch->entries()) {
      bytes += e.record.key.size() + e.record.value.size() + 32;
    }
  }
  *need_sync |= cfg_.wal_sync_mode.is_always();
  return group;
}

std::optional<Error> DBImpl::append_write_group_locked(const std::vector<Writer*>& group,
                                                       bool need_sync) {
  const uint64_t first = last_seq_ + 1;
  MemTable* mem = active_.mem.get();
  mu_.unlock();
  uint64_t count = 0, wal_bytes = 0;
  std::vector<RangeTombstone> new_rts;
  std::optional<Error> err;
  try {
    std::string rec = encode_group(group, first, &count);
    {
      const std::string framed = frame_wal_record(rec);
      MutexLock wl(&wal_mu_);
      log_->add_record(framed);
      wal_bytes = log_file_->size();
      if (need_sync) {
        log_file_->sync();
        counters_.wal_syncs.fetch_add(1, std::memory_order_relaxed);
      } else {
        log_dirty_.store(true, std::memory_order_relaxed);
      }
    }
    apply_to_memtable(mem, rec, &new_rts);
  } catch (const Error& e) {
    err = e;
  }
  mu_.lock();
  if (err) {
    // The WAL may now hold a record the memtable lacks (or a torn one):
    // refuse further writes rather than diverge until resume() cuts the
    // WAL back to wal_tail_bytes_ (db_error.cc).
    set_bg_error_locked(*err, "WAL append");
    return err;
  }
  last_seq_ = first + count - 1;
  if (!new_rts.empty()) {
    active_tombstones_.insert(active_tombstones_.end(), new_rts.begin(), new_rts.end());
    active_.tombstones = std::make_shared<const std::vector<RangeTombstone>>(active_tombstones_);
    install_super_version_locked();
  }
  visible_seq_.store(last_seq_, std::memory_order_release);
  wal_tail_bytes_ = wal_bytes;
  feed_cv_.notify_all();
  uint64_t recs = 0, bytes = 0;
  for (Writer* x : group) {
    for (const auto& e : x->batch->entries()) {
      ++recs;
      bytes += e.record.key.size() + e.record.value.size();
    }
  }
  counters_.records_written.fetch_add(recs, std::memory_order_relaxed);
  counters_.bytes_written.fetch_add(bytes, std::memory_order_relaxed);
  return std::nullopt;
}

void DBImpl::answer_resume_writers_locked() {
  // Other resume calls queued behind the leader are answered: the error is
  // gone. (The flush thread may be one of them, and a writer between it and
  // the leader could otherwise stall for a flush that thread would never run.)
  for (auto it = writers_.begin() + 1; it != writers_.end();) {
    if (!(*it)->resume) {
      ++it;
      continue;
    }
    (*it)->done = true;
    (*it)->cv.notify_one();
    it = writers_.erase(it);
  }
}

void DBImpl::make_room_for_write(bool force) {
  const size_t mem_limit = cfg_.memtable_size_mb << 20;
  const uint64_t wal_limit = cfg_.wal_segment_size_mb << 20;
  while (true) {
    if (bg_error_) throw_bg_error_locked();
    check_open_locked();
    bool empty = active_.mem->num_entries() == 0 && active_tombstones_.empty();
    bool full =
        active_.mem->approximate_memory_usage() >= mem_limit || log_file_size_locked() >= wal_limit;
    if (cfg_.flush_at_bucket_end) {
      const int64_t b = bucket_of(now(), bucket_width_us_);
      if (b != active_clock_bucket_) {
        if (empty) active_clock_bucket_ = b;  // nothing to freeze: start it over
        full = full || !empty;
      }
    }
    if (force ? empty : !full) return;
    if (frozen_.size() >= cfg_.max_frozen_memtables) {
      counters_.write_stalls.fetch_add(1, std::memory_order_relaxed);
      cv_.wait(mu_);
      continue;
    }
    switch_memtable_locked();
    return;
  }
}

void DBImpl::switch_memtable_locked() {
  const uint64_t number = take_wal_number_locked();
  {
    MutexLock wl(&wal_mu_);
    // The frozen log must be durable before a newer one exists (interval mode
    // leaves it unsynced otherwise): recovery treats damage in any segment
    // but the last as corruption.
    if (log_dirty_.exchange(false)) log_file_->sync();
    std::unique_ptr<WritableFile> file;
    try {
      file = env_->new_writable_file(wal_path(number));
      // The segment's directory entry must be durable before any batch written
      // to it is acknowledged, or a power loss takes the whole file with it.
      env_->sync_dir(cfg_.data_dir + "/wal");
    } catch (...) {
      spare_wal_number_ = number;
      throw;
    }
    // And recorded in the MANIFEST, so that open notices if it goes missing.
    record_wal_segment_locked(number);
    log_file_->close();
    log_file_ = std::move(file);
    log_ = std::make_unique<log::Writer>(log_file_.get());
  }
  freeze_active_locked(number);
}

// mu_ suffices: the file is swapped only with both mu_ and wal_mu_ held, and
// only the write leader (the caller) appends to it.
uint64_t DBImpl::log_file_size_locked() const NO_THREAD_SAFETY_ANALYSIS {
  return log_file_->size();
}

uint64_t DBImpl::take_wal_number_locked() {
  return spare_wal_number_ != 0 ? std::exchange(spare_wal_number_, 0)
                                : versions_->new_file_number();
}

void DBImpl::record_wal_segment_locked(uint64_t number) {
  VersionEdit edit;
  edit.added_wal_segments.push_back(number);
  try {
    versions_->log_and_apply(std::move(edit));
  } catch (...) {
    // The empty segment stays (a failed sync may have made the edit durable
    // anyway) and its number is used for the next segment, so failing
    // retries on a full disk leave one such file, not one per attempt.
    spare_wal_number_ = number;
    throw;
  }
}

void DBImpl::freeze_active_locked(uint64_t number) {
  frozen_.push_back(active_);
  frozen_count_.store(frozen_.size(), std::memory_order_relaxed);
  active_.mem = std::make_shared<MemTable>();
  active_.mem->log_number = number;
  active_clock_bucket_ = bucket_of(now(), bucket_width_us_);
  log_file_number_ = number;
  feeds_->add_segment(number, last_seq_ + 1);
  wal_tail_bytes_ = 0;
  active_tombstones_.clear();
  active_.tombstones = std::make_shared<const std::vector<RangeTombstone>>();
  install_super_version_locked();
  cv_.notify_all();
}

}  // namespace flowdb
