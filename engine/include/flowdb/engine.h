// Engine: a durable, time-partitioned LSM storage engine for time series.
//
// Records are (key, ts, expire_at, value); identity is (key, ts). Every SST
// file holds records of one time bucket (ts / time_bucket_secs), so time-range
// reads open only the buckets they overlap and expiry drops whole files.
//
// Semantics:
//  - Rewriting the same (key, ts) replaces it: the newest write wins, in the
//    memtable, across SSTs, after compaction and after restart.
//  - TTL: write_batch_ttl's argument, else Config::default_ttl_secs, sets
//    expire_at = ts + ttl (saturating); otherwise the record's own expire_at
//    is kept. A record is invisible once expire_at <= clock().
//  - Deletes (point and range tombstones) hide only what was written before
//    them, never later writes, across flush, compaction and restart.
//  - A write call is atomic: after a crash all of its records are present or
//    none is. Durability follows Config::wal_sync_mode (see config.h).
//
// Thread-safety: all methods may be called concurrently from any thread.
// ScanIterator is for one thread. After close()/shutdown() every call throws
// Errc::Closed, except close(), shutdown() and stats().
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowdb/change_feed.h"
#include "flowdb/config.h"
#include "flowdb/error.h"
#include "flowdb/query.h"
#include "flowdb/record.h"
#include "flowdb/stats.h"

namespace flowdb {

class DBImpl;
struct SnapshotState;

// A mixed, atomic group of puts and deletes (for layers such as JsonDB that
// need a transaction to be one WAL batch). Not thread-safe.
class WriteBatch {
 public:
  enum class Op : uint8_t { Put, Delete, DeleteRange };
  struct Entry {
    Op op;
    Record record;        // Put: the record; Delete: key and ts
    std::string end_key;  // DeleteRange: [record.key, end_key)
  };
  void put(Record r) { entries_.push_back({Op::Put, std::move(r), {}}); }
  void del(std::string key, int64_t ts) {
    entries_.push_back({Op::Delete, Record(std::move(key), ts, std::string()), {}});
  }
  void delete_range(std::string start, std::string end) {
    entries_.push_back(
        {Op::DeleteRange, Record(std::move(start), 0, std::string()), std::move(end)});
  }
  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// How one write call is applied (Engine::write).
struct WriteOptions {
  // fsync the WAL before returning, whatever Config::wal_sync_mode says.
  bool sync = false;
  // Puts expire at ts + ttl_secs; nullopt: Config::default_ttl_secs (if set).
  std::optional<uint64_t> ttl_secs = std::nullopt;
};

// A consistent, read-only view of the engine at one moment. Reads given a
// snapshot (ReadOptions::snapshot) ignore later writes. Holding one keeps the
// memtables and files of that moment alive; release it promptly.
class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const SnapshotState> s) : state_(std::move(s)) {}
  uint64_t sequence() const;
  const std::shared_ptr<const SnapshotState>& state() const { return state_; }

 private:
  std::shared_ptr<const SnapshotState> state_;
};

// A lazy, snapshot-consistent cursor over a ScanRange. It sees the engine as
// of its creation (later writes are invisible) and keeps the files it needs
// alive. Usable in range-for:  for (const Record& r : engine->scan(range)) ...
class ScanIterator {
 public:
  class Impl;
  explicit ScanIterator(std::unique_ptr<Impl> impl);
  ScanIterator(ScanIterator&&) noexcept;
  ScanIterator& operator=(ScanIterator&&) noexcept;
  ~ScanIterator();

  // Advances to the next visible record; returns nullptr at the end.
  // Throws Errc::Corruption / Errc::Io if a block cannot be read.
  const Record* next();

  // Skips forward: the next call of next() returns the first visible record
  // whose key is >= `key` (within the scan's range), as a new scan from
  // `key` would, without rebuilding the scan over its tables. Invalidates
  // the record last returned. REQUIRES: `key` is greater than the key of
  // every record returned so far (skipping backwards is not supported).
  void seek(std::string_view key);

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Record;
    using difference_type = std::ptrdiff_t;
    using pointer = const Record*;
    using reference = const Record&;
    iterator() = default;
    explicit iterator(ScanIterator* it) : it_(it), cur_(it->next()) {}
    reference operator*() const { return *cur_; }
    pointer operator->() const { return cur_; }
    iterator& operator++() {
      cur_ = it_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.cur_ == b.cur_; }

   private:
    ScanIterator* it_ = nullptr;
    const Record* cur_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  std::unique_ptr<Impl> impl_;
};

// Stops the background maintenance it started when destroyed (or stop()).
class MaintenanceHandle {
 public:
  MaintenanceHandle() = default;
  explicit MaintenanceHandle(std::shared_ptr<DBImpl> db);
  MaintenanceHandle(MaintenanceHandle&&) noexcept;
  MaintenanceHandle& operator=(MaintenanceHandle&&) noexcept;
  ~MaintenanceHandle();
  void stop();
  bool running() const { return db_ != nullptr; }

 private:
  std::shared_ptr<DBImpl> db_;
};

// A WAL segment repair found damaged (and quarantined): what it skipped.
// Damaged bytes are skipped up to the next record that starts in a later
// block (LevelDB's resync), so the batches after them are still replayed.
struct WalSegmentRepair {
  std::string segment;                // "wal/000012.log"
  uint64_t bytes_skipped = 0;         // bytes between the valid records around each damage
  uint64_t damaged_regions = 0;       // stretches of damage skipped
  uint64_t first_damage_at = 0;       // offset of the first damage
  std::string first_damage;           // why it was unreadable
  uint64_t batches_undecodable = 0;   // intact records (valid checksum) whose batch does not decode
  uint64_t batches_replayed = 0;      // whole, decodable batches applied
  uint64_t batches_after_damage = 0;  // of those, batches after the first damage
  std::string stopped;                // why reading stopped before the end; empty if it did not
};

// What Engine::repair did (rules: engine/doc/format.md, "Repair").
struct RepairResult {
  uint64_t tables_kept = 0;     // existing tables verified and made live
  uint64_t tables_adopted = 0;  // of those, tables the manifest did not record
  uint64_t tables_built = 0;    // new tables holding records replayed from the WAL
  uint64_t blocks_verified = 0;
  uint64_t records_in_tables = 0;      // entries of the kept tables
  uint64_t records_from_wal = 0;       // WAL entries not already in a kept table
  uint64_t wal_segments_replayed = 0;  // segments read (wholly or up to damage)
  // Files (or sst.pack extents) moved/copied into DIR/lost/, each as
  // "lost/NAME: why"; empty means nothing unreadable or superseded was found.
  std::vector<std::string> quarantined;
  // Intact files the new state replaces (old MANIFESTs), also kept in lost/.
  std::vector<std::string> replaced;
  std::vector<std::string> notes;            // what was found and fixed (e.g. CURRENT missing)
  std::vector<WalSegmentRepair> wal_damage;  // per damaged WAL segment, in order
  bool clean() const { return quarantined.empty(); }
  uint64_t records_recovered() const { return records_in_tables + records_from_wal; }
  std::string summary() const;  // multi-line, for people
};

class Engine {
 public:
  // Rebuilds CURRENT and the MANIFEST of config.data_dir from the tables and
  // WAL segments that can be read, after LevelDB's RepairDB: every block of
  // every table is verified, WAL records not already in a kept table are
  // written into new tables, and whatever cannot be read (or is superseded)
  // is moved into data_dir/lost/ -- nothing is deleted. Throws Busy if the
  // directory is held, NotFound if it holds no FlowDB files,
  // InvalidArgument if config.storage_backend does not match the directory.
  static RepairResult repair(Config config);

  // Opens (or creates, if Config::create_if_missing) the engine in
  // config.data_dir, replaying the WAL. Throws InvalidArgument for a bad
  // config, Busy if another process holds the directory, Corruption for a
  // damaged manifest, SST or WAL (a torn WAL tail is truncated instead).
  static std::unique_ptr<Engine> open(Config config);

  // close()s. A destructor cannot throw, so an error there is logged at
  // Logger::Level::kError through Config::logger (and lost without one): callers
  // who need it call close() first and catch what it throws.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- Writes. Each call is one atomic batch in the WAL (a group commit may
  // share one WAL record and fsync between concurrent calls).
  // Applies a mixed batch atomically, as `options` say. Throws the write
  // path's background error (background_error()) if one stopped it,
  // InvalidArgument for a delete_range whose start is not < its end.
  void write(const WriteOptions& options, const WriteBatch& batch);
  // write({}, batch).
  void write(const WriteBatch& batch);
  // Puts of `batch`: write({}, ...).
  void write_batch(std::span<const Record> batch);
  void write_batch(std::vector<Record>&& batch);
  // write({.sync = true}, ...): fsync before returning, whatever the sync mode.
  void write_batch_sync(std::span<const Record> batch);
  // write({.ttl_secs = ttl_secs}, ...): expire_at = ts + ttl for every record.
  void write_batch_ttl(std::span<const Record> batch, std::optional<uint64_t> ttl_secs);
  // Point tombstones for (key, ts) pairs.
  void delete_batch(std::span<const std::pair<std::string, int64_t>> keys_ts);
  // Range tombstone over keys [start_key, end_key), all timestamps.
  void delete_range(std::string_view start_key, std::string_view end_key);
  // Atomic read-modify-write of the visible (key, ts) record: replaces the
  // value and/or sets expire_at = ts + new_ttl_secs. Returns the new record;
  // throws Errc::NotFound if no visible record exists.
  Record patch_record(std::string_view key, int64_t ts, std::optional<std::string> new_value,
                      std::optional<uint64_t> new_ttl_secs);

  // --- Reads.
  std::optional<Record> get(std::string_view key, int64_t ts, const ReadOptions& opts = {});
  // The visible record of `key` with the largest ts.
  std::optional<Record> get_latest(std::string_view key, const ReadOptions& opts = {});
  std::vector<Record> query(const Query& q, const ReadOptions& opts = {});
  ScanIterator scan(const ScanRange& range, const ReadOptions& opts = {});
  // A view of the engine now; pass it in ReadOptions::snapshot.
  std::shared_ptr<const Snapshot> get_snapshot();

  // --- Maintenance.
  // Freezes the memtable and writes it to SSTs; returns when they are durable.
  void flush();
  // Compacts every bucket holding more than compaction_threshold files.
  // Returns true if any compaction ran.
  bool trigger_compaction();
  // Deletes files whose puts have all expired (oldest first within a bucket,
  // so nothing newer is ever uncovered). No rewrite.
  GcResult trigger_gc();
  // Starts compaction and GC in a background thread (if not already running).
  MaintenanceHandle spawn_background_maintenance();

  // --- Bucket-level mechanisms (used by retention).
  std::vector<BucketInfo> list_buckets();
  // Deletes every SST of `bucket` (records still in the memtable stay).
  // Returns what was removed.
  GcResult drop_bucket(int64_t bucket);
  // Merges all SSTs of `bucket` into one; false if it had fewer than two.
  bool compact_bucket(int64_t bucket);
  // The background policy's compaction: if `bucket` holds more than `max_files` SSTs, merges
  // its newest run of similar-sized files while the bucket may still get writes (the engine
  // clock is in or before it; all files past max(8, 4 x compaction_threshold)), or all of them
  // once the clock has left it. False if nothing was merged.
  bool maybe_compact_bucket(int64_t bucket, size_t max_files);
  // Bytes used by the data directory (WAL, manifest, SSTs).
  uint64_t disk_usage();

  // --- Change feeds (see change_feed.h).
  // Opens feed `name` (1-64 of [A-Za-z0-9_.-]), registering it durably at
  // the current last sequence if it is new. Throws InvalidArgument for a bad
  // name, Busy if a ChangeFeed of that name is open.
  std::unique_ptr<ChangeFeed> open_feed(const std::string& name);
  // Unregisters `name`, releasing the WAL it kept. No-op if unknown; throws
  // Busy if it is open.
  void drop_feed(const std::string& name);
  std::vector<FeedInfo> list_feeds();
  // Deletes the oldest WAL segments that only feeds still need until `bytes`
  // are freed or none is left; feeds behind them skip the deleted changes
  // when they read on and count them in ChangeFeed::lost(). Returns the
  // bytes freed.
  uint64_t trim_feed_backlog(uint64_t bytes);

  // --- Background errors (a full disk, a failed fsync).
  // A failed WAL append/sync, flush or manifest write stops the write path:
  // the failed batch is not applied (nor visible, nor replayed after a
  // reopen once resumed), every acknowledged batch stays readable, and later
  // writes and flush() throw the error's Errc (NoSpace for a full disk) at
  // once. A NoSpace error is retried by the flush thread with backoff (100 ms
  // doubling to 5 s) when Config::auto_background is set.
  //
  // Returns the current background error; severity None if there is none.
  BackgroundError background_error();
  // Clears a Soft or Hard background error and flushes the memtables the
  // error held back: the WAL is cut back to its last acknowledged batch and
  // a new segment is started. Returns once the memtables are durable; throws
  // (leaving the error set) if the cause persists, e.g. NoSpace while the
  // device is still full; throws the error itself if it is Fatal. A no-op
  // when there is no error.
  void resume();

  // --- Introspection.
  // Counters, gauges and latency histograms; formatting them (Prometheus,
  // status lines) is the caller's business.
  EngineStats stats();
  // Verifies every block checksum of every live SST; throws Corruption.
  // Returns the number of blocks verified.
  uint64_t verify_checksums();
  const Config& config() const;

  // Flushes the memtable and syncs; stops background work. Idempotent.
  // Throws the first error of the final flush or WAL sync, or the pending
  // background error; the engine is closed even then, and a later close()
  // (or the destructor) does not report it again.
  void close();
  // close(), then releases the data directory lock.
  void shutdown();

 private:
  explicit Engine(std::shared_ptr<DBImpl> impl);
  std::shared_ptr<DBImpl> impl_;
};

}  // namespace flowdb
