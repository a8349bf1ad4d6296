// MemTable: the in-memory write buffer, holding internal keys (dbformat.h)
// mapped to entry values, laid out for time series.
//
// Two levels of skip lists: a list of series (one node per user key), and per
// series a list of its entries ordered by (ts ascending, sequence descending).
// An entry stores only its 16-byte ts/sequence suffix; the user key is stored
// once, in its series. A writer-only hash index finds a key's series in O(1),
// so the common time-series insert (the newest point of an existing series)
// is an append after the series' last entry instead of a search from the top
// of one big list. Entries of a series are carved from that series' own
// growing chunks of the arena, so a series' points are contiguous in memory
// and a scan of its recent window reads a few cache lines instead of one
// scattered node per point.
//
// Thread-safety: one writer at a time (the engine's write leader) and any
// number of concurrent readers without locks, as LevelDB's SkipList.
// Memory is released only when the MemTable is destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "dbformat.h"
#include "iterator.h"

namespace flowdb {

// Bump allocator for memtable entries. Not thread-safe (the writer uses it).
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  char* allocate(size_t bytes);  // aligned to 8
  size_t memory_usage() const { return memory_usage_.load(std::memory_order_relaxed); }

 private:
  char* allocate_new_block(size_t bytes);
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* ptr_ = nullptr;
  size_t remaining_ = 0;
  std::atomic<size_t> memory_usage_{0};
};

class MemTable {
 public:
  MemTable();
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // REQUIRES: external synchronization between writers. (key, seq) must be
  // unique, which sequence numbers guarantee.
  void add(std::string_view internal_key, std::string_view entry_value);

  // The first entry >= target, if it has target's user key: fills *key (its
  // user_key views memtable memory) and *value (valid for the memtable's
  // lifetime). False if there is none.
  bool seek(std::string_view target, ParsedInternalKey* key, std::string_view* value) const;
  // The last entry <= target among the entries of target's user key (for a
  // target of sequence 0, the oldest version of the largest ts <= target's
  // ts). False if there is none.
  bool seek_last(std::string_view target, ParsedInternalKey* key, std::string_view* value) const;

  // Iterator over all entries in internal-key order; the MemTable must
  // outlive it. key() views the iterator's own buffer (valid until it moves).
  std::unique_ptr<InternalIterator> new_iterator() const;

  // Arena bytes plus the writer's series index.
  size_t approximate_memory_usage() const {
    return arena_.memory_usage() + index_bytes_.load(std::memory_order_relaxed);
  }
  size_t num_entries() const { return num_entries_.load(std::memory_order_acquire); }
  int64_t min_ts() const { return min_ts_.load(std::memory_order_relaxed); }
  int64_t max_ts() const { return max_ts_.load(std::memory_order_relaxed); }

  // Number of the WAL file holding this memtable's writes.
  uint64_t log_number = 0;

 private:
  struct Node;
  struct Series;
  class Iter;
  static constexpr int kMaxHeight = 12;

  int random_height();
  // The series of user_key, or null. Writer only.
  Series* find_series(std::string_view user_key, uint64_t hash) const;
  Series* new_series(std::string_view user_key, size_t first_entry_bytes);
  // Grows the hash index so that one more insert fits; may throw, changing
  // nothing. Then index_insert cannot fail.
  void index_reserve_one();
  // REQUIRES: index_reserve_one() since the last insert.
  void index_insert(Series* s, uint64_t hash) noexcept;
  // Moves up to `slots` slots of old_index_ to index_; frees it when done.
  void index_migrate(size_t slots) noexcept;
  // Linear probing in a power-of-two table: the slot holding a series for
  // which is_key is true, or the empty slot where it would go.
  template <typename IsKey>
  static size_t probe(const std::vector<Series*>& t, uint64_t hash, IsKey&& is_key);
  char* allocate_entry(Series* s, size_t bytes);
  void insert_entry(Series* s, Node* n, int height);

  // Readers. First series with key >= user_key (prev[] filled when non-null).
  Series* find_series_ge(std::string_view user_key, Series** prev) const;
  // The series whose key is user_key, or null.
  Series* find_series_eq(std::string_view user_key) const;

  Arena arena_;
  Series* head_;
  std::atomic<int> max_height_{1};  // of the series list
  std::minstd_rand rnd_{0xdeadbeef};
  std::atomic<size_t> num_entries_{0};
  std::atomic<int64_t> min_ts_;
  std::atomic<int64_t> max_ts_;
  // Writer-only hash index, open addressing: user key -> its series. After
  // a growth the series still in old_index_ (slots from migrate_pos_ on) move
  // to index_ a few per insert; a lookup tries index_, then old_index_.
  std::vector<Series*> index_;
  std::vector<Series*> old_index_;
  size_t migrate_pos_ = 0;
  size_t index_count_ = 0;  // series in both tables together
  std::atomic<size_t> index_bytes_{0};
};

}  // namespace flowdb
