// Tests of the SST block format: builder/iterator round trips, seeks, damaged
// blocks, the block trailer, properties encoding and block compression.
#include "block.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "coding.h"
#include "compression.h"
#include "dbformat.h"
#include "flowdb/error.h"
#include "table.h"

using namespace flowdb;

namespace {

struct KV {
  std::string key;
  std::string value;
};

std::string user_key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "host%03d/cpu%05d", i % 7, i);
  return buf;
}

// Sorted entries: several (ts, seq) versions per user key.
std::vector<KV> make_entries(int n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::vector<KV> out;
  uint64_t seq = 1000000;
  for (int i = 0; static_cast<int>(out.size()) < n; ++i) {
    const int versions = 1 + static_cast<int>(rng() % 3);
    for (int v = 0; v < versions && static_cast<int>(out.size()) < n; ++v) {
      const ValueType t = (rng() % 5 == 0) ? ValueType::Deletion : ValueType::Value;
      std::string value(rng() % 40, static_cast<char>('a' + v));
      out.push_back({make_internal_key(user_key(i), -50 + v * 100, seq--, t), value});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const KV& a, const KV& b) { return compare_internal_keys(a.key, b.key) < 0; });
  return out;
}

std::string build_block(const std::vector<KV>& entries, int restart_interval = 16) {
  BlockBuilder b(restart_interval);
  for (const auto& e : entries) b.add(e.key, e.value);
  const size_t estimate = b.size_estimate();
  std::string out(b.finish());
  REQUIRE(out.size() == estimate);
  return out;
}

// Runs f; passes if it returns or throws Corruption, fails on anything else.
template <typename F>
bool only_corruption(F&& f) {
  try {
    f();
    return false;
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::Corruption);
    return true;
  }
}

void iterate_all(BlockIter& it) {
  for (it.seek_to_first(); it.valid(); it.next()) {
    (void)it.key();
    (void)it.value();
  }
}

}  // namespace

TEST_CASE("A block returns exactly the entries it was built from", "[engine][sst][block]") {
  for (int interval : {1, 2, 16, 1000}) {
    for (int n : {1, 15, 16, 17, 500}) {
      const auto entries = make_entries(n);
      const std::string block = build_block(entries, interval);
      BlockIter it;
      it.reset(block, "test", 0);
      CHECK_FALSE(it.valid());
      size_t i = 0;
      for (it.seek_to_first(); it.valid(); it.next(), ++i) {
        REQUIRE(i < entries.size());
        REQUIRE(it.key() == entries[i].key);
        REQUIRE(it.value() == entries[i].value);
      }
      CHECK(i == entries.size());
    }
  }
}

TEST_CASE("A block seeks to every key and between keys", "[engine][sst][block]") {
  const auto entries = make_entries(1000);
  const std::string block = build_block(entries);
  BlockIter it;
  it.reset(block, "test", 0);
  for (size_t i = 0; i < entries.size(); ++i) {
    it.seek(entries[i].key);
    REQUIRE(it.valid());
    REQUIRE(it.key() == entries[i].key);
    REQUIRE(it.value() == entries[i].value);

    // A newer sequence at the same (key, ts) sorts just before entries[i].
    ParsedInternalKey pk;
    REQUIRE(parse_internal_key(entries[i].key, &pk));
    it.seek(make_internal_key(pk.user_key, pk.ts, kMaxSequence, ValueType::Value));
    REQUIRE(it.valid());
    CHECK(compare_internal_keys(it.key(), entries[i].key) <= 0);

    // Just after entries[i] (older sequence) lands on entries[i + 1].
    if (pk.seq > 0) {
      it.seek(make_internal_key(pk.user_key, pk.ts, pk.seq - 1, ValueType::Value));
      if (i + 1 < entries.size()) {
        REQUIRE(it.valid());
        REQUIRE(it.key() == entries[i + 1].key);
      } else {
        REQUIRE_FALSE(it.valid());
      }
    }
  }
  it.seek(make_internal_key("", INT64_MIN, kMaxSequence, ValueType::Value));
  REQUIRE(it.valid());
  CHECK(it.key() == entries.front().key);
  it.seek(make_internal_key("\xff\xff", 0, 0, ValueType::Value));
  CHECK_FALSE(it.valid());
}

TEST_CASE("A block iterator keeps working after seeks and resets", "[engine][sst][block]") {
  const auto a = make_entries(100, 1);
  const auto b = make_entries(50, 2);
  const std::string ba = build_block(a), bb = build_block(b);
  BlockIter it;
  it.reset(ba, "a", 0);
  it.seek(a[70].key);
  REQUIRE(it.key() == a[70].key);
  it.seek(a[3].key);  // backwards
  REQUIRE(it.key() == a[3].key);
  it.next();
  REQUIRE(it.key() == a[4].key);
  it.reset(bb, "b", 0);
  CHECK_FALSE(it.valid());
  it.seek_to_first();
  REQUIRE(it.key() == b[0].key);
  it.clear();
  CHECK_FALSE(it.valid());
}

TEST_CASE("An empty block has no entries", "[engine][sst][block]") {
  BlockBuilder b;
  CHECK(b.empty());
  const std::string block(b.finish());
  CHECK(block.size() == 8);
  BlockIter it;
  it.reset(block, "empty", 0);
  it.seek_to_first();
  CHECK_FALSE(it.valid());
  it.seek(make_internal_key("x", 0, 1, ValueType::Value));
  CHECK_FALSE(it.valid());
}

TEST_CASE("A block builder can be reused after reset", "[engine][sst][block]") {
  const auto entries = make_entries(40);
  BlockBuilder b;
  for (const auto& e : entries) b.add(e.key, e.value);
  b.finish();
  b.reset();
  CHECK(b.empty());
  CHECK(b.last_key().empty());
  for (const auto& e : entries) b.add(e.key, e.value);
  CHECK(b.num_entries() == entries.size());
  CHECK(b.last_key() == entries.back().key);
  CHECK(std::string(b.finish()) == build_block(entries));
}

TEST_CASE("Malformed block trailers throw Corruption", "[engine][sst][block]") {
  BlockIter it;
  for (std::string bad : {std::string(), std::string("\x01\x00\x00", 3)}) {
    CHECK_THROWS_AS(it.reset(bad, "t", 0), Error);
  }
  std::string zero_restarts(8, '\0');
  CHECK_THROWS_AS(it.reset(zero_restarts, "t", 0), Error);
  std::string huge_count = build_block(make_entries(20));
  encode_fixed32(huge_count.data() + huge_count.size() - 4, 0x7fffffff);
  try {
    it.reset(huge_count, "blk.sst", 4096);
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::Corruption);
    CHECK_THAT(e.what(), Catch::Contains("blk.sst") && Catch::Contains("offset"));
  }
  // A restart offset pointing past the entries is caught when it is used.
  std::string bad_restart = build_block(make_entries(40));
  encode_fixed32(bad_restart.data() + bad_restart.size() - 8, 0xffffff);
  it.reset(bad_restart, "t", 0);
  CHECK_THROWS_AS(it.seek(make_entries(40)[39].key), Error);
  CHECK_FALSE(it.valid());
}

TEST_CASE("Damaged block entries throw Corruption", "[engine][sst][block]") {
  const auto entries = make_entries(30);
  BlockIter it;
  SECTION("varint running past the entries") {
    std::string block = build_block(entries);
    for (int i = 0; i < 3; ++i) block[i] = '\xff';
    it.reset(block, "t", 0);
    CHECK(only_corruption([&] { iterate_all(it); }));
  }
  SECTION("value length running past the entries") {
    std::string block = build_block({entries[0]});  // value shorter than 127 bytes
    block[2] = '\x7f';
    it.reset(block, "t", 0);
    CHECK(only_corruption([&] { iterate_all(it); }));
  }
  SECTION("key shorter than an internal key") {
    BlockBuilder b;
    b.add("short", "v");
    const std::string block(b.finish());
    it.reset(block, "t", 0);
    CHECK(only_corruption([&] { iterate_all(it); }));
  }
  SECTION("shared prefix at a restart point") {
    std::string block = build_block(entries);
    block[0] = '\x05';
    it.reset(block, "t", 0);
    CHECK(only_corruption([&] { iterate_all(it); }));
    it.reset(block, "t", 0);
    CHECK(only_corruption([&] { it.seek(entries[0].key); }));
  }
}

TEST_CASE("Truncated and randomly damaged blocks never read out of bounds",
          "[engine][sst][block]") {
  const auto entries = make_entries(200);
  const std::string block = build_block(entries);
  BlockIter it;
  int thrown = 0;
  for (size_t len = 0; len < block.size(); ++len) {
    // A copy of exactly `len` bytes so ASan sees any overrun.
    const std::string truncated = block.substr(0, len);
    thrown += only_corruption([&] {
      it.reset(truncated, "t", 0);
      iterate_all(it);
      it.seek(entries[len % entries.size()].key);
    });
  }
  CHECK(thrown > static_cast<int>(block.size()) / 2);

  std::mt19937 rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::string damaged = block;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) damaged[rng() % damaged.size()] = static_cast<char>(rng());
    only_corruption([&] {
      it.reset(damaged, "t", 0);
      iterate_all(it);
      for (int s = 0; s < 4; ++s) it.seek(entries[rng() % entries.size()].key);
    });
  }
}

TEST_CASE("The block trailer detects any damaged byte", "[engine][sst][block]") {
  std::string buf = "prefix";
  const size_t start = buf.size();
  buf += build_block(make_entries(50));
  append_block_trailer(&buf, start, 2);
  const std::string_view stored(buf.data() + start, buf.size() - start);
  REQUIRE(block_checksum_ok(stored));
  CHECK(static_cast<uint8_t>(stored[stored.size() - 5]) == 2);
  for (size_t i = 0; i < stored.size(); ++i) {
    std::string copy(stored);
    copy[i] = static_cast<char>(copy[i] ^ 0x10);
    REQUIRE_FALSE(block_checksum_ok(copy));
  }
  CHECK_FALSE(block_checksum_ok("abc"));
}

TEST_CASE("Block handles and table properties round-trip", "[engine][sst][block]") {
  std::string buf;
  encode_block_handle(&buf, {123456789012ull, 4096});
  std::string_view in = buf;
  BlockHandle h;
  REQUIRE(decode_block_handle(&in, &h));
  CHECK(h.offset == 123456789012ull);
  CHECK(h.size == 4096);
  CHECK(in.empty());

  TableProperties p;
  p.num_entries = 10;
  p.num_deletions = 3;
  p.num_data_blocks = 2;
  p.raw_bytes = 9000;
  p.stored_bytes = 4000;
  p.smallest_user_key = std::string("a\0b", 3);
  p.largest_user_key = "zz";
  p.min_ts = -5;
  p.max_ts = INT64_MAX;
  p.max_expire_at = INT64_MIN;
  p.min_seq = 7;
  p.max_seq = kMaxSequence;
  std::string enc;
  encode_table_properties(p, &enc);
  TableProperties q;
  REQUIRE(decode_table_properties(enc, &q));
  CHECK(q.num_entries == 10);
  CHECK(q.num_deletions == 3);
  CHECK(q.num_data_blocks == 2);
  CHECK(q.raw_bytes == 9000);
  CHECK(q.stored_bytes == 4000);
  CHECK(q.smallest_user_key == p.smallest_user_key);
  CHECK(q.largest_user_key == "zz");
  CHECK(q.min_ts == -5);
  CHECK(q.max_ts == INT64_MAX);
  CHECK(q.max_expire_at == INT64_MIN);
  CHECK(q.min_seq == 7);
  CHECK(q.max_seq == kMaxSequence);
  for (size_t len = 0; len < enc.size(); ++len) {
    REQUIRE_FALSE(decode_table_properties(enc.substr(0, len), &q));
  }
  CHECK_FALSE(decode_table_properties(enc + "x", &q));
  std::string wrong_version = enc;
  wrong_version[0] = 9;
  CHECK_FALSE(decode_table_properties(wrong_version, &q));
}

TEST_CASE("Blocks compress and decompress with every codec", "[engine][sst][compression]") {
  const std::string raw = build_block(make_entries(300));
  for (Compression c : {Compression::none(), Compression::lz4(), Compression::zstd(1),
                        Compression::zstd(3), Compression::zstd(19)}) {
    std::string stored = "xx";  // compress_block appends
    const Compression::Kind kind = compress_block(c, raw, &stored);
    CHECK(kind == c.kind());
    stored.erase(0, 2);
    if (kind != Compression::Kind::None) CHECK(stored.size() <= raw.size() - raw.size() / 8);
    std::string out = "junk";
    uncompress_block(static_cast<uint8_t>(kind), stored, &out, "t", 0);
    REQUIRE(out == raw);
  }
}

TEST_CASE("Incompressible blocks are stored uncompressed", "[engine][sst][compression]") {
  std::mt19937 rng(7);
  std::string raw(4096, '\0');
  for (auto& ch : raw) ch = static_cast<char>(rng());
  for (Compression c : {Compression::lz4(), Compression::zstd()}) {
    std::string stored;
    CHECK(compress_block(c, raw, &stored) == Compression::Kind::None);
    CHECK(stored == raw);
  }
  std::string stored;
  CHECK(compress_block(Compression::lz4(), "", &stored) == Compression::Kind::None);
  CHECK(stored.empty());
}

TEST_CASE("Damaged compressed blocks throw Corruption", "[engine][sst][compression]") {
  const std::string raw = build_block(make_entries(300));
  for (Compression c : {Compression::lz4(), Compression::zstd()}) {
    std::string stored;
    const auto kind = static_cast<uint8_t>(compress_block(c, raw, &stored));
    std::string out;
    CHECK_THROWS_AS(uncompress_block(kind, "", &out, "t", 0), Error);
    // A huge length header must be rejected before anything is allocated.
    std::string_view body = stored;
    uint32_t len;
    REQUIRE(get_varint32(&body, &len));
    CHECK(len == raw.size());
    std::string huge;
    put_varint32(&huge, 0xfffffff0u);
    huge += body;
    CHECK(only_corruption([&] { uncompress_block(kind, huge, &out, "t", 0); }));
    for (size_t len = 0; len < stored.size(); len += 7) {
      CHECK(only_corruption([&] { uncompress_block(kind, stored.substr(0, len), &out, "t", 0); }));
    }
    std::mt19937 rng(3);
    for (int round = 0; round < 500; ++round) {
      std::string damaged = stored;
      damaged[rng() % damaged.size()] = static_cast<char>(rng());
      only_corruption([&] { uncompress_block(kind, damaged, &out, "t", 0); });
    }
  }
  std::string out;
  try {
    uncompress_block(9, "abc", &out, "x.sst", 77);
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::Corruption);
    CHECK_THAT(e.what(), Catch::Contains("x.sst") && Catch::Contains("offset 77"));
  }
}
