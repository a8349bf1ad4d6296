#include "ingest/point.h"

#include <catch2/catch.hpp>

namespace flowdb::ingest {
namespace {

TEST_CASE("sort_tags sorts by key and reports duplicates", "[ingest][point]") {
  std::vector<Tag> tags = {{"b", "1"}, {"a", "2"}, {"c", "3"}};
  CHECK(sort_tags(&tags));
  CHECK(tags == std::vector<Tag>{{"a", "2"}, {"b", "1"}, {"c", "3"}});
  std::vector<Tag> dup = {{"b", "1"}, {"a", "2"}, {"b", "3"}};
  CHECK_FALSE(sort_tags(&dup));
  std::vector<Tag> empty;
  CHECK(sort_tags(&empty));
  // Bytewise order: bytes >= 0x80 sort after ASCII.
  std::vector<Tag> bytes = {{"\xc3\xa9", "1"}, {"z", "2"}};
  CHECK(sort_tags(&bytes));
  CHECK(bytes[0].first == "z");
}

TEST_CASE("dedupe_fields keeps the last value at the first position", "[ingest][point]") {
  std::vector<uint32_t> scratch;
  std::vector<Field> f = {{"a", 1.0}, {"b", 2.0}, {"a", 3.0}, {"c", 4.0}, {"a", 5.0}};
  dedupe_fields(&f, &scratch);
  REQUIRE(f.size() == 3);
  CHECK(f[0] == Field{"a", 5.0});
  CHECK(f[1] == Field{"b", 2.0});
  CHECK(f[2] == Field{"c", 4.0});

  std::vector<Field> many;
  for (int i = 0; i < 20; ++i) many.emplace_back("k" + std::to_string(i % 7), int64_t{i});
  dedupe_fields(&many, &scratch);
  REQUIRE(many.size() == 7);
  for (int k = 0; k < 7; ++k) {
    CHECK(many[k].first == "k" + std::to_string(k));
    CHECK(std::get<int64_t>(many[k].second) == k + 14 - (k >= 6 ? 7 : 0));
  }

  std::vector<Field> unique = {{"x", 1.0}, {"y", 2.0}};
  dedupe_fields(&unique, &scratch);
  CHECK(unique.size() == 2);
}

TEST_CASE("upsert_tag inserts in order or replaces", "[ingest][point]") {
  std::vector<Tag> tags;
  upsert_tag(&tags, "m", "1");
  upsert_tag(&tags, "a", "2");
  upsert_tag(&tags, "z", "3");
  upsert_tag(&tags, "m", "4");
  CHECK(tags == std::vector<Tag>{{"a", "2"}, {"m", "4"}, {"z", "3"}});
}

}  // namespace
}  // namespace flowdb::ingest
