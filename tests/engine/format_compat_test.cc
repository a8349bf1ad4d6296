// Table format 2 (expire_at relative to ts) and reading stores of format 1:
// a store written by the engine before the change (testdata/v1_store, made
// by testdata/make_v1_store.cc) opens, reads back exactly, and compacts into
// format 2; format-2 tables round-trip every expire_at, sentinels included.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "block.h"
#include "coding.h"
#include "dbformat.h"
#include "flowdb/engine.h"
#include "flowdb/error.h"
#include "table_util.h"
#include "temp_dir.h"

using namespace flowdb;
using namespace flowdb::testing;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000;
constexpr int64_t kFar = 4'102'444'800'000'000;

// What make_v1_store.cc wrote, as visible now: key -> ts -> (expire_at, value).
std::map<std::string, std::map<int64_t, std::pair<int64_t, std::string>>> expected_v1() {
  std::map<std::string, std::map<int64_t, std::pair<int64_t, std::string>>> m;
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < 120; ++i) {
      if (s == 1 && i < 10) continue;  // deleted
      const int64_t ts = kT0 + int64_t{i} * 90'000'000;
      m["s" + std::to_string(s)][ts] = {i % 2 == 1 ? kFar + i : kNeverExpires,
                                        "v" + std::to_string(s * 1000 + i)};
    }
  }
  m["s2"][kT0 + 5 * 90'000'000] = {kNeverExpires, "overwritten"};
  return m;
}

void check_content(Engine& db) {
  const auto want = expected_v1();
  size_t n = 0;
  auto it = db.scan(ScanRange::all());
  while (const Record* r = it.next()) {
    INFO(r->key << " @" << r->ts);
    REQUIRE(want.count(r->key) == 1);
    const auto& series = want.at(r->key);
    REQUIRE(series.count(r->ts) == 1);
    CHECK(r->expire_at == series.at(r->ts).first);
    CHECK(r->value == series.at(r->ts).second);
    ++n;
  }
  CHECK(n == 4 * 120 - 10);
  CHECK_FALSE(db.get("gone", kT0).has_value());
  CHECK_FALSE(db.get("s1", kT0 + 9 * 90'000'000).has_value());
  CHECK(db.get_latest("s3")->value == "v3119");
}

// The table format version in each SST's footer.
std::vector<uint32_t> footer_versions(const fs::path& dir) {
  std::vector<uint32_t> out;
  for (const auto& e : fs::directory_iterator(dir / "sst")) {
    if (e.path().extension() != ".sst") continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    REQUIRE(bytes.size() >= kFooterSize);
    out.push_back(decode_fixed32(bytes.data() + bytes.size() - 12));
  }
  return out;
}

}  // namespace

TEST_CASE("A store written with table format 1 opens, reads back and compacts into format 2",
          "[engine][sst][format]") {
  TempDir dir;
  const fs::path store = fs::path(dir.path()) / "store";
  fs::copy(fs::path(FLOWDB_ENGINE_TESTDATA) / "v1_store", store, fs::copy_options::recursive);
  const auto before = footer_versions(store);
  REQUIRE(before.size() == 5);
  for (uint32_t v : before) CHECK(v == 1);

  Config c;
  c.data_dir = store.string();
  c.create_if_missing = false;
  {
    auto db = Engine::open(c);
    check_content(*db);
    // The bucket of two tables (puts, then deletions) merges into one table
    // of format 2; the single-table buckets stay in format 1 beside it.
    int merged = 0;
    for (const BucketInfo& b : db->list_buckets()) merged += db->compact_bucket(b.bucket);
    CHECK(merged == 1);
    check_content(*db);
    db->close();
  }
  auto after = footer_versions(store);
  std::sort(after.begin(), after.end());
  CHECK(after == std::vector<uint32_t>{1, 1, 1, 2});
  auto db = Engine::open(c);
  check_content(*db);
}

TEST_CASE("Format 2 stores expire_at relative to ts and reads it back absolute",
          "[engine][sst][format]") {
  // One TTL for every point, as a gateway writes them; plus the sentinels and
  // the edges of the relative encoding.
  std::vector<Entry> entries;
  uint64_t seq = 1;
  const auto add = [&](const std::string& key, int64_t ts, int64_t expire_at, ValueType type) {
    std::string v;
    append_entry_value(&v, expire_at, type == ValueType::Value ? "payload" : "");
    entries.push_back({make_internal_key(key, ts, seq++, type), v});
  };
  for (int i = 0; i < 20000; ++i) {
    const int64_t ts = kT0 + int64_t{i} * 10'000'000;
    add("ttl/" + std::to_string(i % 50), ts, ts + 3600'000'000, ValueType::Value);
  }
  add("z/deleted", 5, INT64_MIN, ValueType::Deletion);
  add("z/edge", -7, -7, ValueType::Value);  // expires at its own ts
  add("z/negative", INT64_MIN + 1, 100, ValueType::Value);
  add("z/never", kT0, kNeverExpires, ValueType::Value);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return compare_internal_keys(a.key, b.key) < 0; });

  TableOptions v1, v2;
  v1.format_version = 1;
  CHECK(v2.format_version == kTableFormatVersion);
  const std::string t1 = build_table(entries, v1), t2 = build_table(entries, v2);
  // Both read back byte for byte the entries that went in.
  const auto r1 = scan(*open_table(t1)), r2 = scan(*open_table(t2));
  REQUIRE(r1.size() == entries.size());
  REQUIRE(r2.size() == entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    INFO(i);
    CHECK(r1[i].value == entries[i].value);
    CHECK(r2[i].value == entries[i].value);
  }
  CHECK(open_table(t2)->verify_all_blocks() > 0);
  // The repeated relative expiry compresses away: format 2 is smaller.
  INFO("format 1: " << t1.size() << " B, format 2: " << t2.size() << " B");
  CHECK(t2.size() * 10 < t1.size() * 9);
}

TEST_CASE("The table builder rejects an unknown format version", "[engine][sst][format]") {
  StringSink sink;
  TableOptions o;
  o.format_version = 3;
  CHECK_THROWS_AS(TableBuilder(o, &sink), Error);
  o.format_version = 0;
  CHECK_THROWS_AS(TableBuilder(o, &sink), Error);
}
