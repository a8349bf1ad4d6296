// MemTable: ordering, point and backward seeks, and concurrent readers
// against the two-level (series list, per-series entry lists) layout.
#include "memtable.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "dbformat.h"

using namespace flowdb;

namespace {

struct Entry {
  std::string key;  // internal key
  std::string value;
};

Entry make_entry(const std::string& user_key, int64_t ts, uint64_t seq, ValueType t,
                 const std::string& value) {
  return Entry{make_internal_key(user_key, ts, seq, t), value};
}

bool entry_less(const Entry& a, const Entry& b) { return compare_internal_keys(a.key, b.key) < 0; }

std::vector<Entry> scan_all(const MemTable& m) {
  std::vector<Entry> out;
  auto it = m.new_iterator();
  for (it->seek_to_first(); it->valid(); it->next()) {
    out.push_back(Entry{std::string(it->key()), std::string(it->value())});
  }
  return out;
}

// Random keys (a few series, some sharing prefixes), ts, values of every
// size class (empty, small, larger than a per-series chunk), unique seqs.
std::vector<Entry> random_entries(std::mt19937_64& rng, size_t n, size_t series) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < series; ++i) {
    std::string k = "s" + std::to_string(rng() % 1000);
    if (i % 3 == 0) k += std::string(1, '\0') + "x";  // binary bytes in keys
    keys.push_back(k);
  }
  keys.push_back("");  // the empty user key is a key too
  std::vector<Entry> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string& k = keys[rng() % keys.size()];
    const int64_t ts = static_cast<int64_t>(rng() % 200) - 100;
    const ValueType t = rng() % 5 == 0 ? ValueType::Deletion : ValueType::Value;
    const size_t vlen = rng() % 10 == 0 ? 600 + rng() % 2000 : rng() % 40;
    out.push_back(make_entry(k, ts, i + 1, t, std::string(vlen, static_cast<char>('a' + i % 26))));
  }
  return out;
}

}  // namespace

TEST_CASE("A memtable iterates its entries in internal-key order whatever the insert order",
          "[engine][memtable]") {
  std::mt19937_64 rng(11);
  for (size_t series : {1u, 5u, 300u}) {
    auto entries = random_entries(rng, 3000, series);
    MemTable m;
    for (const auto& e : entries) m.add(e.key, e.value);
    std::sort(entries.begin(), entries.end(), entry_less);
    const auto got = scan_all(m);
    REQUIRE(got.size() == entries.size());
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("series=" << series << " i=" << i);
      REQUIRE(got[i].key == entries[i].key);
      REQUIRE(got[i].value == entries[i].value);
    }
    CHECK(m.num_entries() == entries.size());
  }
}

TEST_CASE("A memtable iterator seeks to every key and between keys", "[engine][memtable]") {
  std::mt19937_64 rng(12);
  auto entries = random_entries(rng, 2000, 40);
  MemTable m;
  for (const auto& e : entries) m.add(e.key, e.value);
  std::sort(entries.begin(), entries.end(), entry_less);
  auto it = m.new_iterator();
  for (size_t i = 0; i < entries.size(); ++i) {
    it->seek(entries[i].key);
    REQUIRE(it->valid());
    REQUIRE(it->key() == entries[i].key);
    // A target just after this entry lands on the next one (or the end).
    ParsedInternalKey k;
    REQUIRE(parse_internal_key(entries[i].key, &k));
    if (k.seq > 0) {
      it->seek(make_internal_key(k.user_key, k.ts, k.seq - 1, ValueType::Value));
      if (i + 1 < entries.size()) {
        REQUIRE(it->valid());
        REQUIRE(it->key() == entries[i + 1].key);
      } else {
        REQUIRE_FALSE(it->valid());
      }
    }
  }
  // Past every key, and before every key.
  it->seek(make_internal_key("\xff\xff\xff", 0, kMaxSequence, ValueType::Value));
  CHECK_FALSE(it->valid());
  it->seek(
      make_internal_key("", std::numeric_limits<int64_t>::min(), kMaxSequence, ValueType::Value));
  REQUIRE(it->valid());
  CHECK(it->key() == entries.front().key);
}

TEST_CASE("Memtable seek finds the newest version at or below a sequence", "[engine][memtable]") {
  MemTable m;
  m.add(make_internal_key("a", 10, 1, ValueType::Value), "v1");
  m.add(make_internal_key("a", 10, 5, ValueType::Deletion), "");
  m.add(make_internal_key("a", 10, 9, ValueType::Value), "v9");
  m.add(make_internal_key("a", 20, 3, ValueType::Value), "w3");
  m.add(make_internal_key("b", 10, 2, ValueType::Value), "b2");
  ParsedInternalKey k;
  std::string_view v;
  REQUIRE(m.seek(make_internal_key("a", 10, 100, ValueType::Value), &k, &v));
  CHECK((k.user_key == "a" && k.ts == 10 && k.seq == 9 && v == "v9"));
  REQUIRE(m.seek(make_internal_key("a", 10, 8, ValueType::Value), &k, &v));
  CHECK((k.seq == 5 && k.type == ValueType::Deletion));
  REQUIRE(m.seek(make_internal_key("a", 10, 4, ValueType::Value), &k, &v));
  CHECK((k.seq == 1 && v == "v1"));
  // Below every version of ts 10 the next entry of the key is ts 20.
  REQUIRE(m.seek(make_internal_key("a", 10, 0, ValueType::Deletion), &k, &v));
  CHECK((k.ts == 20 && k.seq == 3));
  CHECK_FALSE(m.seek(make_internal_key("a", 21, 100, ValueType::Value), &k, &v));
  CHECK_FALSE(m.seek(make_internal_key("c", 0, 100, ValueType::Value), &k, &v));
  CHECK_FALSE(m.seek(make_internal_key("", 0, 100, ValueType::Value), &k, &v));
}

TEST_CASE("Memtable seek_last finds the last entry of a key at or before a target",
          "[engine][memtable]") {
  MemTable m;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    m.add(make_internal_key("k", 100, seq, ValueType::Value), "x" + std::to_string(seq));
  }
  m.add(make_internal_key("k", 200, 4, ValueType::Value), "y");
  m.add(make_internal_key("j", 500, 5, ValueType::Value), "other key before");
  m.add(make_internal_key("l", 50, 6, ValueType::Value), "other key after");
  ParsedInternalKey k;
  std::string_view v;
  auto last = [&](int64_t ts) {
    return m.seek_last(make_internal_key("k", ts, 0, ValueType::Deletion), &k, &v);
  };
  REQUIRE(last(std::numeric_limits<int64_t>::max()));
  CHECK((k.user_key == "k" && k.ts == 200 && v == "y"));
  REQUIRE(last(199));
  CHECK((k.ts == 100 && k.seq == 1));  // the oldest version of ts 100
  REQUIRE(last(100));
  CHECK((k.ts == 100 && k.seq == 1));
  CHECK_FALSE(last(99));  // nothing of "k" at or before 99 (not "j"'s entry)
  // A target with a high sequence stops before lower versions of its ts.
  REQUIRE(m.seek_last(make_internal_key("k", 100, 2, ValueType::Value), &k, &v));
  CHECK(k.seq == 2);
  CHECK_FALSE(m.seek_last(make_internal_key("m", 1000, 0, ValueType::Deletion), &k, &v));
}

TEST_CASE("A long series in random order keeps its order and backward seeks",
          "[engine][memtable]") {
  // Thousands of entries in one series make entries taller than the
  // inline heads, so the head tower grows while the list is in use.
  std::mt19937_64 rng(13);
  std::vector<int64_t> ts(20000);
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = static_cast<int64_t>(i) * 3;
  std::shuffle(ts.begin(), ts.end(), rng);
  MemTable m;
  uint64_t seq = 0;
  for (int64_t t : ts) m.add(make_internal_key("series", t, ++seq, ValueType::Value), "v");
  const auto got = scan_all(m);
  REQUIRE(got.size() == ts.size());
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(extract_ts(got[i].key) == int64_t(i) * 3);
  ParsedInternalKey k;
  std::string_view v;
  for (int i = 0; i < 500; ++i) {
    const int64_t probe = static_cast<int64_t>(rng() % 60000);
    REQUIRE(m.seek_last(make_internal_key("series", probe, 0, ValueType::Deletion), &k, &v));
    REQUIRE(k.ts == probe / 3 * 3);
    const bool found =
        m.seek(make_internal_key("series", probe, kMaxSequence, ValueType::Value), &k, &v);
    REQUIRE(found == (probe <= 59997));
    if (found) REQUIRE(k.ts == (probe + 2) / 3 * 3);
  }
  CHECK(m.min_ts() == 0);
  CHECK(m.max_ts() == 59997);
  CHECK(m.approximate_memory_usage() > 20000 * 32);
}

TEST_CASE("Memtable readers see a consistent list while the writer inserts",
          "[engine][memtable][concurrency]") {
  // The writer appends time-series points to many series (mostly in order,
  // some late), publishing a watermark after each batch; readers check
  // order and that every entry at or below the watermark they read is there.
  MemTable m;
  constexpr int kSeries = 50, kRounds = 400;
  std::atomic<uint64_t> published{0};
  std::atomic<bool> done{false}, ok{true};
  auto key_of = [](int s) { return "series-" + std::to_string(s * 7919 % 1000); };
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(r);
      while (!done.load()) {
        const uint64_t seen = published.load(std::memory_order_acquire);
        // Full scan: sorted, and complete up to `seen` entries.
        uint64_t count_at_or_below = 0;
        std::string prev;
        auto it = m.new_iterator();
        for (it->seek_to_first(); it->valid(); it->next()) {
          if (!prev.empty() && compare_internal_keys(prev, it->key()) >= 0) ok = false;
          prev.assign(it->key());
          if (extract_seq_type(it->key()) >> 8 <= seen) ++count_at_or_below;
        }
        if (count_at_or_below != seen) ok = false;
        // A backward seek on one series.
        ParsedInternalKey k;
        std::string_view v;
        const int s = static_cast<int>(rng() % kSeries);
        if (seen > kSeries * 2 &&
            !m.seek_last(make_internal_key(key_of(s), std::numeric_limits<int64_t>::max(), 0,
                                           ValueType::Deletion),
                         &k, &v)) {
          ok = false;
        }
      }
    });
  }
  uint64_t seq = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int s = 0; s < kSeries; ++s) {
      const int64_t ts = (round % 10 == 9) ? round - 5 : round;  // a few late points
      m.add(make_internal_key(key_of(s), ts * 1000 + s, ++seq, ValueType::Value), "value");
    }
    published.store(seq, std::memory_order_release);
  }
  done = true;
  for (auto& t : readers) t.join();
  CHECK(ok);
  CHECK(scan_all(m).size() == seq);
}

TEST_CASE("Series added while the hash index grows are found again - none is listed twice",
          "[engine][memtable]") {
  // 100,000 series pass many growth points of the index (256 slots doubling
  // to 262,144); between two growths the old table is still being drained,
  // so a later point of a series is looked up in either table. A missed
  // lookup links a second series of the same key in front of the first: its
  // newer points then come before the older ones, out of order.
  MemTable m;
  constexpr int kSeries = 100'000;
  auto key = [](int i) { return "series-" + std::to_string((i * 7919) % kSeries); };
  uint64_t seq = 0;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kSeries; ++i) {
      const Entry e = make_entry(key(i), round * 10, ++seq, ValueType::Value, "v");
      m.add(e.key, e.value);
      if (round == 0 && i % 100 == 0) {  // an earlier series gets a point mid-growth
        const Entry again = make_entry(key(i / 2), 5, ++seq, ValueType::Value, "w");
        m.add(again.key, again.value);
      }
    }
  }
  const std::vector<Entry> all = scan_all(m);
  REQUIRE(all.size() == 2 * kSeries + kSeries / 100);
  size_t out_of_order = 0;
  for (size_t i = 1; i < all.size(); ++i) {
    if (!entry_less(all[i - 1], all[i])) ++out_of_order;
  }
  CHECK(out_of_order == 0);
  std::map<std::string, int> per_key;
  for (const Entry& e : all) ++per_key[std::string(extract_user_key(e.key))];
  CHECK(per_key.size() == kSeries);
  CHECK(per_key[key(0)] == 3);  // rounds 0 and 1, and the point added at i = 0
  CHECK(per_key[key(1)] == 2);
}
