// Tests of SST files: TableBuilder + Table round trips, seeks, time-range
// block skipping, the block cache, properties, and damaged files.
#include "table.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "block.h"
#include "block_cache.h"
#include "coding.h"
#include "dbformat.h"
#include "flowdb/env.h"
#include "flowdb/error.h"
#include "table_util.h"

using namespace flowdb;
using namespace flowdb::testing;

namespace {

std::string user_key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "sensor/%05d", i);
  return buf;
}

// Sorted entries: `keys` user keys, each with 1-4 timestamps, some with a
// newer deletion on top. ts grows with the key index so that a narrow time
// range covers few blocks. Values are compressible.
std::vector<Entry> make_entries(int keys, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::vector<Entry> out;
  uint64_t seq = 1;
  for (int i = 0; i < keys; ++i) {
    const int versions = 1 + static_cast<int>(rng() % 4);
    for (int v = 0; v < versions; ++v) {
      const int64_t ts = int64_t{i} * 1000 + v * 10 - 5000;
      if (rng() % 6 == 0) {
        std::string value;
        append_entry_value(&value, INT64_MIN, "");
        out.push_back({make_internal_key(user_key(i), ts, seq + 1, ValueType::Deletion), value});
      }
      std::string value;
      const std::string payload(rng() % 120, static_cast<char>('a' + rng() % 4));
      append_entry_value(&value, ts + 1000000 + static_cast<int64_t>(rng() % 100), payload);
      out.push_back({make_internal_key(user_key(i), ts, seq, ValueType::Value), value});
      seq += 2;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return compare_internal_keys(a.key, b.key) < 0; });
  return out;
}

bool same(const std::vector<Entry>& a, const std::vector<Entry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].value != b[i].value) return false;
  }
  return true;
}

// Passes if f returns or throws Corruption; anything else fails the test.
template <typename F>
bool corruption_or_ok(F&& f) {
  try {
    f();
    return false;
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::Corruption);
    return true;
  }
}

TableOptions options(Compression c, size_t block_size = 4096, size_t bloom = 10) {
  TableOptions o;
  o.compression = c;
  o.block_size = block_size;
  o.bloom_bits_per_key = bloom;
  return o;
}

// Offset where the data blocks end (= first metadata block).
uint64_t data_end(const std::string& file) {
  return decode_fixed64(file.data() + file.size() - kFooterSize);
}

}  // namespace

TEST_CASE("A table iterates exactly its input with every compression", "[engine][sst]") {
  const auto entries = make_entries(3000);
  for (Compression c : {Compression::none(), Compression::lz4(), Compression::zstd(3)}) {
    TableProperties props;
    const std::string file = build_table(entries, options(c), &props);
    auto t = open_table(file);
    REQUIRE(same(scan(*t), entries));
    CHECK(t->verify_all_blocks() == t->num_blocks());
    CHECK(t->num_blocks() == props.num_data_blocks);
    if (c.kind() != Compression::Kind::None) CHECK(props.stored_bytes < props.raw_bytes * 0.7);
    if (c.kind() == Compression::Kind::None) CHECK(props.stored_bytes == props.raw_bytes);
    ReadOptions ro;
    ro.verify_checksums = false;
    REQUIRE(same(scan(*t, ro), entries));
  }
}

TEST_CASE("A table seeks to every key and between keys", "[engine][sst]") {
  const auto entries = make_entries(800);
  auto t = open_table(build_table(entries, options(Compression::lz4(), 1024)));
  auto it = t->new_iterator(ReadOptions{});
  for (size_t i = 0; i < entries.size(); ++i) {
    it->seek(entries[i].key);
    REQUIRE(it->valid());
    REQUIRE(it->key() == entries[i].key);
    REQUIRE(it->value() == entries[i].value);
    ParsedInternalKey pk;
    REQUIRE(parse_internal_key(entries[i].key, &pk));
    // Between this entry and the next (an older sequence at the same ts).
    it->seek(make_internal_key(pk.user_key, pk.ts, 0, ValueType::Deletion));
    size_t j = i;
    while (j + 1 < entries.size() && extract_user_key(entries[j + 1].key) == pk.user_key &&
           extract_ts(entries[j + 1].key) == pk.ts) {
      ++j;
    }
    if (j + 1 < entries.size()) {
      // (seq 0, Deletion) sorts after every entry at (user_key, ts).
      REQUIRE(it->valid());
      REQUIRE(it->key() == entries[j + 1].key);
    }
  }
  it->seek(make_internal_key("", INT64_MIN, kMaxSequence, ValueType::Value));
  REQUIRE(it->valid());
  CHECK(it->key() == entries.front().key);
  it->seek(make_internal_key("sensor/99999", 0, 0, ValueType::Value));
  CHECK_FALSE(it->valid());
  // Seek then scan forward crosses block boundaries.
  it->seek(entries[100].key);
  for (size_t i = 100; i < 400; ++i, it->next()) {
    REQUIRE(it->valid());
    REQUIRE(it->key() == entries[i].key);
  }
}

TEST_CASE("Data blocks are cut at block_size bytes", "[engine][sst]") {
  const auto entries = make_entries(4000);
  size_t max_entry = 0;
  for (const auto& e : entries) max_entry = std::max(max_entry, e.key.size() + e.value.size() + 6);
  for (size_t block_size : {256, 1024, 4096, 16384}) {
    TableProperties props;
    build_table(entries, options(Compression::none(), block_size), &props);
    const double expected = static_cast<double>(props.raw_bytes) / block_size;
    INFO("block_size " << block_size << " blocks " << props.num_data_blocks);
    CHECK(props.num_data_blocks <= expected + 1);
    CHECK(props.num_data_blocks >= props.raw_bytes / (block_size + max_entry + 8));
    CHECK(props.num_data_blocks >= expected * 0.8);
  }
}

TEST_CASE("Table properties describe the entries", "[engine][sst]") {
  const auto entries = make_entries(1500);
  TableProperties built;
  const std::string file = build_table(entries, options(Compression::zstd()), &built);
  auto t = open_table(file);
  const TableProperties& p = t->properties();

  uint64_t deletions = 0, min_seq = UINT64_MAX, max_seq = 0;
  int64_t min_ts = INT64_MAX, max_ts = INT64_MIN, max_expire = INT64_MIN;
  for (const auto& e : entries) {
    ParsedInternalKey pk;
    REQUIRE(parse_internal_key(e.key, &pk));
    if (pk.type == ValueType::Deletion) {
      ++deletions;
    } else {
      max_expire = std::max(max_expire, entry_expire_at(e.value));
    }
    min_ts = std::min(min_ts, pk.ts);
    max_ts = std::max(max_ts, pk.ts);
    min_seq = std::min(min_seq, pk.seq);
    max_seq = std::max(max_seq, pk.seq);
  }
  for (const TableProperties* q : {&p, static_cast<const TableProperties*>(&built)}) {
    CHECK(q->num_entries == entries.size());
    CHECK(q->num_deletions == deletions);
    CHECK(deletions > 0);
    CHECK(q->num_data_blocks == t->num_blocks());
    CHECK(q->smallest_user_key == user_key(0));
    CHECK(q->largest_user_key == user_key(1499));
    CHECK(q->min_ts == min_ts);
    CHECK(q->max_ts == max_ts);
    CHECK(q->max_expire_at == max_expire);
    CHECK(q->min_seq == min_seq);
    CHECK(q->max_seq == max_seq);
    CHECK(q->raw_bytes > q->stored_bytes);
  }
  CHECK(p.stored_bytes + p.num_data_blocks * kBlockTrailerSize == data_end(file));
  CHECK(t->memory_usage() > 0);
}

TEST_CASE("max_expire_at ignores deletions", "[engine][sst]") {
  std::vector<Entry> entries;
  std::string del, val;
  append_entry_value(&del, INT64_MIN, "");
  entries.push_back({make_internal_key("a", 1, 2, ValueType::Deletion), del});
  TableProperties p;
  build_table(entries, options(Compression::lz4()), &p);
  CHECK(p.max_expire_at == INT64_MIN);
  CHECK(p.num_deletions == 1);
  append_entry_value(&val, 42, "v");
  entries.push_back({make_internal_key("b", 1, 1, ValueType::Value), val});
  build_table(entries, options(Compression::lz4()), &p);
  CHECK(p.max_expire_at == 42);
}

TEST_CASE("An empty table opens and iterates nothing", "[engine][sst]") {
  TableProperties props;
  const std::string file = build_table({}, options(Compression::lz4()), &props);
  auto t = open_table(file);
  CHECK(t->num_blocks() == 0);
  CHECK(t->properties().num_entries == 0);
  CHECK(t->properties().max_expire_at == INT64_MIN);
  CHECK(scan(*t).empty());
  auto it = t->new_iterator(ReadOptions{});
  it->seek(make_internal_key("a", 0, 1, ValueType::Value));
  CHECK_FALSE(it->valid());
  CHECK(t->verify_all_blocks() == 0);
  CHECK_FALSE(t->may_contain("a"));
}

TEST_CASE("The table builder rejects bad input", "[engine][sst]") {
  StringSink sink;
  TableBuilder b(options(Compression::none()), &sink);
  std::string v;
  append_entry_value(&v, 0, "x");
  b.add(make_internal_key("b", 5, 1, ValueType::Value), v);
  CHECK_THROWS_AS(b.add(make_internal_key("a", 5, 1, ValueType::Value), v), Error);
  CHECK_THROWS_AS(b.add(make_internal_key("b", 5, 1, ValueType::Value), v), Error);
  CHECK_THROWS_AS(b.add("short", v), Error);
  CHECK_THROWS_AS(b.add(make_internal_key("c", 5, 1, ValueType::Value), "1234567"), Error);
  b.add(make_internal_key("b", 5, 0, ValueType::Value), v);  // older seq sorts after
  b.finish();
  auto t = open_table(sink.data);
  CHECK(scan(*t).size() == 2);
}

TEST_CASE("The Bloom filter answers for user keys", "[engine][sst][bloom]") {
  const auto entries = make_entries(2000);
  auto t = open_table(build_table(entries, options(Compression::lz4())));
  for (int i = 0; i < 2000; ++i) REQUIRE(t->may_contain(user_key(i)));
  int fp = 0;
  for (int i = 2000; i < 12000; ++i) fp += t->may_contain(user_key(i));
  CHECK(fp < 200);
  auto no_filter = open_table(build_table(entries, options(Compression::lz4(), 4096, 0)));
  CHECK(no_filter->may_contain("anything"));
  CHECK(no_filter->memory_usage() < t->memory_usage());
}

TEST_CASE("A narrow time range reads fewer blocks", "[engine][sst]") {
  const auto entries = make_entries(3000);
  ReadCounters counters;
  auto t = open_table(build_table(entries, options(Compression::lz4(), 2048)), nullptr, &counters);
  const uint64_t blocks = t->num_blocks();
  REQUIRE(blocks > 20);
  scan(*t);
  CHECK(counters.blocks_read == blocks);
  CHECK(counters.blocks_from_disk == blocks);
  counters.blocks_read = 0;

  const int64_t t0 = 1000 * 1000 - 5000, t1 = 1100 * 1000 - 5000;  // keys ~1000..1100
  const auto got = scan(*t, ReadOptions{}, t0, t1);
  CHECK(counters.blocks_read < blocks / 5);
  CHECK(counters.blocks_read > 0);
  // Every entry in the range is returned, in order; skipped blocks hold none.
  std::vector<Entry> want;
  for (const auto& e : entries) {
    if (extract_ts(e.key) >= t0 && extract_ts(e.key) <= t1) want.push_back(e);
  }
  std::vector<Entry> got_in_range;
  for (const auto& e : got) {
    if (extract_ts(e.key) >= t0 && extract_ts(e.key) <= t1) got_in_range.push_back(e);
  }
  CHECK(same(got_in_range, want));
  CHECK(got.size() < entries.size() / 5);

  // Seeks honour the range too.
  counters.blocks_read = 0;
  auto it = t->new_iterator(ReadOptions{}, t0, t1);
  it->seek(entries.front().key);
  REQUIRE(it->valid());
  CHECK(extract_ts(it->key()) >= t0 - 50000);
  CHECK(counters.blocks_read == 1);
  // A range outside the table reads nothing.
  counters.blocks_read = 0;
  CHECK(scan(*t, ReadOptions{}, INT64_MAX - 5, INT64_MAX).empty());
  CHECK(scan(*t, ReadOptions{}, INT64_MIN, -6000).empty());
  CHECK(counters.blocks_read == 0);
}

TEST_CASE("Blocks come from the cache when present", "[engine][sst][cache]") {
  const auto entries = make_entries(2000);
  const std::string file = build_table(entries, options(Compression::zstd()));
  BlockCache cache(64 << 20);
  ReadCounters c;
  auto t = open_table(file, &cache, &c, 7);
  const uint64_t blocks = t->num_blocks();

  ReadOptions no_fill;
  no_fill.fill_cache = false;
  REQUIRE(same(scan(*t, no_fill), entries));
  CHECK(c.cache_misses == blocks);
  CHECK(cache.usage() == 0);

  REQUIRE(same(scan(*t), entries));
  CHECK(c.cache_misses == 2 * blocks);
  CHECK(c.blocks_from_disk == 2 * blocks);
  CHECK(cache.usage() == t->properties().raw_bytes);

  REQUIRE(same(scan(*t), entries));
  CHECK(c.cache_hits == blocks);
  CHECK(c.blocks_from_disk == 2 * blocks);
  CHECK(c.blocks_read == 3 * blocks);
  CHECK(c.bloom_skips == 0);

  cache.erase_file(7);
  CHECK(cache.usage() == 0);
  REQUIRE(same(scan(*t), entries));
  CHECK(c.blocks_from_disk == 3 * blocks);
}

TEST_CASE("Iterators keep their table alive", "[engine][sst]") {
  const auto entries = make_entries(500);
  BlockCache cache(1 << 20);
  auto t = open_table(build_table(entries, options(Compression::lz4(), 1024)), &cache);
  auto it = t->new_iterator(ReadOptions{});
  t.reset();
  size_t n = 0;
  for (it->seek_to_first(); it->valid(); it->next()) REQUIRE(it->key() == entries[n++].key);
  CHECK(n == entries.size());
}

TEST_CASE("A table serves concurrent iterators", "[engine][sst]") {
  const auto entries = make_entries(2000);
  BlockCache cache(256 * 1024);  // small: forces evictions while reading
  ReadCounters counters;
  auto t = open_table(build_table(entries, options(Compression::lz4(), 1024)), &cache, &counters);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 6; ++th) {
    threads.emplace_back([&, th] {
      std::mt19937 rng(th);
      for (int round = 0; round < 20; ++round) {
        auto it = t->new_iterator(ReadOptions{});
        const size_t start = rng() % entries.size();
        it->seek(entries[start].key);
        for (size_t i = start; i < std::min(entries.size(), start + 300); ++i, it->next()) {
          if (!it->valid() || it->key() != entries[i].key || it->value() != entries[i].value) {
            failures++;
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(counters.cache_hits + counters.cache_misses == counters.blocks_read);
}

TEST_CASE("A damaged data block is reported as Corruption", "[engine][sst][corruption]") {
  const auto entries = make_entries(1000);
  for (Compression c : {Compression::none(), Compression::lz4(), Compression::zstd()}) {
    const std::string file = build_table(entries, options(c, 2048));
    const uint64_t end = data_end(file);
    std::mt19937 rng(11);
    for (int round = 0; round < 60; ++round) {
      std::string damaged = file;
      const size_t pos = rng() % end;
      damaged[pos] = static_cast<char>(damaged[pos] ^ (1 + rng() % 255));
      auto t = open_table(damaged);  // metadata is intact
      try {
        scan(*t);
        FAIL("no Corruption for damage at " << pos);
      } catch (const Error& e) {
        REQUIRE(e.code() == Errc::Corruption);
        CHECK_THAT(e.what(), Catch::Contains("000001.sst") && Catch::Contains("at offset"));
      }
      CHECK_THROWS_AS(t->verify_all_blocks(), Error);
      // Without checksums: Corruption from decompression/parsing, or data.
      ReadOptions ro;
      ro.verify_checksums = false;
      ro.fill_cache = false;
      corruption_or_ok([&] {
        auto it = t->new_iterator(ro);
        for (it->seek_to_first(); it->valid(); it->next()) {
          (void)it->key();
          (void)it->value();
        }
        for (int s = 0; s < 20; ++s) it->seek(entries[rng() % entries.size()].key);
      });
    }
  }
}

TEST_CASE("Any damaged metadata byte fails open with Corruption", "[engine][sst][corruption]") {
  const auto entries = make_entries(300);
  for (size_t bloom : {10, 0}) {
    const std::string file = build_table(entries, options(Compression::lz4(), 1024, bloom));
    const uint64_t end = data_end(file);
    for (size_t pos = end; pos < file.size(); ++pos) {
      for (int bit : {0, 7}) {
        std::string damaged = file;
        damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << bit));
        try {
          open_table(damaged);
          FAIL("opened despite damage at " << pos);
        } catch (const Error& e) {
          REQUIRE(e.code() == Errc::Corruption);
        }
      }
    }
  }
}

TEST_CASE("A truncated table fails open with Corruption", "[engine][sst][corruption]") {
  const std::string file = build_table(make_entries(300), options(Compression::lz4(), 1024));
  for (size_t len = 0; len < file.size(); len += (len < 200 || len + 200 > file.size()) ? 1 : 37) {
    const std::string cut = file.substr(0, len);
    CHECK_THROWS_AS(open_table(cut), Error);
    try {
      open_table(cut);
    } catch (const Error& e) {
      REQUIRE(e.code() == Errc::Corruption);
    }
  }
  // A file shorter than the size the caller believes.
  auto src = std::make_unique<StringSource>(file.substr(0, file.size() - 100));
  CHECK_THROWS_AS(Table::open(std::move(src), file.size(), 1, "x.sst", nullptr, nullptr), Error);
}

TEST_CASE("Random bytes never crash the table reader", "[engine][sst][corruption]") {
  std::mt19937 rng(5);
  const std::string good = build_table(make_entries(200), options(Compression::zstd(), 512));
  const std::string footer = good.substr(good.size() - kFooterSize);
  for (int round = 0; round < 300; ++round) {
    std::string junk(rng() % 4000, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    // Half the time give it a valid magic/version so deeper checks run.
    if (round % 2 == 1) junk += footer.substr(kFooterSize - 12);
    CHECK_THROWS_AS(open_table(junk), Error);
  }
  // Random damage anywhere, then use every entry point.
  for (int round = 0; round < 300; ++round) {
    std::string damaged = good;
    for (int f = 0; f < 3; ++f) damaged[rng() % damaged.size()] = static_cast<char>(rng());
    corruption_or_ok([&] {
      auto t = open_table(damaged);
      ReadOptions ro;
      ro.verify_checksums = round % 2 == 0;
      scan(*t, ro);
      t->may_contain("sensor/00001");
      t->verify_all_blocks();
    });
  }
}

TEST_CASE("A table round-trips through the POSIX Env", "[engine][sst]") {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("flowdb_table_test_" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  const std::string path = (dir / "000042.sst").string();
  Env* env = Env::posix();
  const auto entries = make_entries(2500);
  {
    auto f = env->new_writable_file(path);
    TableBuilder b(options(Compression::lz4()), f.get());
    for (const auto& e : entries) b.add(e.key, e.value);
    b.finish();
    f->sync();
    f->close();
    CHECK(env->get_file_size(path) == b.file_size());
  }
  BlockCache cache(8 << 20);
  auto t = Table::open(env->new_random_access_file(path), env->get_file_size(path), 42, path,
                       &cache, nullptr);
  CHECK(same(scan(*t), entries));
  CHECK(same(scan(*t), entries));
  CHECK(t->verify_all_blocks() == t->num_blocks());
  t.reset();
  fs::remove_all(dir);
}
