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
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "block_cache.h"
#include "dbformat.h"
#include "file_store.h"
#include "flowdb/engine.h"
#include "flowdb/env.h"
#include "log.h"
#include "memtable.h"
#include "stats.h"
#include "table.h"
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

// A registered change feed (db_feed.cc).
struct FeedState {
  std::string name, path;
  std::atomic<uint64_t> acked{0};
  std::mutex mu;  // serializes cursor writes
  // Guarded by mu.
  std::unique_ptr<WritableFile> file;
  uint64_t file_bytes = 0;
  // Guarded by DBImpl::mu_.
  bool open = false;
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

  std::mutex mu_;
  // Guarded by mu_.
  std::list<std::pair<uint64_t, std::shared_ptr<Table>>> lru_;  // front = most recent
  std::unordered_map<uint64_t, decltype(lru_)::iterator> map_;
  size_t usage_ = 0;
};

class DBImpl : public std::enable_shared_from_this<DBImpl> {
 public:
  explicit DBImpl(Config config);
  ~DBImpl();

  void open();  // recovery; throws
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
  bool trigger_compaction();
  GcResult trigger_gc();
  std::vector<BucketInfo> list_buckets();
  GcResult drop_bucket(int64_t bucket);
  bool compact_bucket(int64_t bucket);
  uint64_t disk_usage();
  uint64_t verify_checksums();
  void start_maintenance();
  void stop_maintenance();

  // Change feeds (db_feed.cc).
  std::shared_ptr<FeedState> open_feed(const std::string& name);
  void release_feed(FeedState* f);
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
  // The kept WAL segment holding `seq` (the newest one whose first sequence
  // is <= seq), else the oldest one: (number, first_seq). nullopt if none.
  std::optional<std::pair<uint64_t, uint64_t>> wal_segment_for(uint64_t seq);
  // The kept segment after `number`: (number, first_seq).
  std::optional<std::pair<uint64_t, uint64_t>> wal_segment_after(uint64_t number);
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

  void check_open_locked() const;
  // The state a read sees: opts.snapshot's, else the current one (pinned).
  struct ReadState {
    std::shared_ptr<const SuperVersion> pinned;
    uint64_t seq = 0;
  };
  ReadState pin_read_state(const ReadOptions& opts);
  void make_room_for_write(std::unique_lock<std::mutex>& lock, bool force);
  // REQUIRES: `w` heads writers_. Runs its group, answers every writer in it
  // (sets their error) and hands the queue to the next head.
  void lead_write_group_locked(std::unique_lock<std::mutex>& lock, Writer* w);
  // The writers behind the head that share its WAL record; *need_sync if
  // any of them (or the sync mode) wants an fsync.
  std::vector<Writer*> collect_write_group_locked(bool* need_sync);
  // Appends the group's record to the WAL (mu_ released meanwhile) and, if
  // that succeeded, publishes it; else sets the background error.
  std::optional<Error> append_write_group_locked(std::unique_lock<std::mutex>& lock,
                                                 const std::vector<Writer*>& group, bool need_sync);
  void switch_memtable_locked();
  void freeze_active_locked(uint64_t new_log_number);
  // The number of the next WAL segment: a spare one left by a failed
  // record_wal_segment_locked(), else a new file number.
  uint64_t take_wal_number_locked();
  // Durably records a new WAL segment in the MANIFEST before it is used.
  void record_wal_segment_locked(uint64_t number);

  // Background errors (db_error.cc). The first error wins until resumed.
  void set_bg_error_locked(const Error& e, const char* what);
  [[noreturn]] void throw_bg_error_locked() const;
  // REQUIRES: the caller leads the writer queue. Cuts the WAL back to the
  // published bytes, starts a new segment and clears the error; throws (and
  // schedules the next automatic attempt) if that fails.
  void resume_locked(std::unique_lock<std::mutex>& lock);
  void roll_wal_after_error_locked();
  // After a successful resume_locked(): completes the resume writers queued
  // behind the leader (db_write.cc).
  void answer_resume_writers_locked();
  // The flush thread's automatic retry of a Soft error; REQUIRES: mu_ held
  // through `lock`, which it releases while resuming.
  void maybe_auto_resume(std::unique_lock<std::mutex>& lock);
  std::chrono::milliseconds bg_retry_wait_locked() const;
  void install_super_version_locked();
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
  void open_read_only();  // db_readonly.cc
  // Opens the table store and recovers the MANIFEST (read_only: creating nothing).
  void recover_versions();
  // Replays the WAL into the active memtable and registers the segments.
  void recover_memtable();
  // Refuses (Corruption) a recovered state that does not account for the
  // files on disk; returns the recovered next file number.
  uint64_t audit_files();
  void replay_logs();
  // A damaged record at `offset`: Corruption unless in the `last` segment,
  // whose tail is then cut (left alone when read-only).
  void torn_tail(const std::string& path, uint64_t offset, bool last);

  // WAL segment lifetime (db_feed.cc). A segment is deleted once it is older
  // than the manifest's log_number (flushed) and every feed acknowledged it.
  void load_feeds();             // read_only: reads the cursors and changes nothing
  void register_wal_segments();  // at open: first sequence of each segment
  void delete_obsolete_logs();
  uint64_t segment_last_seq_locked(std::map<uint64_t, uint64_t>::const_iterator it) const;
  void write_feed_cursor(FeedState* f, uint64_t seq);  // REQUIRES: f->mu held

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

  // Held by the leader while appending to the WAL (not by readers).
  std::mutex wal_mu_;
  std::unique_ptr<WritableFile> log_file_;  // guarded by mu_ for swaps, wal_mu_ for use
  std::unique_ptr<log::Writer> log_;
  std::atomic<bool> log_dirty_{false};  // appended but not synced (interval mode)

  // Serializes compaction, GC and bucket drops; held across file I/O.
  std::mutex maintenance_mu_;
  // Serializes patch_record's read-modify-write.
  std::mutex patch_mu_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // flush progress, writer queue, shutdown
  // Guarded by mu_.
  std::unique_ptr<FileLock> lock_;
  MemState active_;
  int64_t active_clock_bucket_ = 0;  // bucket of the clock when active_ was started
  std::deque<MemState> frozen_;      // oldest first
  std::vector<RangeTombstone> active_tombstones_;
  std::shared_ptr<const SuperVersion> sv_;
  std::deque<Writer*> writers_;
  std::optional<Error> bg_error_;
  BackgroundError::Severity bg_severity_ = BackgroundError::Severity::None;
  uint64_t bg_resume_attempts_ = 0;
  uint64_t bg_errors_total_ = 0, bg_resumes_total_ = 0;
  std::chrono::milliseconds bg_backoff_{0};  // the wait before the next automatic resume
  std::chrono::steady_clock::time_point bg_next_retry_;
  bool closed_ = true;
  bool stop_threads_ = false;
  bool maintenance_running_ = false;
  bool gc_requested_ = false;  // a flush completed: look for expired files now
  uint64_t flush_in_progress_ = 0;
  std::vector<std::shared_ptr<const FileMeta>>
      pending_deletion_;  // unreferenced when use_count()==1
  std::thread flush_thread_, sync_thread_, maintenance_thread_;
  std::condition_variable maintenance_cv_;

  std::map<uint64_t, uint64_t> wal_segments_;  // number -> first sequence
  uint64_t wal_tail_bytes_ = 0;                // published bytes of the active segment
  uint64_t log_file_number_ = 0;               // number of the active segment
  uint64_t replayed_wal_bytes_ = 0;            // read_only: bytes of the replayed segments
  uint64_t spare_wal_number_ = 0;              // an empty segment whose record failed
  std::map<std::string, std::shared_ptr<FeedState>, std::less<>> feeds_;
  std::condition_variable feed_cv_;  // a group was published, or close

  std::atomic<uint64_t> visible_seq_{0};  // readers see sequences <= this
  uint64_t last_seq_ = 0;                 // guarded by mu_: last assigned
  std::atomic<uint64_t> frozen_count_{0};
};

// Applies the visibility rules to the newest version of a (key, ts) found at
// sequence `seq`: returns false if it is a deletion, covered by a newer range
// tombstone, or expired.
bool visible(const std::vector<RangeTombstone>& rts, uint64_t snap_seq, std::string_view user_key,
             uint64_t seq, ValueType type, int64_t expire_at, int64_t now);

}  // namespace flowdb
