// Sharded LRU: each of the 16 shards owns capacity/16 bytes, a recency list
// and a hash index, all guarded by the shard's mutex. Keys are hashed once;
// the top bits pick the shard so that one file's blocks spread over shards.
#include "block_cache.h"

#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>

namespace flowdb {

namespace {

constexpr int kNumShardBits = 4;
constexpr size_t kNumShards = size_t{1} << kNumShardBits;

struct CacheKey {
  uint64_t cache_id;
  uint64_t offset;
  bool operator==(const CacheKey&) const = default;
};

// Strong 64-bit mix (splitmix64 finaliser) of both halves of the key.
inline uint64_t hash_key(uint64_t cache_id, uint64_t offset) {
  uint64_t h = cache_id * 0x9e3779b97f4a7c15ull ^ (offset + 0x632be59bd9b4e019ull);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    return static_cast<size_t>(hash_key(k.cache_id, k.offset));
  }
};

}  // namespace

struct BlockCache::Shard {
  struct Entry {
    CacheKey key;
    BlockContents block;
    size_t charge;
  };

  std::mutex mu;
  size_t capacity = 0;
  std::atomic<size_t> usage{0};  // written under mu; read lock-free by usage()
  std::list<Entry> lru;          // front = most recently used
  std::unordered_map<CacheKey, std::list<Entry>::iterator, CacheKeyHash> index;

  void erase_locked(std::list<Entry>::iterator it) {
    usage.store(usage.load(std::memory_order_relaxed) - it->charge, std::memory_order_relaxed);
    index.erase(it->key);
    lru.erase(it);
  }
};

BlockCache::BlockCache(size_t capacity_bytes)
    : shards_(std::make_unique<Shard[]>(kNumShards)), capacity_(capacity_bytes) {
  for (size_t i = 0; i < kNumShards; ++i) shards_[i].capacity = capacity_bytes / kNumShards;
}

BlockCache::~BlockCache() = default;

namespace {
inline size_t shard_of(uint64_t cache_id, uint64_t offset) {
  return static_cast<size_t>(hash_key(cache_id, offset) >> (64 - kNumShardBits));
}
}  // namespace

BlockContents BlockCache::lookup(uint64_t cache_id, uint64_t offset) {
  if (capacity_ == 0) return {};
  Shard& s = shards_[shard_of(cache_id, offset)];
  std::lock_guard lock(s.mu);
  auto it = s.index.find(CacheKey{cache_id, offset});
  if (it == s.index.end()) return {};
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->block;
}

void BlockCache::insert(uint64_t cache_id, uint64_t offset, BlockContents block) {
  if (capacity_ == 0 || !block) return;
  Shard& s = shards_[shard_of(cache_id, offset)];
  const size_t charge = block.size;
  // Dropped under the lock would run block destructors there; defer them.
  BlockContents replaced;
  std::list<Shard::Entry> evicted;
  {
    std::lock_guard lock(s.mu);
    const CacheKey key{cache_id, offset};
    if (auto it = s.index.find(key); it != s.index.end()) {
      replaced = std::move(it->second->block);
      s.erase_locked(it->second);
    }
    if (charge > s.capacity) return;
    while (s.usage.load(std::memory_order_relaxed) + charge > s.capacity) {
      auto victim = std::prev(s.lru.end());
      s.usage.store(s.usage.load(std::memory_order_relaxed) - victim->charge,
                    std::memory_order_relaxed);
      s.index.erase(victim->key);
      evicted.splice(evicted.begin(), s.lru, victim);
    }
    s.lru.push_front(Shard::Entry{key, std::move(block), charge});
    s.index.emplace(key, s.lru.begin());
    s.usage.store(s.usage.load(std::memory_order_relaxed) + charge, std::memory_order_relaxed);
  }
}

void BlockCache::erase_file(uint64_t cache_id) {
  if (capacity_ == 0) return;
  for (size_t i = 0; i < kNumShards; ++i) {
    Shard& s = shards_[i];
    std::list<Shard::Entry> dropped;
    std::lock_guard lock(s.mu);
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      auto cur = it++;
      if (cur->key.cache_id != cache_id) continue;
      s.usage.store(s.usage.load(std::memory_order_relaxed) - cur->charge,
                    std::memory_order_relaxed);
      s.index.erase(cur->key);
      dropped.splice(dropped.begin(), s.lru, cur);
    }
  }
}

size_t BlockCache::usage() const {
  size_t total = 0;
  for (size_t i = 0; i < kNumShards; ++i) total += shards_[i].usage.load(std::memory_order_relaxed);
  return total;
}

size_t BlockCache::capacity() const { return capacity_; }

}  // namespace flowdb
