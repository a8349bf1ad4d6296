// MemTable: the in-memory write buffer, an arena-backed skip list of internal
// keys (dbformat.h) mapping to entry values.
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

  // Positions at the first entry >= target without allocating; returns false
  // at the end. Views stay valid for the memtable's lifetime.
  bool seek(std::string_view target, std::string_view* key, std::string_view* value) const;

  // Iterator over all entries; the MemTable must outlive it.
  std::unique_ptr<InternalIterator> new_iterator() const;

  size_t approximate_memory_usage() const { return arena_.memory_usage(); }
  size_t num_entries() const { return num_entries_.load(std::memory_order_acquire); }
  int64_t min_ts() const { return min_ts_.load(std::memory_order_relaxed); }
  int64_t max_ts() const { return max_ts_.load(std::memory_order_relaxed); }

  // Number of the WAL file holding this memtable's writes.
  uint64_t log_number = 0;

 private:
  struct Node;
  class Iter;
  static constexpr int kMaxHeight = 12;

  Node* new_node(std::string_view key, std::string_view value, int height);
  int random_height();
  // First node with key >= ikey; fills prev[] when non-null.
  Node* find_greater_or_equal(std::string_view ikey, Node** prev) const;

  Arena arena_;
  Node* head_;
  std::atomic<int> max_height_{1};
  std::minstd_rand rnd_{0xdeadbeef};
  std::atomic<size_t> num_entries_{0};
  std::atomic<int64_t> min_ts_;
  std::atomic<int64_t> max_ts_;
  // Writer-only finger for add(): the last inserted node and, per level, the
  // last node at or before it.
  Node* last_ = nullptr;
  Node* hint_[kMaxHeight];
};

}  // namespace flowdb
