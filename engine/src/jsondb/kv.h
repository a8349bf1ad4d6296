// The key-value view of a JsonDB transaction: an ordered overlay of the
// transaction's own writes (and cleared ranges) over an engine snapshot,
// with forward and backward merged iterators that stream from the engine.
//
// Storage layout (all keys start with kNamespace = "\0J"):
//   \0J d <store id: be32> <encoded primary key>                 -> JSON document
//   \0J i <store id: be32> <index id: be32> <enc index key> <enc pk> -> ""
//   \0J m S <store id: be32>  -> StoreDef JSON       \0J m N -> next id
//   \0J m G <store id: be32>  -> key generator       \0J m C <store id> -> count
//
// Thread-safety: not thread-safe; one transaction, one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowdb/engine.h"

namespace flowdb::jsondb::detail {

inline const std::string kNamespace("\0J", 2);

std::string data_prefix(uint32_t store_id);
std::string index_prefix(uint32_t store_id, uint32_t index_id);
std::string meta_key(char kind, uint32_t id);  // kind: 'S', 'G', 'C'
std::string next_id_key();
// Smallest string greater than every string starting with `p`.
std::string successor(std::string_view p);

class Kv {
 public:
  // `snapshot` may be null (read the latest state).
  Kv(Engine* engine, std::shared_ptr<const Snapshot> snapshot);

  std::optional<std::string> get(const std::string& key) const;
  void put(const std::string& key, std::string value);
  void del(const std::string& key);
  // Deletes every key in [begin, end) (overlay entries and engine records).
  void clear_range(const std::string& begin, const std::string& end);

  // True if the engine's record under `key` is shadowed by the overlay.
  bool hidden(std::string_view key) const;
  // Overlay entries (nullopt = deleted).
  const std::map<std::string, std::optional<std::string>, std::less<>>& writes() const {
    return writes_;
  }
  bool empty() const { return writes_.empty() && cleared_.empty(); }
  void discard();
  // Appends the overlay to `batch`: range deletions first, then writes.
  void to_batch(WriteBatch* batch) const;

  // Request savepoints: changes made between begin_request() and
  // end_request(false) are undone; end_request(true) keeps them.
  void begin_request();
  void end_request(bool keep);

  Engine* engine() const { return engine_; }
  const ReadOptions& read_options() const { return ro_; }

 private:
  struct Undo {
    bool is_clear;  // pop the last cleared range
    std::string key;
    std::optional<std::optional<std::string>> prev;  // nullopt: absent from the overlay
  };
  void log(const std::string& key);

  Engine* engine_;
  ReadOptions ro_;
  std::map<std::string, std::optional<std::string>, std::less<>> writes_;
  std::vector<std::pair<std::string, std::string>> cleared_;
  bool in_request_ = false;
  std::vector<Undo> undo_;
};

struct Entry {
  std::string key;
  std::string value;
};

// Ascending over [lo, hi), merging overlay and engine. Sees overlay changes
// made between calls (each step re-reads the overlay).
class ForwardIter {
 public:
  ForwardIter(const Kv* kv, std::string lo, std::string hi);
  // The next entry after the last one returned (first call: >= lo), or nullptr.
  const Entry* next();
  // The next next() returns the first entry >= target (> if !inclusive).
  void seek(std::string target, bool inclusive = true);

 private:
  const Kv* kv_;
  std::string lo_, hi_;
  std::string from_;
  bool inclusive_ = true;
  std::optional<ScanIterator> scan_;
  const Record* head_ = nullptr;
  Entry cur_;
};

// Descending over [lo, hi). Reads the engine backwards in windows of at most
// kChunk records, found by bisecting the key space between lo and the bound
// (so memory stays O(kChunk) whatever the store size).
class BackwardIter {
 public:
  static constexpr size_t kChunk = 64;
  BackwardIter(const Kv* kv, std::string lo, std::string hi);
  // The greatest entry before the last one returned (first call: < hi).
  const Entry* next();
  // The next next() returns the greatest entry <= target (< if !inclusive).
  void seek(std::string target, bool inclusive);

 private:
  void fetch();
  const Kv* kv_;
  std::string lo_, hi_;
  std::string bound_;
  bool inclusive_ = false;
  std::vector<Record> batch_;  // engine records in [window_start_, previous window start)
  size_t idx_ = 0;             // batch_[0, idx_) not yet passed
  std::string window_start_;
  Entry cur_;
};

}  // namespace flowdb::jsondb::detail
