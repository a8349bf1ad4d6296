// BlockCache: a sharded LRU cache of decompressed data blocks, charged by
// bytes. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace flowdb {

class BlockCache {
 public:
  // capacity_bytes = 0 disables caching (insert is a no-op, lookup misses).
  explicit BlockCache(size_t capacity_bytes);
  ~BlockCache();

  // Returns the cached block for (cache_id, offset) or null.
  std::shared_ptr<const std::string> lookup(uint64_t cache_id, uint64_t offset);
  // Inserts, evicting least-recently-used blocks so that usage() stays
  // <= capacity (a block larger than a shard's capacity is not cached).
  void insert(uint64_t cache_id, uint64_t offset, std::shared_ptr<const std::string> block);
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
