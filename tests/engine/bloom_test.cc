// Tests of the whole-file Bloom filter over user keys.
#include "bloom.h"

#include <catch2/catch.hpp>
#include <string>

using namespace flowdb;

namespace {

std::string key(const char* prefix, int i) { return prefix + std::to_string(i); }

std::string build(size_t bits_per_key, int n, const char* prefix = "present/") {
  BloomFilterBuilder b(bits_per_key);
  for (int i = 0; i < n; ++i) b.add_key(key(prefix, i));
  CHECK(b.num_keys() == static_cast<size_t>(n));
  std::string f;
  b.finish(&f);
  return f;
}

}  // namespace

TEST_CASE("A Bloom filter has no false negatives", "[engine][sst][bloom]") {
  for (int n : {1, 10, 1000, 20000}) {
    for (size_t bits : {1, 5, 10, 20}) {
      const std::string f = build(bits, n);
      for (int i = 0; i < n; ++i) REQUIRE(bloom_may_match(f, key("present/", i)));
    }
  }
}

TEST_CASE("A 10 bits/key Bloom filter has under 2% false positives", "[engine][sst][bloom]") {
  const int n = 100000;
  const std::string f = build(10, n);
  CHECK(f.size() == n * 10 / 8 + 1);
  for (int i = 0; i < n; ++i) REQUIRE(bloom_may_match(f, key("present/", i)));
  int false_positives = 0;
  for (int i = 0; i < 100000; ++i) false_positives += bloom_may_match(f, key("absent/", i));
  const double rate = false_positives / 100000.0;
  INFO("false positive rate " << rate);
  CHECK(rate < 0.02);
  CHECK(rate > 0.0);  // a filter this size cannot be perfect
}

TEST_CASE("Small filters stay useful", "[engine][sst][bloom]") {
  for (int n : {1, 5, 50}) {
    const std::string f = build(10, n);
    CHECK(f.size() >= 9);  // at least 64 bits + k
    int false_positives = 0;
    for (int i = 0; i < 10000; ++i) false_positives += bloom_may_match(f, key("absent/", i));
    CHECK(false_positives < 10000 / 5);
  }
  const std::string empty = build(10, 0);
  CHECK(empty.size() == 9);
  for (int i = 0; i < 100; ++i) CHECK_FALSE(bloom_may_match(empty, key("absent/", i)));
}

TEST_CASE("The probe count is stored in the last byte and clamped", "[engine][sst][bloom]") {
  CHECK(build(10, 100).back() == 6);  // floor(10 * 0.69)
  CHECK(build(1, 100).back() == 1);   // 0.69 -> 1
  CHECK(build(20, 100).back() == 13);
  CHECK(build(100, 100).back() == 30);
  const std::string f = build(100, 100);
  for (int i = 0; i < 100; ++i) REQUIRE(bloom_may_match(f, key("present/", i)));
}

TEST_CASE("A filter of unknown format may match anything", "[engine][sst][bloom]") {
  CHECK(bloom_may_match("", "k"));
  CHECK(bloom_may_match("\x06", "k"));
  std::string zeros(64, '\0');
  CHECK_FALSE(bloom_may_match(zeros + '\x06', "k"));
  CHECK(bloom_may_match(zeros + '\x00', "k"));
  CHECK(bloom_may_match(zeros + '\x1f', "k"));
  CHECK(bloom_may_match(zeros + '\xff', "k"));
}

TEST_CASE("The Bloom hash is stable across platforms", "[engine][sst][bloom]") {
  // The hash is part of the on-disk format: pin a few values.
  const uint64_t empty = bloom_hash("");
  const uint64_t a = bloom_hash("a");
  const uint64_t long_key = bloom_hash("series/host-0001/cpu.user");
  CHECK(empty != a);
  CHECK(a != long_key);
  CHECK(bloom_hash("series/host-0001/cpu.user") == long_key);
  CHECK(bloom_hash(std::string("a\0", 2)) != a);
  CHECK(empty == 0x84d69dcef1e6733aull);
  CHECK(a == 0xb2b29803fc3845c1ull);
  CHECK(long_key == 0xeeafb637e1c0dec8ull);
}
