// Config: everything Engine::open needs. Field names and defaults follow the
// Rust crate `flowdb` 0.8.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "flowdb/logger.h"

namespace flowdb {

class Env;

// When WAL appends are made durable.
class SyncMode {
 public:
  // fsync before every write call returns: an acknowledged batch survives
  // power loss. Concurrent writers share one fsync (group commit).
  static SyncMode always() { return SyncMode(0); }
  // The batch is in the OS before the call returns (survives kill -9); a
  // background thread fsyncs within `ms` milliseconds.
  static SyncMode interval_ms(uint64_t ms) { return SyncMode(ms == 0 ? 1 : ms); }

  bool is_always() const { return interval_ms_ == 0; }
  uint64_t interval() const { return interval_ms_; }
  friend bool operator==(const SyncMode&, const SyncMode&) = default;

 private:
  explicit SyncMode(uint64_t ms) : interval_ms_(ms) {}
  uint64_t interval_ms_;
};

enum class StorageBackendKind {
  MultiFile,   // one file per SST in data_dir/sst/
  SingleFile,  // all SSTs packed in data_dir/sst.pack; freed space is reclaimed
};

// Block compression of SSTables.
class Compression {
 public:
  enum class Kind : uint8_t { None = 0, Lz4 = 1, Zstd = 2 };
  static Compression none() { return Compression(Kind::None, 0); }
  static Compression lz4() { return Compression(Kind::Lz4, 0); }
  // level in [1, 19].
  static Compression zstd(int level = 3) { return Compression(Kind::Zstd, level); }

  Kind kind() const { return kind_; }
  int level() const { return level_; }
  friend bool operator==(const Compression&, const Compression&) = default;

 private:
  Compression(Kind k, int level) : kind_(k), level_(level) {}
  Kind kind_;
  int level_;
};

struct Config {
  // Directory holding the WAL, manifest and SSTables.
  std::string data_dir;
  // TTL applied to records written without an explicit one (none if unset).
  std::optional<uint64_t> default_ttl_secs;
  // Period of background GC (dropping wholly expired files).
  uint64_t gc_interval_secs = 3600;
  // Size at which the active memtable is frozen and flushed.
  size_t memtable_size_mb = 64;
  // Frozen memtables waiting for flush; writers wait when this is reached.
  size_t max_frozen_memtables = 2;
  // Target uncompressed size of an SST data block, in BYTES.
  size_t block_size = 8192;
  // Poll period of the background flush worker, in milliseconds.
  uint64_t flush_interval_ms = 1000;
  // Width of a time bucket: every SST holds records of one bucket only.
  uint64_t time_bucket_secs = 3600;
  // Budget for the indexes and Bloom filters of open SSTables.
  size_t index_memory_budget_mb = 256;
  // Capacity of the decompressed-block LRU cache (0 disables it).
  size_t block_cache_capacity_mb = 128;
  // Table files (MultiFile) held open at once; idle ones beyond it are closed
  // and reopened on their next read, so a store may hold more tables than
  // the process may open files, and a scan over all of them still works.
  // 0: half the soft RLIMIT_NOFILE at open (at least 16), leaving the rest
  // to the WAL, sockets and the embedding program.
  size_t max_open_files = 0;
  // Bloom filter bits per key (0 disables filters).
  size_t bloom_bits_per_key = 10;
  // A WAL segment larger than this freezes the memtable and starts a new one.
  uint64_t wal_segment_size_mb = 64;
  // Freeze the memtable at the first write after the clock leaves the time
  // bucket it was started in (InfluxDB's cold-cache snapshot, by bucket): at
  // low ingest rates the WAL then holds about one bucket of arrivals instead
  // of a memtable's worth that may outlive the TTL, and data arriving in time
  // order makes one SST per bucket. false: memtables live until full.
  bool flush_at_bucket_end = true;
  // A bucket with more SST files than this is compacted.
  size_t compaction_threshold = 2;
  // Period of background compaction checks, in milliseconds.
  uint64_t compaction_interval_ms = 60000;
  bool create_if_missing = true;
  // Open without changing the directory (RocksDB's OpenForReadOnly): no file
  // is created, renamed, truncated or removed -- no WAL segment, no MANIFEST
  // roll, no CURRENT rewrite, no torn-tail truncation, no orphan removal, no
  // LOCK file if there is none. The WAL segments are replayed into memory
  // only (their whole unflushed content, however large). create_if_missing
  // is ignored: a directory without CURRENT is NotFound (or Corruption if it
  // holds data). Every write, delete, patch_record, flush, compaction, GC,
  // bucket drop, feed open/drop/trim and spawn_background_maintenance throws
  // Error(Errc::ReadOnlyError); reads, stats and verify_checksums work.
  // A directory an open engine holds is refused: the reader takes a shared
  // flock on the existing LOCK file, the writer holds it exclusively, so one
  // excludes the other and the reader gets Errc::Busy (and a writer started
  // while a reader is open gets Busy too). Without a LOCK file (a copied
  // directory) the reader opens without a lock. See engine/doc/format.md.
  bool read_only = false;
  SyncMode wal_sync_mode = SyncMode::always();
  // Run compaction and GC in a background thread owned by the engine.
  bool auto_background = true;
  StorageBackendKind storage_backend = StorageBackendKind::MultiFile;
  Compression compression = Compression::lz4();
  // Current time in microseconds since the Unix epoch; drives TTL visibility
  // and GC. Default (empty): the system clock.
  std::function<int64_t()> clock;
  // Called (from the flush thread, without engine locks held) after each
  // memtable flush has been published; e.g. to wake a retention thread.
  // Must not throw and must not call back into flush().
  std::function<void()> on_flush_completed;
  // File system access; null means Env::posix(). Not owned; must outlive the engine.
  Env* env = nullptr;
  // Receives what the engine notices but does not throw (see logger.h);
  // null discards it: the engine never writes to stderr.
  std::shared_ptr<Logger> logger;

  // Throws Error(Errc::InvalidArgument) naming the first bad field and its
  // allowed range.
  void validate() const;
};

}  // namespace flowdb
