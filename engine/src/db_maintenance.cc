// Flush, compaction, GC and bucket-level maintenance.
#include <chrono>
#include <map>
#include <set>

#include "db_impl.h"
#include "dbformat.h"
#include "merger.h"

namespace flowdb {

namespace {

uint64_t max_tombstone_seq(const std::vector<RangeTombstone>& rts) {
  uint64_t m = 0;
  for (const auto& t : rts) m = std::max(m, t.seq);
  return m;
}

}  // namespace

std::vector<FileMeta> DBImpl::build_tables(InternalIterator* it, uint64_t rt_applied_seq,
                                           bool drop_obsolete,
                                           const std::vector<RangeTombstone>& rts, int64_t now) {
  struct Output {
    uint64_t number;
    std::unique_ptr<WritableFile> file;
    std::unique_ptr<TableBuilder> builder;
  };
  std::map<int64_t, Output> outputs;
  TableOptions topts;
  topts.block_size = cfg_.block_size;
  topts.compression = cfg_.compression;
  topts.bloom_bits_per_key = cfg_.bloom_bits_per_key;
  std::vector<FileMeta> result;
  try {
    std::string last_key;
    int64_t last_ts = 0;
    bool has_last = false;
    for (it->seek_to_first(); it->valid(); it->next()) {
      ParsedInternalKey k;
      if (!parse_internal_key(it->key(), &k)) {
        throw Error(Errc::Corruption, "malformed internal key while writing a table");
      }
      if (has_last && k.ts == last_ts && k.user_key == last_key) continue;  // shadowed
      last_key.assign(k.user_key);
      last_ts = k.ts;
      has_last = true;
      bool covered = false;
      for (const auto& t : rts) covered = covered || t.covers(k.user_key, k.seq);
      if (covered) continue;
      std::string_view v = it->value();
      if (v.size() < 8)
        throw Error(Errc::Corruption, "malformed entry value while writing a table");
      if (drop_obsolete) {
        // Whole-bucket merge: nothing older than these inputs exists, so
        // tombstones and expired newest versions can go.
        if (k.type == ValueType::Deletion || entry_expire_at(v) <= now) continue;
      }
      const int64_t b = bucket_of(k.ts, bucket_width_us_);
      auto o = outputs.find(b);
      if (o == outputs.end()) {
        Output out;
        out.number = versions_->new_file_number();
        out.file = store_->new_table_file(out.number);
        out.builder = std::make_unique<TableBuilder>(topts, out.file.get());
        o = outputs.emplace(b, std::move(out)).first;
      }
      o->second.builder->add(it->key(), v);
    }
    for (auto& [b, out] : outputs) {
      out.builder->finish();
      FileMeta m;
      m.number = out.number;
      m.bucket = b;
      m.file_size = out.builder->file_size();
      m.rt_applied_seq = rt_applied_seq;
      m.props = out.builder->properties();
      m.container_offset = store_->publish(out.number, std::move(out.file));
      result.push_back(std::move(m));
    }
  } catch (...) {
    for (auto& [b, out] : outputs) {
      try {
        store_->discard(out.number);
      } catch (...) {
      }
    }
    throw;
  }
  return result;
}

void DBImpl::flush_frozen(const MemState& m) {
  const uint64_t start = steady_us();
  auto base = versions_->current();
  std::vector<RangeTombstone> rts = base->tombstones;
  rts.insert(rts.end(), m.tombstones->begin(), m.tombstones->end());
  auto it = m.mem->new_iterator();
  VersionEdit edit;
  edit.added_files = build_tables(it.get(), max_tombstone_seq(rts), false, rts, cfg_.clock());
  edit.added_tombstones = *m.tombstones;
  {
    MutexLock l(&mu_);
    // The oldest WAL still needed is that of the next unflushed memtable.
    edit.log_number = frozen_.size() > 1 ? frozen_[1].mem->log_number : active_.mem->log_number;
    edit.last_sequence = visible_seq_.load(std::memory_order_acquire);
  }
  versions_->log_and_apply(edit);
  delete_obsolete_logs();
  counters_.flushes.fetch_add(1, std::memory_order_relaxed);
  counters_.flush_latency.record(steady_us() - start);
}

void DBImpl::flush_thread_main() {
  MutexLock lock(&mu_);
  while (true) {
    const auto deadline = std::chrono::steady_clock::now() + bg_retry_wait_locked();
    while (!stop_threads_ && (frozen_.empty() || bg_error_)) {
      if (cv_.wait_until(mu_, deadline) == std::cv_status::timeout) break;
    }
    if (stop_threads_ && (frozen_.empty() || bg_error_)) return;
    if (bg_error_) maybe_auto_resume();
    if (frozen_.empty() || bg_error_) continue;
    MemState m = frozen_.front();
    ++flush_in_progress_;
    lock.unlock();
    std::optional<Error> err;
    try {
      flush_frozen(m);
    } catch (const Error& e) {
      err = e;
    }
    delete_obsolete_files();
    if (!err && cfg_.on_flush_completed) cfg_.on_flush_completed();
    lock.lock();
    --flush_in_progress_;
    if (err) {
      set_bg_error_locked(*err, "flush");
    } else {
      if (bg_backoff_.count() > 0) {
        log_event(Logger::Level::kInfo, "recovered from the background error: flush succeeded");
        bg_backoff_ = std::chrono::milliseconds(0);
      }
      frozen_.pop_front();
      frozen_count_.store(frozen_.size(), std::memory_order_relaxed);
      install_super_version_locked();
      // Expiry is judged on the engine's clock, which can run far ahead of
      // the GC timer (a backlog, a simulated clock): look again after every
      // flush too, so expired buckets never outlive a memtable's worth.
      gc_requested_ = true;
      // A process that lives less than the compaction period (power
      // flapping, a crash loop) would otherwise only ever add files.
      file_count_check_requested_ = true;
      maintenance_cv_.notify_all();
    }
    cv_.notify_all();
  }
}

void DBImpl::sync_thread_main() {
  MutexLock lock(&mu_);
  const auto period = std::chrono::milliseconds(cfg_.wal_sync_mode.interval());
  while (!stop_threads_) {
    cv_.wait_for(mu_, period);
    if (stop_threads_ || bg_error_) continue;
    lock.unlock();
    try {
      MutexLock wl(&wal_mu_);
      if (log_dirty_.exchange(false)) {
        log_file_->sync();
        counters_.wal_syncs.fetch_add(1, std::memory_order_relaxed);
      }
    } catch (const Error& e) {
      MutexLock l(&mu_);
      set_bg_error_locked(e, "WAL sync");
    }
    lock.lock();
  }
}

void DBImpl::flush() {
  WriteBatch none;
  write(none, WriteOptions{}, WriteMode::kSwitchMemtable);
  MutexLock lock(&mu_);
  cv_.notify_all();
  while (!frozen_.empty() && !bg_error_ && !stop_threads_) cv_.wait(mu_);
  if (bg_error_) throw_bg_error_locked();
}

void DBImpl::retire_files(std::vector<FileRef> files) {
  {
    MutexLock l(&mu_);
    for (auto& f : files) pending_deletion_.push_back(std::move(f));
  }
  delete_obsolete_files();
}

void DBImpl::delete_obsolete_files() {
  std::vector<std::shared_ptr<const FileMeta>> ready;
  {
    MutexLock l(&mu_);
    // A file no version references can gain no new reader: use_count 1
    // (our list) means nobody reads it any more.
    std::erase_if(pending_deletion_, [&](const auto& f) {
      if (f.use_count() != 1) return false;
      ready.push_back(f);
      return true;
    });
  }
  for (const auto& f : ready) {
    table_cache_->evict(f->number);
    block_cache_->erase_file(f->number);
    try {
      store_->remove(*f);
    } catch (const Error& e) {
      // Left behind, it is removed as an orphan at the next open.
      log_event(Logger::Level::kWarn, "could not remove " + store_->describe(*f) + ": " + e.what());
    }
  }
}

void DBImpl::prune_tombstones(VersionEdit* edit, const Version& v) const {
  std::set<uint64_t> deleted(edit->deleted_files.begin(), edit->deleted_files.end());
  std::vector<const FileMeta*> live;
  for (const auto& [b, files] : v.buckets) {
    for (const auto& f : files) {
      if (!deleted.count(f->number)) live.push_back(f.get());
    }
  }
  for (const auto& f : edit->added_files) live.push_back(&f);
  for (const auto& t : v.tombstones) {
    bool needed = false;
    for (const FileMeta* f : live) {
      if (f->rt_applied_seq >= t.seq || f->props.min_seq > t.seq) continue;
      if (f->props.largest_user_key < t.start || f->props.smallest_user_key >= t.end) continue;
      needed = true;
      break;
    }
    if (!needed) edit->deleted_tombstones.push_back(t.seq);
  }
}

namespace {

// The newest files of a bucket that are worth merging while it still receives writes: a run
// from the newest file back, extended while the next older file is no larger than the run so
// far. Merged runs then grow like a binary counter, so each record is rewritten about
// log2(bucket / flush) times, not once per compaction as a whole-bucket merge of a growing
// bucket would. A suffix of the files in max_seq order keeps the sequence ranges of a bucket's
// files disjoint, which point lookups rely on (the first file holding a version decides).
// Empty if the run is a single file.
std::vector<FileRef> tiered_run(const std::vector<FileRef>& files) {
  size_t first = files.size() - 1;
  uint64_t run_bytes = files[first]->file_size;
  while (first > 0 && files[first - 1]->file_size <= run_bytes) {
    --first;
    run_bytes += files[first]->file_size;
  }
  if (files.size() - first < 2) return {};
  return {files.begin() + static_cast<std::ptrdiff_t>(first), files.end()};
}

}  // namespace

bool DBImpl::bucket_open_locked(int64_t bucket) const {
  if (bucket >= bucket_of(now(), bucket_width_us_)) return true;
  // Behind the clock but in a memtable (a backlog, a replay, a device with a lagging clock):
  // more flushes into it are coming.
  auto holds = [&](const MemTable& m) {
    return m.num_entries() > 0 && bucket >= bucket_of(m.min_ts(), bucket_width_us_) &&
           bucket <= bucket_of(m.max_ts(), bucket_width_us_);
  };
  if (holds(*active_.mem)) return true;
  for (const auto& f : frozen_) {
    if (holds(*f.mem)) return true;
  }
  return false;
}

bool DBImpl::compact_bucket(int64_t bucket) { return compact_bucket_tiered(bucket, 1, false); }

bool DBImpl::compact_bucket_tiered(int64_t bucket, size_t max_files, bool tiered) {
  MutexLock ml(&maintenance_mu_);
  bool open_bucket = false;
  {
    MutexLock l(&mu_);
    check_open_locked();
    open_bucket = bucket_open_locked(bucket);
  }
  auto v = versions_->current();
  auto b = v->buckets.find(bucket);
  if (b == v->buckets.end() || b->second.size() < 2 || b->second.size() <= max_files) {
    return false;
  }
  std::vector<FileRef> inputs = tiered && open_bucket ? tiered_run(b->second) : b->second;
  if (inputs.empty()) {
    // No run of similar sizes: wait for more flushes unless the bucket has too many files.
    if (b->second.size() <= eager_compaction_files()) return false;
    inputs = b->second;
  }
  // Deletions and expired versions can only be dropped when nothing older remains outside.
  const bool whole = inputs.size() == b->second.size();
  std::vector<std::unique_ptr<InternalIterator>> children;
  std::vector<std::shared_ptr<Table>> tables;
  ReadOptions ro;
  ro.fill_cache = false;  // a compaction's reads would evict the hot set
  uint64_t bytes_in = 0;
  for (const auto& f : inputs) {
    tables.push_back(table_cache_->get(*f));
    children.push_back(tables.back()->new_iterator(ro));
    bytes_in += f->file_size;
  }
  auto merged = new_merging_iterator(std::move(children));
  VersionEdit edit;
  edit.added_files =
      build_tables(merged.get(), max_tombstone_seq(v->tombstones), whole, v->tombstones, now());
  for (const auto& f : inputs) edit.deleted_files.push_back(f->number);
  prune_tombstones(&edit, *v);
  versions_->log_and_apply(edit);
  {
    MutexLock l(&mu_);
    install_super_version_locked();
  }
  uint64_t bytes_out = 0;
  for (const auto& f : edit.added_files) bytes_out += f.file_size;
  counters_.compactions.fetch_add(1, std::memory_order_relaxed);
  counters_.compaction_bytes_in.fetch_add(bytes_in, std::memory_order_relaxed);
  counters_.compaction_bytes_out.fetch_add(bytes_out, std::memory_order_relaxed);
  tables.clear();
  merged.reset();
  v.reset();
  retire_files(std::move(inputs));
  return true;
}

bool DBImpl::trigger_compaction() { return compact_buckets_over(cfg_.compaction_threshold); }

size_t DBImpl::eager_compaction_files() const {
  return std::max<size_t>(8, 4 * cfg_.compaction_threshold);
}

bool DBImpl::compact_buckets_over(size_t max_files) {
  auto v = versions_->current();
  // Cheapest first: fewest bytes to rewrite.
  std::vector<std::pair<uint64_t, int64_t>> todo;
  for (const auto& [b, files] : v->buckets) {
    if (files.size() <= max_files) continue;
    uint64_t bytes = 0;
    for (const auto& f : files) bytes += f->file_size;
    todo.emplace_back(bytes, b);
  }
  std::sort(todo.begin(), todo.end());
  bool any = false;
  for (const auto& [bytes, b] : todo) any = compact_bucket_tiered(b, max_files, true) || any;
  return any;
}

GcResult DBImpl::trigger_gc() {
  MutexLock ml(&maintenance_mu_);
  {
    MutexLock l(&mu_);
    check_open_locked();
  }
  const int64_t t = now();
  auto v = versions_->current();
  VersionEdit edit;
  std::vector<FileRef> dropped;
  GcResult r;
  for (const auto& [b, files] : v->buckets) {
    // Oldest first, and only a prefix: a newer file may shadow an older one,
    // so dropping it while the older survives could resurrect data.
    for (const auto& f : files) {
      if (f->props.max_expire_at > t) break;
      edit.deleted_files.push_back(f->number);
      dropped.push_back(f);
      r.records += f->props.num_entries;
      r.bytes += f->file_size;
      ++r.files;
    }
  }
  counters_.gc_runs.fetch_add(1, std::memory_order_relaxed);
  if (dropped.empty()) return r;
  prune_tombstones(&edit, *v);
  versions_->log_and_apply(edit);
  {
    MutexLock l(&mu_);
    install_super_version_locked();
  }
  counters_.gc_records.fetch_add(r.records, std::memory_order_relaxed);
  counters_.gc_bytes.fetch_add(r.bytes, std::memory_order_relaxed);
  v.reset();
  retire_files(std::move(dropped));
  return r;
}

GcResult DBImpl::drop_bucket(int64_t bucket) {
  MutexLock ml(&maintenance_mu_);
  {
    MutexLock l(&mu_);
    check_open_locked();
  }
  auto v = versions_->current();
  auto b = v->buckets.find(bucket);
  GcResult r;
  if (b == v->buckets.end()) return r;
  std::vector<FileRef> files = b->second;
  VersionEdit edit;
  for (const auto& f : files) {
    edit.deleted_files.push_back(f->number);
    r.records += f->props.num_entries;
    r.bytes += f->file_size;
    ++r.files;
  }
  prune_tombstones(&edit, *v);
  versions_->log_and_apply(edit);
  {
    MutexLock l(&mu_);
    install_super_version_locked();
  }
  v.reset();
  retire_files(std::move(files));
  return r;
}

std::vector<BucketInfo> DBImpl::list_buckets() {
  auto v = versions_->current();
  std::vector<BucketInfo> out;
  for (const auto& [b, files] : v->buckets) {
    BucketInfo info;
    info.bucket = b;
    info.start_ts = bucket_start(b, bucket_width_us_);
    info.end_ts = bucket_end(b, bucket_width_us_);
    info.min_ts = std::numeric_limits<int64_t>::max();
    info.max_ts = std::numeric_limits<int64_t>::min();
    info.max_expire_at = std::numeric_limits<int64_t>::min();
    for (const auto& f : files) {
      ++info.files;
      info.bytes += f->file_size;
      info.records += f->props.num_entries;
      info.min_ts = std::min(info.min_ts, f->props.min_ts);
      info.max_ts = std::max(info.max_ts, f->props.max_ts);
      info.max_expire_at = std::max(info.max_expire_at, f->props.max_expire_at);
    }
    out.push_back(info);
  }
  return out;
}

void DBImpl::maintenance_thread_main() {
  using Clock = std::chrono::steady_clock;
  auto next_compaction = Clock::now() + std::chrono::milliseconds(cfg_.compaction_interval_ms);
  auto next_gc = Clock::now() + std::chrono::seconds(cfg_.gc_interval_secs);
  MutexLock lock(&mu_);
  file_count_check_requested_ = true;  // at open: what earlier runs left behind
  while (maintenance_running_ && !stop_threads_) {
    if (!file_count_check_requested_ && !gc_requested_) {
      maintenance_cv_.wait_until(mu_, std::min(next_compaction, next_gc));
    }
    if (!maintenance_running_ || stop_threads_) break;
    auto t = Clock::now();
    bool do_compaction = t >= next_compaction, do_gc = t >= next_gc || gc_requested_;
    const bool check_counts = file_count_check_requested_ && !do_compaction;
    gc_requested_ = false;
    file_count_check_requested_ = false;
    lock.unlock();
    try {
      if (do_gc) trigger_gc();
      if (do_compaction) trigger_compaction();
      if (check_counts) compact_buckets_over(eager_compaction_files());
      delete_obsolete_files();
    } catch (const Error& e) {
      // Maintenance failures are retried on the next period; data is intact.
      log_event(Logger::Level::kError, std::string("background maintenance failed: ") + e.what());
    }
    lock.lock();
    if (do_compaction) {
      next_compaction = Clock::now() + std::chrono::milliseconds(cfg_.compaction_interval_ms);
    }
    if (do_gc) next_gc = Clock::now() + std::chrono::seconds(cfg_.gc_interval_secs);
  }
}

void DBImpl::start_maintenance() {
  MutexLock l(&mu_);
  check_open_locked();
  if (maintenance_running_) return;
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  maintenance_running_ = true;
  maintenance_thread_ = std::thread([this] { maintenance_thread_main(); });
}

void DBImpl::stop_maintenance() {
  std::thread t;
  {
    MutexLock l(&mu_);
    maintenance_running_ = false;
    maintenance_cv_.notify_all();
    t = std::move(maintenance_thread_);
  }
  if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
}

}  // namespace flowdb
