#include "ingest/series_key.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

#include "test_util.h"

namespace flowdb::ingest {
namespace {

using testing::printable;
using namespace std::literals;

// Random components over bytes that look like the encoding's own separators.
class KeyGen {
 public:
  explicit KeyGen(uint32_t seed) : rng_(seed) {}

  std::string component(size_t max_len) {
    static const char kBytes[] = {'\x00', '\x01', '\x02', '\xff', 'a', 'b'};
    std::string s(below(max_len + 1), 'a');
    for (char& c : s) c = kBytes[below(sizeof kBytes)];
    return s;
  }

  SeriesKeyParts parts(size_t max_len, size_t max_tags) {
    SeriesKeyParts p;
    p.measurement = component(max_len);
    std::map<std::string, std::string> tags;
    const size_t n = below(max_tags + 1);
    for (size_t i = 0; i < n; ++i) tags[component(max_len)] = component(max_len);
    p.tags.assign(tags.begin(), tags.end());
    p.field = component(max_len);
    return p;
  }

  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

 private:
  std::mt19937 rng_;
};

std::string encode(const SeriesKeyParts& p) {
  std::string key;
  REQUIRE(append_series_key(&key, p.measurement, p.tags, p.field));
  return key;
}

TEST_CASE("Series keys have the documented byte layout", "[ingest][series_key]") {
  const std::vector<Tag> tags = {{"host", "a"}, {"region", "eu"}};
  CHECK(series_key("cpu", tags, "usage") == "cpu\0\1host\0\1a\0\1region\0\1eu\0\1\0\2usage\0\1"s);
  CHECK(series_key("cpu", {}, "usage") == "cpu\0\1\0\2usage\0\1"s);
  CHECK(series_key("", {}, "") == "\0\1\0\2\0\1"s);
  CHECK(series_key("a\0b"s, {}, "\0"s) ==
        "a\0\xff"
        "b\0\1\0\2\0\xff\0\1"s);
  CHECK(measurement_prefix("cpu") == "cpu\0\1"s);
  CHECK(series_prefix("cpu", tags) == "cpu\0\1host\0\1a\0\1region\0\1eu\0\1\0\2"s);
}

TEST_CASE("Prefix plus field suffix equals the full key", "[ingest][series_key]") {
  const std::vector<Tag> tags = {{"t", "v\0"s}};
  std::string key;
  REQUIRE(append_series_prefix(&key, "m", std::span<const Tag>(tags)));
  const size_t prefix_len = key.size();
  append_field_suffix(&key, "f1");
  CHECK(key == series_key("m", tags, "f1"));
  key.resize(prefix_len);
  append_field_suffix(&key, "f2");
  CHECK(key == series_key("m", tags, "f2"));
}

TEST_CASE("TagView overloads encode the same bytes", "[ingest][series_key]") {
  const std::vector<Tag> tags = {{"a", "1"}, {"b\0"s, "2"}};
  const std::vector<TagView> views = {{"a", "1"}, {"b\0"sv, "2"}};
  CHECK(series_prefix("m", std::span<const TagView>(views)) ==
        series_prefix("m", std::span<const Tag>(tags)));
}

TEST_CASE("Unsorted or duplicate tag keys are refused", "[ingest][series_key]") {
  const std::vector<Tag> unsorted = {{"b", "1"}, {"a", "2"}};
  const std::vector<Tag> dup = {{"a", "1"}, {"a", "2"}};
  std::string out = "x";
  CHECK_FALSE(append_series_key(&out, "m", unsorted, "f"));
  CHECK_FALSE(append_series_key(&out, "m", dup, "f"));
  CHECK_FALSE(append_series_prefix(&out, "m", std::span<const Tag>(dup)));
  CHECK(out == "x");
  CHECK(series_key("m", unsorted, "f").empty());
  CHECK(series_prefix("m", std::span<const Tag>(dup)).empty());
}

TEST_CASE("Decoding an encoded key gives back the components", "[ingest][series_key]") {
  KeyGen gen(7);
  for (int i = 0; i < 20000; ++i) {
    const SeriesKeyParts in = gen.parts(5, 3);
    const std::string key = encode(in);
    SeriesKeyParts out;
    INFO("key " << printable(key));
    REQUIRE(decode_series_key(key, &out));
    REQUIRE(out == in);
  }
}

TEST_CASE("Distinct components always give distinct keys", "[ingest][series_key]") {
  // Tiny alphabet and lengths: many inputs differ only around separator-like bytes.
  KeyGen gen(11);
  std::map<std::string, SeriesKeyParts> seen;
  size_t distinct_inputs = 0;
  for (int i = 0; i < 50000; ++i) {
    const SeriesKeyParts p = gen.parts(3, 2);
    const std::string key = encode(p);
    auto [it, inserted] = seen.emplace(key, p);
    if (inserted) {
      ++distinct_inputs;
    } else {
      INFO("collision on " << printable(key));
      REQUIRE(it->second == p);
    }
  }
  CHECK(distinct_inputs > 10000);  // The test really compared many distinct inputs.
}

TEST_CASE("Measurement and series prefixes select exactly their keys", "[ingest][series_key]") {
  KeyGen gen(13);
  std::vector<SeriesKeyParts> parts;
  for (int i = 0; i < 600; ++i) parts.push_back(gen.parts(2, 2));
  size_t same_measurement = 0, same_series = 0;
  for (const auto& x : parts) {
    const std::string mp = measurement_prefix(x.measurement);
    const std::string sp = series_prefix(x.measurement, std::span<const Tag>(x.tags));
    for (const auto& y : parts) {
      const std::string key = encode(y);
      const bool m_eq = x.measurement == y.measurement;
      const bool s_eq = m_eq && x.tags == y.tags;
      same_measurement += m_eq;
      same_series += s_eq;
      if (key.starts_with(mp) != m_eq || key.starts_with(sp) != s_eq) {
        FAIL("prefix mismatch: key " << printable(key) << " mp " << printable(mp) << " sp "
                                     << printable(sp));
      }
    }
  }
  CHECK(same_measurement > 10000);
  CHECK(same_series > 1000);
}

TEST_CASE("Key order follows measurement order and field order", "[ingest][series_key]") {
  KeyGen gen(17);
  for (int i = 0; i < 20000; ++i) {
    const SeriesKeyParts a = gen.parts(4, 2);
    SeriesKeyParts b = gen.parts(4, 2);
    if (a.measurement != b.measurement) {
      CHECK((encode(a) < encode(b)) == (a.measurement < b.measurement));
    }
    b.measurement = a.measurement;
    b.tags = a.tags;
    if (a.field != b.field) CHECK((encode(a) < encode(b)) == (a.field < b.field));
  }
  // The classic trap of separator-based encodings.
  CHECK(series_key("a", {}, "f") < series_key("a\0"s, {}, "f"));
  CHECK(series_key("a\0"s, {}, "f") < series_key("ab", {}, "f"));
}

TEST_CASE("Malformed keys are rejected by decode", "[ingest][series_key]") {
  SeriesKeyParts out;
  for (const std::string& key : {
           ""s,
           "cpu"s,                                   // No terminator.
           "cpu\0"s,                                 // Truncated escape.
           "cpu\0\3\0\2f\0\1"s,                      // Unknown escape.
           "cpu\0\1"s,                               // No tag-set end.
           "cpu\0\1\0\2"s,                           // No field.
           "cpu\0\1\0\2f"s,                          // Unterminated field.
           "cpu\0\1\0\2f\0\1x"s,                     // Trailing bytes.
           "cpu\0\1\0\2f\0\1\0\1"s,                  // Trailing component.
           "cpu\0\1k\0\1\0\2f\0\1"s,                 // Tag key without value.
           "cpu\0\1b\0\1v\0\1a\0\1v\0\1\0\2f\0\1"s,  // Unsorted tags.
           "cpu\0\1a\0\1v\0\1a\0\1w\0\1\0\2f\0\1"s,  // Duplicate tags.
           "cpu\0\1\0\2\0\2f\0\1"s,                  // Double tag-set end.
       }) {
    INFO(printable(key));
    CHECK_FALSE(decode_series_key(key, &out));
  }
}

TEST_CASE("Random byte strings decode only when canonical", "[ingest][series_key]") {
  std::mt19937 rng(23);
  const char kBytes[] = {'\x00', '\x01', '\x02', '\xff', 'a'};
  size_t decoded = 0;
  SeriesKeyParts out;
  for (int i = 0; i < 200000; ++i) {
    std::string s(rng() % 12, 'a');
    for (char& c : s) c = kBytes[rng() % sizeof kBytes];
    if (decode_series_key(s, &out)) {
      ++decoded;
      INFO(printable(s));
      REQUIRE(encode(out) == s);
    }
  }
  CHECK(decoded > 0);
}

}  // namespace
}  // namespace flowdb::ingest
