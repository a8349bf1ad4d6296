// DBImpl: open, recovery, close, table cache and introspection.
#include "db_impl.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "compression.h"
#include "db_validate.h"
#include "dbformat.h"
#include "wal_batch.h"

namespace flowdb {

namespace {

constexpr size_t kMaxOpenTables = 4096;

int64_t system_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---------------------------------------------------------------- TableCache

TableCache::TableCache(FileStore* store, BlockCache* blocks, ReadCounters* counters,
                       size_t budget_bytes)
    : store_(store), blocks_(blocks), counters_(counters), budget_(budget_bytes) {}

std::shared_ptr<Table> TableCache::get(const FileMeta& f) {
  {
    MutexLock l(&mu_);
    auto it = map_.find(f.number);
    if (it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Opened outside the lock: it reads the footer, index and filter.
  auto table =
      Table::open(store_->open(f), f.file_size, f.number, store_->describe(f), blocks_, counters_);
  MutexLock l(&mu_);
  auto it = map_.find(f.number);
  if (it != map_.end()) return it->second->second;  // another thread won the race
  lru_.emplace_front(f.number, table);
  map_[f.number] = lru_.begin();
  usage_ += table->memory_usage();
  while ((usage_ > budget_ || map_.size() > kMaxOpenTables) && lru_.size() > 1) {
    auto& victim = lru_.back();
    usage_ -= victim.second->memory_usage();
    map_.erase(victim.first);
    lru_.pop_back();  // readers holding it keep it alive
  }
  return table;
}

void TableCache::evict(uint64_t number) {
  MutexLock l(&mu_);
  auto it = map_.find(number);
  if (it == map_.end()) return;
  usage_ -= it->second->second->memory_usage();
  lru_.erase(it->second);
  map_.erase(it);
}

// ---------------------------------------------------------------- DBImpl

DBImpl::DBImpl(Config config) : cfg_(std::move(config)) {
  cfg_.validate();
  env_ = cfg_.env != nullptr ? cfg_.env : Env::posix();
  if (!cfg_.clock) cfg_.clock = system_clock_us;
  bucket_width_us_ = static_cast<int64_t>(cfg_.time_bucket_secs) * 1'000'000;
  block_cache_ = std::make_unique<BlockCache>(cfg_.block_cache_capacity_mb << 20);
  feeds_ = std::make_unique<FeedManager>(env_, cfg_.data_dir, cfg_.read_only);
}

DBImpl::~DBImpl() {
  try {
    close();
  } catch (const std::exception& e) {
    log_event(Logger::Level::kError, "error while closing " + cfg_.data_dir + ": " + e.what());
  }
}

std::string DBImpl::wal_path(uint64_t number) const { return wal_file_path(cfg_.data_dir, number); }

void DBImpl::check_open_locked() const {
  if (closed_) throw Error(Errc::Closed, "engine at " + cfg_.data_dir + " is closed");
}

void DBImpl::install_super_version_locked() {
  auto sv = std::make_shared<SuperVersion>();
  sv->active = active_;
  for (auto it = frozen_.rbegin(); it != frozen_.rend(); ++it) sv->frozen.push_back(*it);
  sv->version = versions_->current();
  sv->tombstones = sv->version->tombstones;
  for (auto it = frozen_.begin(); it != frozen_.end(); ++it) {
    sv->tombstones.insert(sv->tombstones.end(), it->tombstones->begin(), it->tombstones->end());
  }
  sv->tombstones.insert(sv->tombstones.end(), active_.tombstones->begin(),
                        active_.tombstones->end());
  sv_ = std::move(sv);
}

void DBImpl::check_new_database_allowed(bool may_create) {
  const std::string& dir = cfg_.data_dir;
  // A new database only where nothing could be lost by starting one.
  const DirInventory inv = inventory_dir(env_, dir);
  if (inv.holds_data()) {
    throw Error(Errc::Corruption, dir + ": CURRENT is missing but the directory holds " +
                                      inv.describe() + "; refusing to open or create a database");
  }
  if (!may_create) {
    throw Error(Errc::NotFound, dir + ": no FlowDB database here and " +
                                    (cfg_.read_only ? "a read-only open never creates one"
                                                    : "create_if_missing is false"));
  }
}

void DBImpl::open() {
  if (cfg_.read_only) {
    open_read_only();
    return;
  }
  const std::string& dir = cfg_.data_dir;
  if (!env_->file_exists(dir + "/CURRENT")) check_new_database_allowed(cfg_.create_if_missing);
  env_->create_dir(dir);
  env_->create_dir(dir + "/wal");
  lock_ = env_->lock_file(dir + "/LOCK");
  recover_versions();
  const uint64_t recovered_next = audit_files();
  feeds_->load();
  // The segments replayed below are recorded (format.md, "What open accepts").
  versions_->note_wal_segments(inventory_dir(env_, dir).wal_segments);
  // Every session starts a fresh MANIFEST (compacting the edit history).
  versions_->write_snapshot();
  store_->remove_orphans(*versions_->current(), recovered_next);

  recover_memtable();

  // A fresh WAL segment for this session's writes.
  const uint64_t log_number = versions_->new_file_number();
  log_file_ = env_->new_writable_file(wal_path(log_number));
  log_ = std::make_unique<log::Writer>(log_file_.get());
  env_->sync_dir(dir + "/wal");
  // A memtable kept from recovery still needs the older segments: its flush,
  // like any other, moves the manifest's log_number past them.
  const bool kept_recovered = active_.mem->num_entries() > 0 || !active_tombstones_.empty();
  if (!kept_recovered) active_.mem->log_number = log_number;
  {
    MutexLock l(&mu_);
    active_clock_bucket_ = bucket_of(now(), bucket_width_us_);
    log_file_number_ = log_number;
    feeds_->add_segment(log_number, last_seq_ + 1);
    wal_tail_bytes_ = 0;
  }
  VersionEdit edit;
  if (!kept_recovered) edit.log_number = log_number;
  edit.added_wal_segments.push_back(log_number);
  edit.last_sequence = last_seq_;
  versions_->log_and_apply(edit);
  // Keep only the segments the memtables and feeds still need.
  delete_obsolete_logs();

  visible_seq_.store(last_seq_, std::memory_order_release);
  open_time_us_ = system_clock_us();
  {
    MutexLock l(&mu_);
    install_super_version_locked();
    closed_ = false;
    stop_threads_ = false;
  }
  flush_thread_ = std::thread([this] { flush_thread_main(); });
  if (!cfg_.wal_sync_mode.is_always()) sync_thread_ = std::thread([this] { sync_thread_main(); });
  if (cfg_.auto_background) start_maintenance();
}

void DBImpl::recover_versions() {
  store_ = FileStore::create(cfg_.storage_backend, env_, cfg_.data_dir, cfg_.read_only,
                             cfg_.max_open_files);
  table_cache_ = std::make_unique<TableCache>(store_.get(), block_cache_.get(), &read_counters_,
                                              cfg_.index_memory_budget_mb << 20);
  versions_ = std::make_unique<VersionSet>(env_, cfg_.data_dir);
  versions_->recover();
}

void DBImpl::recover_memtable() {
  active_.mem = std::make_shared<MemTable>();
  active_.tombstones = std::make_shared<const std::vector<RangeTombstone>>();
  replay_logs();
  // A feed may have shipped (and acknowledged) a group that a power loss then
  // took from the WAL: new writes must still get sequences past its cursor.
  last_seq_ = std::max(last_seq_, feeds_->max_acked());
  feeds_->register_segments(last_seq_);
}

uint64_t DBImpl::audit_files() {
  const std::string& dir = cfg_.data_dir;
  const DirInventory inv = inventory_dir(env_, dir);
  const uint64_t next = versions_->next_file_number();
  std::vector<std::string> problems =
      audit_recovered_state(env_, dir, inv, *versions_->current(), versions_->log_number(),
                            cfg_.storage_backend == StorageBackendKind::SingleFile);
  for (auto& p : audit_wal_segments(env_, dir, inv, *versions_, next)) {
    problems.push_back(std::move(p));
  }
  if (problems.empty() && cfg_.storage_backend == StorageBackendKind::MultiFile) {
    problems = audit_unrecorded_tables(env_, dir, inv, next, versions_->last_sequence(),
                                       versions_->log_number());
  } else if (problems.empty()) {
    problems = audit_pack_footers(env_, dir, *versions_->current());
    if (problems.empty()) {
      problems = audit_pack_gaps(env_, dir, inv, *versions_->current(), versions_->last_sequence(),
                                 versions_->log_number());
    }
  }
  if (!problems.empty()) {
    std::string msg = dir + ": the manifest does not account for the files on disk (";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Error(Errc::Corruption, msg + "); nothing was changed");
  }
  // Files numbered at or past the recovered next file number are not known to
  // be obsolete: they stay on disk (reported) and their numbers are not reused.
  std::vector<uint64_t> unrecorded;
  for (const auto* list : {&inv.tables, &inv.temp_tables, &inv.wal_segments}) {
    for (uint64_t n : *list) {
      if (n >= next && list != &inv.wal_segments) unrecorded.push_back(n);
      versions_->mark_file_number_used(n);
    }
  }
  for (uint64_t n : unrecorded) {
    log_event(Logger::Level::kWarn, dir + ": keeping table file " + std::to_string(n) +
                                        " that the manifest does not record");
  }
  return next;
}

void DBImpl::replay_logs() {
  const std::string wal_dir = cfg_.data_dir + "/wal";
  std::vector<uint64_t> logs;
  for (const auto& name : env_->get_children(wal_dir)) {
    uint64_t n;
    if (parse_log_name(name, &n)) {
      versions_->mark_file_number_used(n);
      if (n >= versions_->log_number()) logs.push_back(n);
    }
  }
  std::sort(logs.begin(), logs.end());
  last_seq_ = versions_->last_sequence();
  auto mem = std::make_shared<MemTable>();
  std::vector<RangeTombstone> rts;
  bool flushed_during_replay = false;
  auto flush_recovered = [&]() NO_THREAD_SAFETY_ANALYSIS {  // part of replay_logs()
    if (mem->num_entries() == 0 && rts.empty()) return;
    std::vector<RangeTombstone> all = versions_->current()->tombstones;
    all.insert(all.end(), rts.begin(), rts.end());
    uint64_t applied = 0;
    for (const auto& t : all) applied = std::max(applied, t.seq);
    auto it = mem->new_iterator();
    VersionEdit edit;
    edit.added_files = build_tables(it.get(), applied, false, all, cfg_.clock());
    edit.added_tombstones = rts;
    edit.last_sequence = last_seq_;
    versions_->log_and_apply(edit);
    mem = std::make_shared<MemTable>();
    rts.clear();
  };
  for (size_t i = 0; i < logs.size(); ++i) {
    const std::string path = wal_path(logs[i]);
    log::Reader reader(env_->new_random_access_file(path), path);
    std::string scratch;
    std::string_view rec;
    std::string batch;
    while (reader.read_record(&scratch, &rec)) {
      rec = wal_record_payload(rec, &batch, path, reader.last_record_end());
      uint64_t first = 0, count = 0;
      try {
        const WalBatchReader header(rec);
        first = header.first_seq();
        count = header.count();
        apply_to_memtable(mem.get(), rec, &rts);
      } catch (const Error& e) {
        throw Error(Errc::Corruption, path + ": " + e.what() + " ending at offset " +
                                          std::to_string(reader.last_record_end()));
      }
      if (count > 0) last_seq_ = std::max(last_seq_, first + count - 1);
      if (!cfg_.read_only && mem->approximate_memory_usage() >= (cfg_.memtable_size_mb << 20)) {
        flush_recovered();
        flushed_during_replay = true;
      }
    }
    if (reader.hit_torn_tail()) torn_tail(path, reader.last_record_end(), i + 1 == logs.size());
    if (cfg_.read_only) replayed_wal_bytes_ += env_->get_file_size(path);
  }
  if (flushed_during_replay || logs.empty()) {
    flush_recovered();
  } else if (mem->num_entries() > 0 || !rts.empty()) {
    // Open without writing SSTs (RocksDB's avoid_flush_during_recovery): the
    // replayed memtable becomes the active one and its segments stay until it
    // is flushed. Every replayed segment (and the last one's truncation) is
    // synced before this session starts a newer one: a crashed session may
    // have left any of them in the page cache only (a memtable switch that
    // died before syncing the old segment, or an open that died before its
    // flush was recorded), and a power loss must not tear a segment that is
    // no longer the last or drop data that later synced writes follow.
    if (!cfg_.read_only) {
      for (const uint64_t number : logs) env_->new_appendable_file(wal_path(number))->sync();
    }
    mem->log_number = logs.front();
    active_.mem = std::move(mem);
    active_tombstones_ = std::move(rts);
    active_.tombstones = std::make_shared<const std::vector<RangeTombstone>>(active_tombstones_);
  }
  versions_->set_last_sequence(last_seq_);
}

void DBImpl::torn_tail(const std::string& path, uint64_t offset, bool last) {
  if (!last) {
    // Older logs were synced before a newer one was started.
    throw Error(Errc::Corruption, path + ": damaged record at offset " + std::to_string(offset) +
                                      " in a WAL segment that is not the last");
  }
  if (cfg_.read_only) {
    log_event(Logger::Level::kWarn, path + ": ignoring torn tail at offset " +
                                        std::to_string(offset) + " (read-only: not cut)");
    return;
  }
  log_event(Logger::Level::kWarn,
            path + ": truncating torn tail at offset " + std::to_string(offset));
  env_->truncate_file(path, offset);
}

void DBImpl::close() {
  {
    MutexLock l(&mu_);
    if (closed_) return;
    if (cfg_.read_only) {  // no thread, no WAL, nothing to flush or delete
      closed_ = true;
      stop_threads_ = true;
      return;
    }
  }
  stop_maintenance();
  std::optional<Error> err;
  try {
    bool healthy;
    {
      MutexLock l(&mu_);
      healthy = !bg_error_;
    }
    if (!healthy) {
      // One last resume: it also cuts a failed record off the WAL, so a
      // reopen replays exactly the acknowledged batches.
      resume();
      healthy = true;
    }
    if (healthy) flush();
  } catch (const Error& e) {
    err = e;
  }
  {
    MutexLock l(&mu_);
    closed_ = true;
    stop_threads_ = true;
    cv_.notify_all();
    feed_cv_.notify_all();
  }
  if (flush_thread_.joinable()) flush_thread_.join();
  if (sync_thread_.joinable()) sync_thread_.join();
  try {
    MutexLock wl(&wal_mu_);
    if (log_file_) {
      log_file_->sync();
      log_file_->close();
    }
  } catch (const Error& e) {
    if (!err) err = e;
  }
  delete_obsolete_files();
  if (err) throw *err;
  MutexLock l(&mu_);
  if (bg_error_) throw *bg_error_;
}

void DBImpl::release_lock() {
  MutexLock l(&mu_);
  lock_.reset();
}

uint64_t DBImpl::disk_usage() {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(cfg_.data_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;  // allocated, so holes don't count
    }
  }
  return total;
}

uint64_t DBImpl::verify_checksums() {
  auto v = versions_->current();
  uint64_t blocks = 0;
  for (const auto& [b, files] : v->buckets) {
    for (const auto& f : files) blocks += table_cache_->get(*f)->verify_all_blocks();
  }
  return blocks;
}

EngineStats DBImpl::stats() {
  EngineStats s;
  s.total_records_written = counters_.records_written.load();
  s.total_bytes_written = counters_.bytes_written.load();
  s.total_records_read = counters_.records_read.load();
  s.total_records_expired = counters_.records_expired.load();
  s.total_flushes = counters_.flushes.load();
  s.total_gc_runs = counters_.gc_runs.load();
  s.total_compaction_runs = counters_.compactions.load();
  s.records_purged_by_gc = counters_.gc_records.load();
  s.bytes_purged_by_gc = counters_.gc_bytes.load();
  s.compaction_bytes_in = counters_.compaction_bytes_in.load();
  s.compaction_bytes_out = counters_.compaction_bytes_out.load();
  s.files_opened_by_reads = counters_.files_opened.load();
  s.blocks_read = read_counters_.blocks_read.load();
  s.blocks_read_from_disk = read_counters_.blocks_from_disk.load();
  s.bloom_filter_skips = read_counters_.bloom_skips.load();
  s.wal_syncs = counters_.wal_syncs.load();
  s.write_stalls = counters_.write_stalls.load();
  std::shared_ptr<const SuperVersion> sv;
  {
    MutexLock l(&mu_);
    sv = sv_;
    s.last_sequence = visible_seq_.load();
    s.background_errors = bg_errors_total_;
    s.background_resumes = bg_resumes_total_;
  }
  s.background_error = background_error();
  if (sv) {
    s.memtable_records = sv->active.mem->num_entries();
    s.memtable_bytes = sv->active.mem->approximate_memory_usage();
    s.frozen_memtable_count = sv->frozen.size();
    const Version& v = *sv->version;
    uint64_t raw = 0, stored = 0;
    for (const auto& [b, files] : v.buckets) {
      for (const auto& f : files) {
        ++s.sstable_count;
        s.sstable_bytes += f->file_size;
        s.block_meta_index_entries += f->props.num_data_blocks;
        raw += f->props.raw_bytes;
        stored += f->props.stored_bytes;
      }
    }
    s.time_index_buckets = v.buckets.size();
    s.range_tombstones = sv->tombstones.size();
    s.compression_ratio = stored > 0 ? static_cast<double>(raw) / static_cast<double>(stored) : 1.0;
  }
  {
    MutexLock wl(&wal_mu_);
    s.wal_bytes = log_file_ ? log_file_->size() : replayed_wal_bytes_;
  }
  s.block_cache_bytes = block_cache_->usage();
  uint64_t hits = read_counters_.cache_hits.load(), misses = read_counters_.cache_misses.load();
  s.block_cache_hit_rate =
      hits + misses > 0 ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 0.0;
  s.write_latency_p50_us = counters_.write_latency.percentile(50);
  s.write_latency_p90_us = counters_.write_latency.percentile(90);
  s.write_latency_p99_us = counters_.write_latency.percentile(99);
  s.query_latency_p50_us = counters_.query_latency.percentile(50);
  s.query_latency_p90_us = counters_.query_latency.percentile(90);
  s.query_latency_p99_us = counters_.query_latency.percentile(99);
  s.flush_latency_p50_us = counters_.flush_latency.percentile(50);
  s.flush_latency_p90_us = counters_.flush_latency.percentile(90);
  s.flush_latency_p99_us = counters_.flush_latency.percentile(99);
  s.write_latency = counters_.write_latency.snapshot();
  s.query_latency = counters_.query_latency.snapshot();
  s.flush_latency = counters_.flush_latency.snapshot();
  s.uptime_secs =
      open_time_us_ ? static_cast<uint64_t>((system_clock_us() - open_time_us_) / 1000000) : 0;
  return s;
}

}  // namespace flowdb
