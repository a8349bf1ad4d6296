// DBImpl: the engine behind flowdb::Engine.
//
// Write path: writers queue up; the front writer (leader) appends the whole
// group as ONE WAL record (so each batch is all-or-nothing after a crash),
// syncs if any member needs it, inserts into the memtable, then publishes
// the group's sequence numbers to readers (readers never see a partial
// batch). A full memtable is frozen with its WAL and flushed by the flush
// thread into one SST per time bucket.
//
// Read path: a read pins a SuperVersion (memtables + file version + range
// tombstones) and a sequence number; entries newer than that sequence are
// skipped, so every read is snapshot-consistent.
//
// Change feeds and WAL segment retention: FeedManager (feed_manager.h).
// WAL batch format: wal_batch.h.
//
// Locks, in the order they may nest: maintenance_mu_ / patch_mu_ (serialize
// whole operations), mu_ (the state below), wal_mu_ (the active WAL file),
// then the leaves (TableCache, FeedManager, VersionSet). Each member names
// its mutex with GUARDED_BY; `thread-safety` (CMakePresets.json) checks it.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "block_cache.h"
#include "dbformat.h"
#include "feed_manager.h"
#include "file_store.h"
#include "flowdb/engine.h"
#include "flowdb/env.h"
#include "log.h"
#include "memtable.h"
#include "mutex.h"
#include "stats.h"
#include "table.h"
#include "thread_annotations.h"
#include "version.h"

namespace flowdb {

// A memtable with the range tombstones written while it was active.
struct MemState {
  std::shared_ptr<MemTable> mem;
  std::shared_ptr<const std::vector<RangeTombstone>> tombstones;
};

// Everything a read needs, immutable once built.
struct SuperVersion {
  MemState active;
  std::vector<MemState> frozen;  // newest first
  std::shared_ptr<const Version> version;
  std::vector<RangeTombstone> tombstones;  // all of the above, ordered by seq
};

struct SnapshotState {
  std::shared_ptr<const SuperVersion> sv;
  uint64_t seq = 0;
};

// Opened SSTs, bounded by the index memory budget (and a file count cap).
// Thread-safe.
class TableCache {
 public:
  TableCache(FileStore* store, BlockCache* blocks, ReadCounters* counters, size_t budget_bytes);
  // Returns the open table for `f`, opening it if needed.
  std::shared_ptr<Table> get(const FileMeta& f);
  void evict(uint64_t number);

 private:
  FileStore* const store_;
  BlockCache* const blocks_;
  ReadCounters* const counters_;
  const size_t budget_;

  Mutex mu_;
  std::list<std::pair<uint64_t, std::shared_ptr<Table>>> lru_
      GUARDED_BY(mu_);  // front = most recent
  std::unordered_map<uint64_t, decltype(lru_)::iterator> map_ GUARDED_BY(mu_);
  size_t usage_ GUARDED_BY(mu_) = 0;
};

class DBImpl : public std::enable_shared_from_this<DBImpl> {
 public:
  explicit DBImpl(Config config);
  ~DBImpl();

  // Recovery; throws. The open steps below touch guarded members without
  // their mutexes: no other thread can see this DBImpl before open()
  // returns, so they are NO_THREAD_SAFETY_ANALYSIS.
  void open() NO_THREAD_SAFETY_ANALYSIS;
  // Throws Errc::ReadOnlyError naming `what` if opened with Config::read_only.
  void require_writable(const char* what) const;
  void close();
  void release_lock();

  // What a call of write() does, beyond appending its batch.
  enum class WriteMode {
    kApplyTtl,        // puts get options.ttl_secs, else Config::default_ttl_secs
    kAsIs,            // puts keep their expire_at (patch_record)
    kSwitchMemtable,  // empty batch: freeze the memtable for flush()
    kResume,          // empty batch: resume_locked() as the write leader
  };
  // Queues as a writer; the queue's head leads a group commit of the
  // writers behind it (lead_write_group_locked). Throws the group's error.
  void write(const WriteBatch& batch, const WriteOptions& options,
             WriteMode mode = WriteMode::kApplyTtl);
  std::optional<Record> get(std::string_view key, int64_t ts, const ReadOptions& opts);
  std::optional<Record> get_latest(std::string_view key, const ReadOptions& opts);
  ScanIterator new_scan(const ScanRange& range, const ReadOptions& opts);
  std::shared_ptr<const SnapshotState> snapshot();
  Record patch_record(std::string_view key, int64_t ts, std::optional<std::string> new_value,
                      std::optional<uint64_t> new_ttl_secs);

  void flush();
  // Compacts every bucket with more than compaction_threshold files.
  bool trigger_compaction();
  // Compacts every bucket with more than `max_files` files, fewest bytes first.
  bool compact_buckets_over(size_t max_files);
  // Past this many files a bucket is compacted at once (at open and after a
  // flush), not at the next compaction period: max(8, 4 x threshold).
  size_t eager_compaction_files() const;
  GcResult trigger_gc();
  std::vector<BucketInfo> list_buckets();
  GcResult drop_bucket(int64_t bucket);
  bool compact_bucket(int64_t bucket);
  // If `bucket` holds more than `max_files` files, merges them: with `tiered`, while the
  // bucket is open (at or after the clock's bucket), only its newest run of similar-sized
  // files (all of them past eager_compaction_files()); else all. True if a merge ran.
  bool compact_bucket_tiered(int64_t bucket, size_t max_files, bool tiered);
  // True if `bucket` may still receive writes: the clock is in or before it, or a memtable
  // holds records of it. A bucket that is not open is merged whole.
  bool bucket_open_locked(int64_t bucket) const REQUIRES(mu_);
  uint64_t disk_usage();
  uint64_t verify_checksums();
  void start_maintenance();
  void stop_maintenance();

  // Change feeds (db_feed.cc): checks that the engine is open and hands the
  // engine's sequence numbers and log number to feeds().
  std::shared_ptr<FeedState> open_feed(const std::string& name);
  void drop_feed(const std::string& name);
  std::vector<FeedInfo> list_feeds();
  uint64_t trim_feed_backlog(uint64_t bytes);
  void feed_ack(FeedState* f, uint64_t seq);
  // What a feed may read now: the active WAL segment, its bytes holding only
  // published groups, and the last published sequence.
  struct WalTail {
    uint64_t number = 0;
    uint64_t bytes = 0;
    uint64_t visible_seq = 0;
  };
  WalTail wal_tail();
  FeedManager* feeds() { return feeds_.get(); }
  std::string wal_path(uint64_t number) const;
  // Waits until visible sequence > seq, timeout or close; true if > seq.
  bool wait_visible_after(uint64_t seq, std::chrono::milliseconds timeout);

  // Background errors (db_error.cc).
  BackgroundError background_error();
  void resume();  // clears a Soft/Hard error and waits for the flushes

  EngineStats stats();
  const Config& config() const { return cfg_; }
  // Hands `message` to Config::logger; dropped without one. Thread-safe.
  void log_event(Logger::Level level, std::string_view message) const {
    if (cfg_.logger) cfg_.logger->log(level, message);
  }
  Env* env() const { return env_; }
  int64_t now() const { return cfg_.clock(); }

  // Used by scans.
  TableCache* table_cache() { return table_cache_.get(); }
  ReadCounters* read_counters() { return &read_counters_; }
  EngineCounters* counters() { return &counters_; }
  int64_t bucket_width_us() const { return bucket_width_us_; }

 private:
  struct Writer;

  void check_open_locked() const REQUIRES(mu_);
  // The state a read sees: opts.snapshot's, else the current one (pinned).
  struct ReadState {
    std::shared_ptr<const SuperVersion> pinned;
    uint64_t seq = 0;
  };
  ReadState pin_read_state(const ReadOptions& opts);
  // Waits (releasing mu_) while the frozen memtables are at their limit.
  void make_room_for_write(bool force) REQUIRES(mu_);
  // REQUIRES: `w` heads writers_. Runs its group, answers every writer in it
  // (sets their error) and hands the queue to the next head.
  void lead_write_group_locked(Writer* w) REQUIRES(mu_);
  // The writers behind the head that share its WAL record; *need_sync if
  // any of them (or the sync mode) wants an fsync.
  std::vector<Writer*> collect_write_group_locked(bool* need_sync) REQUIRES(mu_);
  // Appends the group's record to the WAL (mu_ released meanwhile) and, if
  // that succeeded, publishes it; else sets the background error.
  std::optional<Error> append_write_group_locked(const std::vector<Writer*>& group, bool need_sync)
      REQUIRES(mu_);
  void switch_memtable_locked() REQUIRES(mu_);
  void freeze_active_locked(uint64_t new_log_number) REQUIRES(mu_);
  // The number of the next WAL segment: a spare one left by a failed
  // record_wal_segment_locked(), else a new file number.
  uint64_t take_wal_number_locked() REQUIRES(mu_);
  // Durably records a new WAL segment in the MANIFEST before it is used.
  void record_wal_segment_locked(uint64_t number) REQUIRES(mu_);
  // The active WAL segment's size, read by the write leader.
  uint64_t log_file_size_locked() const REQUIRES(mu_);

  // Background errors (db_error.cc). The first error wins until resumed.
  void set_bg_error_locked(const Error& e, const char* what) REQUIRES(mu_);
  [[noreturn]] void throw_bg_error_locked() const REQUIRES(mu_);
  // REQUIRES: the caller leads the writer queue. Cuts the WAL back to the
  // published bytes, starts a new segment and clears the error; throws (and
  // schedules the next automatic attempt) if that fails.
  void resume_locked() REQUIRES(mu_);
  void roll_wal_after_error_locked() REQUIRES(mu_);
  // After a successful resume_locked(): completes the resume writers queued
  // behind the leader (db_write.cc).
  void answer_resume_writers_locked() REQUIRES(mu_);
  // The flush thread's automatic retry of a Soft error; releases mu_ while
  // resuming.
  void maybe_auto_resume() REQUIRES(mu_);
  std::chrono::milliseconds bg_retry_wait_locked() const REQUIRES(mu_);
  void install_super_version_locked() REQUIRES(mu_);
  std::shared_ptr<const SuperVersion> super_version();
  std::string encode_group(const std::vector<Writer*>& group, uint64_t first_seq, uint64_t* count);
  void apply_to_memtable(MemTable* mem, std::string_view record, std::vector<RangeTombstone>* rts);

  // Flush.
  void flush_thread_main();
  void sync_thread_main();
  void maintenance_thread_main();
  void flush_frozen(const MemState& m);
  // Writes `it`'s entries (already filtered) into one SST per bucket.
  std::vector<FileMeta> build_tables(InternalIterator* it, uint64_t rt_applied_seq,
                                     bool drop_obsolete, const std::vector<RangeTombstone>& rts,
                                     int64_t now);
  void delete_obsolete_files();
  // Queues files no longer in the current version for deletion once unused.
  void retire_files(std::vector<FileRef> files);
  void prune_tombstones(VersionEdit* edit, const Version& v) const;

  // Recovery.
  // Without CURRENT: throws Corruption if the directory holds data, else
  // NotFound unless `may_create`.
  void check_new_database_allowed(bool may_create);
  void open_read_only() NO_THREAD_SAFETY_ANALYSIS;  // db_readonly.cc; see open()
  // Opens the table store and recovers the MANIFEST (read_only: creating nothing).
  void recover_versions();
  // Replays the WAL into the active memtable and registers the segments.
  void recover_memtable() NO_THREAD_SAFETY_ANALYSIS;  // see open()
  // Refuses (Corruption) a recovered state that does not account for the
  // files on disk; returns the recovered next file number.
  uint64_t audit_files();
  void replay_logs() NO_THREAD_SAFETY_ANALYSIS;  // see open()
  // A damaged record at `offset`: Corruption unless in the `last` segment,
  // whose tail is then cut (left alone when read-only).
  void torn_tail(const std::string& path, uint64_t offset, bool last);

  // Deletes the WAL segments that neither the memtables nor a feed need
  // (FeedManager::delete_obsolete_segments).
  void delete_obsolete_logs() EXCLUDES(mu_);

  // --- Immutable after construction.
  Config cfg_;
  Env* env_;
  int64_t bucket_width_us_;
  std::unique_ptr<BlockCache> block_cache_;
  ReadCounters read_counters_;
  EngineCounters counters_;
  std::unique_ptr<FileStore> store_;
  std::unique_ptr<TableCache> table_cache_;
  std::unique_ptr<VersionSet> versions_;
  int64_t open_time_us_ = 0;
  std::unique_ptr<FeedManager> feeds_;

  // Serializes compaction, GC and bucket drops; held across file I/O.
  Mutex maintenance_mu_;
  // Serializes patch_record's read-modify-write.
  Mutex patch_mu_;

  mutable Mutex mu_;
  CondVar cv_;  // flush progress, writer queue, shutdown
  std::unique_ptr<FileLock> lock_ GUARDED_BY(mu_);
  MemState active_ GUARDED_BY(mu_);
  // Bucket of the clock when active_ was started.
  int64_t active_clock_bucket_ GUARDED_BY(mu_) = 0;
  std::deque<MemState> frozen_ GUARDED_BY(mu_);  // oldest first
  std::vector<RangeTombstone> active_tombstones_ GUARDED_BY(mu_);
  std::shared_ptr<const SuperVersion> sv_ GUARDED_BY(mu_);
  std::deque<Writer*> writers_ GUARDED_BY(mu_);
  std::optional<Error> bg_error_ GUARDED_BY(mu_);
  BackgroundError::Severity bg_severity_ GUARDED_BY(mu_) = BackgroundError::Severity::None;
  uint64_t bg_resume_attempts_ GUARDED_BY(mu_) = 0;
  uint64_t bg_errors_total_ GUARDED_BY(mu_) = 0;
  uint64_t bg_resumes_total_ GUARDED_BY(mu_) = 0;
  // The wait before the next automatic resume.
  std::chrono::milliseconds bg_backoff_ GUARDED_BY(mu_){0};
  std::chrono::steady_clock::time_point bg_next_retry_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = true;
  bool stop_threads_ GUARDED_BY(mu_) = false;
  bool maintenance_running_ GUARDED_BY(mu_) = false;
  bool gc_requested_ GUARDED_BY(mu_) = false;  // a flush completed: look for expired files now
  // At open and after a flush: compact buckets past eager_compaction_files().
  bool file_count_check_requested_ GUARDED_BY(mu_) = false;
  uint64_t flush_in_progress_ GUARDED_BY(mu_) = 0;
  // Unreferenced when use_count()==1.
  std::vector<std::shared_ptr<const FileMeta>> pending_deletion_ GUARDED_BY(mu_);
  std::thread flush_thread_, sync_thread_, maintenance_thread_;
  CondVar maintenance_cv_;  // waits on mu_

  uint64_t wal_tail_bytes_ GUARDED_BY(mu_) = 0;    // published bytes of the active segment
  uint64_t log_file_number_ GUARDED_BY(mu_) = 0;   // number of the active segment
  uint64_t spare_wal_number_ GUARDED_BY(mu_) = 0;  // an empty segment whose record failed
  CondVar feed_cv_;                                // waits on mu_: a group was published, or close

  // Held by the leader while appending to the WAL (not by readers). The
  // file is swapped only with mu_ held too, so the leader may read its size
  // under mu_ alone (log_file_size_locked()).
  Mutex wal_mu_;
  std::unique_ptr<WritableFile> log_file_ GUARDED_BY(wal_mu_);
  std::unique_ptr<log::Writer> log_ GUARDED_BY(wal_mu_);
  std::atomic<bool> log_dirty_{false};  // appended but not synced (interval mode)
  // read_only: bytes of the replayed segments.
  uint64_t replayed_wal_bytes_ GUARDED_BY(wal_mu_) = 0;

  std::atomic<uint64_t> visible_seq_{0};   // readers see sequences <= this
  uint64_t last_seq_ GUARDED_BY(mu_) = 0;  // last assigned
  std::atomic<uint64_t> frozen_count_{0};
};

// Applies the visibility rules to the newest version of a (key, ts) found at
// sequence `seq`: returns false if it is a deletion, covered by a newer range
// tombstone, or expired.
bool visible(const std::vector<RangeTombstone>& rts, uint64_t snap_seq, std::string_view user_key,
             uint64_t seq, ValueType type, int64_t expire_at, int64_t now);

}  // namespace flowdb
