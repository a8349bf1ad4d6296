// Tests of the sharded LRU block cache.
#include "block_cache.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace flowdb;

namespace {

// A block whose contents name its key, so lookups can be checked.
BlockContents make_block(uint64_t id, uint64_t offset, size_t size) {
  std::string s = std::to_string(id) + ":" + std::to_string(offset) + ":";
  s.resize(std::max(size, s.size()), '.');
  char* bytes;
  BlockContents b = BlockContents::allocate(s.size(), &bytes);
  std::memcpy(bytes, s.data(), s.size());
  return b;
}

bool block_matches(const BlockContents& b, uint64_t id, uint64_t offset) {
  const std::string prefix = std::to_string(id) + ":" + std::to_string(offset) + ":";
  return b.view().substr(0, prefix.size()) == prefix;
}

}  // namespace

TEST_CASE("The block cache returns what was inserted", "[engine][cache]") {
  BlockCache cache(1 << 20);
  CHECK(cache.capacity() == 1 << 20);
  CHECK(!cache.lookup(1, 0));
  auto b = make_block(1, 0, 100);
  cache.insert(1, 0, b);
  CHECK(cache.lookup(1, 0) == b);
  CHECK(!cache.lookup(1, 1));
  CHECK(!cache.lookup(2, 0));
  CHECK(cache.usage() == 100);

  // Re-inserting a key replaces the block and its charge.
  auto b2 = make_block(1, 0, 300);
  cache.insert(1, 0, b2);
  CHECK(cache.lookup(1, 0) == b2);
  CHECK(cache.usage() == 300);
}

TEST_CASE("A disabled block cache caches nothing", "[engine][cache]") {
  BlockCache cache(0);
  cache.insert(1, 0, make_block(1, 0, 10));
  CHECK(!cache.lookup(1, 0));
  CHECK(cache.usage() == 0);
  cache.erase_file(1);
}

TEST_CASE("Blocks larger than a shard are not cached", "[engine][cache]") {
  BlockCache cache(16 * 1000);  // 1000 bytes per shard
  cache.insert(1, 0, make_block(1, 0, 1001));
  CHECK(!cache.lookup(1, 0));
  CHECK(cache.usage() == 0);
  cache.insert(1, 0, make_block(1, 0, 1000));
  CHECK(static_cast<bool>(cache.lookup(1, 0)));
}

TEST_CASE("The block cache never exceeds its capacity", "[engine][cache]") {
  const size_t capacity = 1 << 20;
  BlockCache cache(capacity);
  std::mt19937 rng(1);
  size_t max_usage = 0;
  for (uint64_t i = 0; i < 20000; ++i) {
    cache.insert(i % 7, i * 4096, make_block(i % 7, i * 4096, 1 + rng() % 16384));
    REQUIRE(cache.usage() <= capacity);
    max_usage = std::max(max_usage, cache.usage());
  }
  // The cache is actually used, not just kept empty.
  CHECK(max_usage > capacity / 2);
  // Held blocks survive eviction for their holders.
  cache.insert(6, 1, make_block(6, 1, 4000));
  auto held = cache.lookup(6, 1);
  REQUIRE(held);
  for (uint64_t i = 0; i < 5000; ++i) cache.insert(9, i, make_block(9, i, 4096));
  CHECK(block_matches(held, 6, 1));
  CHECK(!cache.lookup(6, 1));  // evicted meanwhile
  CHECK(cache.usage() <= capacity);
}

TEST_CASE("The block cache evicts the least recently used block", "[engine][cache]") {
  // Each shard holds four 1000-byte blocks.
  BlockCache cache(16 * 4000);
  cache.insert(1, 0, make_block(1, 0, 1000));  // kept hot
  cache.insert(1, 1, make_block(1, 1, 1000));  // never touched again
  for (uint64_t i = 2; i < 2000; ++i) {
    cache.insert(2, i, make_block(2, i, 1000));
    REQUIRE(static_cast<bool>(cache.lookup(1, 0)));  // touching keeps it most recent
  }
  CHECK(static_cast<bool>(cache.lookup(1, 0)));
  CHECK(!cache.lookup(1, 1));
  // The most recent insertions are still there.
  CHECK(static_cast<bool>(cache.lookup(2, 1999)));
  CHECK(cache.usage() <= 16 * 4000);
}

TEST_CASE("erase_file drops every block of one file", "[engine][cache]") {
  BlockCache cache(64 << 20);
  for (uint64_t off = 0; off < 500; ++off) {
    cache.insert(1, off, make_block(1, off, 100));
    cache.insert(2, off, make_block(2, off, 200));
  }
  CHECK(cache.usage() == 500 * 300);
  cache.erase_file(1);
  CHECK(cache.usage() == 500 * 200);
  for (uint64_t off = 0; off < 500; ++off) {
    REQUIRE(!cache.lookup(1, off));
    auto b = cache.lookup(2, off);
    REQUIRE(b);
    REQUIRE(block_matches(b, 2, off));
  }
  cache.erase_file(3);  // unknown file: no-op
  cache.erase_file(2);
  CHECK(cache.usage() == 0);
}

TEST_CASE("The block cache is safe under concurrent use", "[engine][cache]") {
  const size_t capacity = 256 * 1024;
  BlockCache cache(capacity);
  std::atomic<bool> ok{true};
  std::atomic<uint64_t> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 30000; ++i) {
        const uint64_t id = rng() % 4, off = rng() % 512;
        const unsigned op = rng() % 100;
        if (op < 60) {
          if (auto b = cache.lookup(id, off)) {
            hits++;
            if (!block_matches(b, id, off)) ok = false;
          }
        } else if (op < 99) {
          cache.insert(id, off, make_block(id, off, 64 + rng() % 4096));
        } else {
          cache.erase_file(id);
        }
        if (cache.usage() > capacity) ok = false;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok);
  CHECK(hits > 0);
  CHECK(cache.usage() <= capacity);
}
