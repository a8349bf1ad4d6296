// SSTable: an immutable sorted file of internal keys, holding records of ONE
// time bucket. Format: engine/doc/format.md ("SST file").
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "flowdb/config.h"
#include "flowdb/env.h"
#include "flowdb/query.h"
#include "iterator.h"

namespace flowdb {

class BlockCache;

// Counters the engine exposes in EngineStats; shared by all tables.
struct ReadCounters {
  std::atomic<uint64_t> blocks_read{0};       // data blocks consulted
  std::atomic<uint64_t> blocks_from_disk{0};  // of which read from the file
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> cache_misses{0};
  std::atomic<uint64_t> bloom_skips{0};
};

// Summary written into every SST and kept in memory for pruning.
struct TableProperties {
  uint64_t num_entries = 0;
  uint64_t num_deletions = 0;
  uint64_t num_data_blocks = 0;
  uint64_t raw_bytes = 0;         // sum of uncompressed data block sizes
  uint64_t stored_bytes = 0;      // sum of stored (compressed) data block sizes
  std::string smallest_user_key;  // of all entries
  std::string largest_user_key;
  int64_t min_ts = std::numeric_limits<int64_t>::max();
  int64_t max_ts = std::numeric_limits<int64_t>::min();
  // Largest expire_at over Value entries; INT64_MIN if the table has none.
  int64_t max_expire_at = std::numeric_limits<int64_t>::min();
  uint64_t min_seq = std::numeric_limits<uint64_t>::max();
  uint64_t max_seq = 0;
};

struct TableOptions {
  size_t block_size = 8192;  // target uncompressed bytes per data block
  Compression compression = Compression::lz4();
  size_t bloom_bits_per_key = 10;  // 0 = no filter
  // Table format to write: kTableFormatVersion, or 1 (absolute expire_at;
  // for tests of old stores). Anything else: TableBuilder throws InvalidArgument.
  uint32_t format_version = 2;
};

// Writes an SST to a WritableFile. Not thread-safe. Does not sync or close
// the file: the caller does, then publishes it.
class TableBuilder {
 public:
  TableBuilder(const TableOptions& options, WritableFile* file);
  ~TableBuilder();
  // REQUIRES: ikey > every key added before (internal-key order); value is an
  // entry value (dbformat.h).
  void add(std::string_view ikey, std::string_view value);
  // Writes the remaining data block, filter, properties, index and footer.
  void finish();
  uint64_t num_entries() const;
  // Bytes written to the file so far (the final size after finish()).
  uint64_t file_size() const;
  const TableProperties& properties() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// An iterator over the entries of one table (see Table::new_iterator).
class TableIterator : public InternalIterator {
 public:
  // Positions at the last entry <= target among those the iterator returns
  // (blocks outside its time range are skipped); invalid if there is none.
  virtual void seek_for_prev(std::string_view target) = 0;
};

// An open SST. Thread-safe: any number of iterators may be used concurrently.
class Table {
 public:
  // Reads and verifies footer, index, filter and properties. `name` is used
  // in error messages. `cache` may be null. Throws Corruption (naming file
  // and offset) if any of them is damaged.
  static std::shared_ptr<Table> open(std::unique_ptr<RandomAccessFile> file, uint64_t file_size,
                                     uint64_t cache_id, std::string name, BlockCache* cache,
                                     ReadCounters* counters);
  ~Table();

  const TableProperties& properties() const;
  // False if the Bloom filter proves no entry has this user key.
  bool may_contain(std::string_view user_key) const;
  // Iterates entries in order; skips data blocks whose [min_ts, max_ts] does
  // not overlap [ts_min, ts_max] (their entries are simply not returned).
  std::unique_ptr<TableIterator> new_iterator(
      const ReadOptions& opts, int64_t ts_min = std::numeric_limits<int64_t>::min(),
      int64_t ts_max = std::numeric_limits<int64_t>::max()) const;
  // Bytes held in memory by index and filter.
  size_t memory_usage() const;
  uint64_t num_blocks() const;
  // Reads every data block verifying checksums; returns the number checked.
  uint64_t verify_all_blocks() const;

 private:
  struct Rep;
  explicit Table(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace flowdb
