// BlockCache: a sharded LRU cache of decompressed data blocks, charged by
// bytes. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace flowdb {

// The contents of one decompressed block, shared between the cache and its
// readers. One allocation; allocate() leaves the bytes uninitialised, so a
// block is written once (by the decompressor or the file read), not zeroed
// first.
struct BlockContents {
  std::shared_ptr<const char[]> data;
  size_t size = 0;

  // A block of n bytes; the caller fills *bytes before sharing it.
  static BlockContents allocate(size_t n, char** bytes) {
    auto buf = std::make_shared_for_overwrite<char[]>(n == 0 ? 1 : n);
    *bytes = buf.get();
    return BlockContents{std::move(buf), n};
  }
  std::string_view view() const { return std::string_view(data.get(), size); }
  explicit operator bool() const { return data != nullptr; }
  friend bool operator==(const BlockContents& a, const BlockContents& b) {
    return a.data == b.data && a.size == b.size;
  }
};

class BlockCache {
 public:
  // capacity_bytes = 0 disables caching (insert is a no-op, lookup misses).
  explicit BlockCache(size_t capacity_bytes);
  ~BlockCache();

  // Returns the cached block for (cache_id, offset), or an empty one.
  BlockContents lookup(uint64_t cache_id, uint64_t offset);
  // Inserts, evicting least-recently-used blocks so that usage() stays
  // <= capacity (a block larger than a shard's capacity is not cached).
  void insert(uint64_t cache_id, uint64_t offset, BlockContents block);
  // Drops every block of cache_id (file deleted).
  void erase_file(uint64_t cache_id);
  size_t usage() const;
  size_t capacity() const;

 private:
  struct Shard;
  std::unique_ptr<Shard[]> shards_;
  size_t capacity_;
};

}  // namespace flowdb
