// Sharded LRU: each of the 16 shards owns capacity/16 bytes, guarded by the
// shard's mutex. Keys are hashed once; the top bits pick the shard so that
// one file's blocks spread over shards, the low bits the hash bucket.
//
// A shard is intrusive: one heap node per cached block carries the key, the
// block, its hash-chain link and its recency links, so a lookup is a masked
// bucket index, a short chain walk and four pointer writes, and an insert is
// one allocation (std::unordered_map + std::list cost two, a division per
// lookup and a splice; they were ~19 % of cache-resident point reads).
#include "block_cache.h"

#include <atomic>
#include <memory>
#include <vector>

#include "mutex.h"

namespace flowdb {

namespace {

constexpr int kNumShardBits = 4;
constexpr size_t kNumShards = size_t{1} << kNumShardBits;
constexpr size_t kMinBuckets = 64;

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

inline size_t shard_of(uint64_t hash) { return static_cast<size_t>(hash >> (64 - kNumShardBits)); }

}  // namespace

// The shard owns its entries: each is created by insert() (from a
// unique_ptr) and deleted exactly once, when evicted, replaced, erased or at
// destruction. Entries are intrusive (as in LevelDB's LRUCache), so they are
// linked by plain pointers.
struct BlockCache::Shard {
  struct Entry {
    uint64_t cache_id = 0;
    uint64_t offset = 0;
    uint64_t hash = 0;
    uint64_t stamp = 0;  // the shard's tick when it last became most recent
    BlockContents block;
    Entry* chain = nullptr;  // next in the hash bucket
    // Recency list, circular through the sentinel `lru`, most recent first.
    Entry* next = nullptr;  // less recently used
    Entry* prev = nullptr;  // more recently used
  };

  // Set once, before the cache is shared.
  size_t capacity = 0;

  Mutex mu;
  std::atomic<size_t> usage{0};  // written under mu; read lock-free by usage()
  // Sentinel: lru.next is the most, lru.prev the least recent.
  Entry lru GUARDED_BY(mu);
  std::vector<Entry*> buckets GUARDED_BY(mu);  // size is a power of two
  size_t count GUARDED_BY(mu) = 0;
  uint64_t tick GUARDED_BY(mu) = 0;  // counts moves to the front

  Shard() : buckets(kMinBuckets, nullptr) { lru.next = lru.prev = &lru; }
  ~Shard() {
    for (Entry* e = lru.next; e != &lru;) {
      Entry* next = e->next;
      delete e;
      e = next;
    }
  }

  Entry** slot(uint64_t cache_id, uint64_t offset, uint64_t hash) REQUIRES(mu) {
    Entry** p = &buckets[hash & (buckets.size() - 1)];
    while (*p != nullptr && ((*p)->cache_id != cache_id || (*p)->offset != offset)) {
      p = &(*p)->chain;
    }
    return p;
  }
  void unlink_lru(Entry* e) REQUIRES(mu) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  void link_newest(Entry* e) REQUIRES(mu) {
    e->stamp = ++tick;
    e->prev = &lru;
    e->next = lru.next;
    lru.next->prev = e;
    lru.next = e;
  }
  // Detaches e from the index and the recency list; the caller deletes it
  // (outside the lock: a block's destructor may free a large buffer).
  void remove_locked(Entry* e) REQUIRES(mu) {
    Entry** p = slot(e->cache_id, e->offset, e->hash);
    *p = e->chain;
    unlink_lru(e);
    --count;
    usage.store(usage.load(std::memory_order_relaxed) - e->block.size, std::memory_order_relaxed);
  }
  void grow_locked() REQUIRES(mu) {
    std::vector<Entry*> old(std::max(kMinBuckets, buckets.size() * 2), nullptr);
    old.swap(buckets);
    for (Entry* head : old) {
      while (head != nullptr) {
        Entry* next = head->chain;
        Entry*& b = buckets[head->hash & (buckets.size() - 1)];
        head->chain = b;
        b = head;
        head = next;
      }
    }
  }
};

BlockCache::BlockCache(size_t capacity_bytes)
    : shards_(std::make_unique<Shard[]>(kNumShards)), capacity_(capacity_bytes) {
  for (size_t i = 0; i < kNumShards; ++i) {
    shards_[i].capacity = capacity_bytes / kNumShards;
  }
}

BlockCache::~BlockCache() = default;

BlockContents BlockCache::lookup(uint64_t cache_id, uint64_t offset) {
  if (capacity_ == 0) return {};
  const uint64_t h = hash_key(cache_id, offset);
  Shard& s = shards_[shard_of(h)];
  MutexLock lock(&s.mu);
  Shard::Entry* e = *s.slot(cache_id, offset, h);
  if (e == nullptr) return {};
  // Only an entry that has drifted into the older half of the list moves
  // to the front: one in the recent half is far from eviction, and relinking
  // it would touch two more random cache lines on every hit.
  if (s.tick - e->stamp > s.count / 2) {
    s.unlink_lru(e);
    s.link_newest(e);
  }
  return e->block;
}

void BlockCache::insert(uint64_t cache_id, uint64_t offset, BlockContents block) {
  if (capacity_ == 0 || !block) return;
  const uint64_t h = hash_key(cache_id, offset);
  Shard& s = shards_[shard_of(h)];
  const size_t charge = block.size;
  auto fresh = std::make_unique<Shard::Entry>();
  fresh->cache_id = cache_id;
  fresh->offset = offset;
  fresh->hash = h;
  fresh->block = std::move(block);
  // Entries dropped here are deleted after the lock is released.
  Shard::Entry* dropped = nullptr;
  {
    MutexLock lock(&s.mu);
    if (Shard::Entry* old = *s.slot(cache_id, offset, h); old != nullptr) {
      s.remove_locked(old);
      old->chain = dropped;
      dropped = old;
    }
    if (charge <= s.capacity) {
      while (s.usage.load(std::memory_order_relaxed) + charge > s.capacity) {
        Shard::Entry* victim = s.lru.prev;
        s.remove_locked(victim);
        victim->chain = dropped;
        dropped = victim;
      }
      if (s.count + 1 > s.buckets.size()) s.grow_locked();
      Shard::Entry* e = fresh.release();
      Shard::Entry** p = &s.buckets[h & (s.buckets.size() - 1)];
      e->chain = *p;
      *p = e;
      s.link_newest(e);
      ++s.count;
      s.usage.store(s.usage.load(std::memory_order_relaxed) + charge, std::memory_order_relaxed);
    }
  }
  while (dropped != nullptr) {
    Shard::Entry* next = dropped->chain;
    delete dropped;
    dropped = next;
  }
}

void BlockCache::erase_file(uint64_t cache_id) {
  if (capacity_ == 0) return;
  for (size_t i = 0; i < kNumShards; ++i) {
    Shard& s = shards_[i];
    Shard::Entry* dropped = nullptr;
    {
      MutexLock lock(&s.mu);
      for (Shard::Entry* e = s.lru.next; e != &s.lru;) {
        Shard::Entry* next = e->next;
        if (e->cache_id == cache_id) {
          s.remove_locked(e);
          e->chain = dropped;
          dropped = e;
        }
        e = next;
      }
    }
    while (dropped != nullptr) {
      Shard::Entry* next = dropped->chain;
      delete dropped;
      dropped = next;
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
