// Keys: validity, ordering (IndexedDB cmp), the storage encoding, KeyRange.
// Derived from WPT IndexedDB/idbfactory_cmp*.any.js, key_valid.any.js,
// key_invalid.any.js, idbkeyrange*.any.js and the spec's "compare two keys".
#include <cmath>
#include <limits>
#include <random>

#include "jsondb/key_codec.h"
#include "jsondb_test_util.h"

using namespace flowdb;
using namespace flowdb::jsondb;
using namespace flowdb::jsondb::testing;

namespace {

// An independent reference comparator (not via the encoding).
std::vector<uint16_t> utf16(std::string_view s) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    uint32_t cp;
    int n;
    if (c < 0x80) {
      cp = c;
      n = 1;
    } else if (c < 0xE0) {
      cp = c & 0x1F;
      n = 2;
    } else if (c < 0xF0) {
      cp = c & 0x0F;
      n = 3;
    } else {
      cp = c & 0x07;
      n = 4;
    }
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(0xD800 + (cp >> 10));
      out.push_back(0xDC00 + (cp & 0x3FF));
    } else {
      out.push_back(static_cast<uint16_t>(cp));
    }
  }
  return out;
}

int rank(const value& v) { return v.is_number() ? 0 : v.is_string() ? 1 : 2; }

int ref_cmp(const value& a, const value& b) {
  if (rank(a) != rank(b)) return rank(a) < rank(b) ? -1 : 1;
  if (a.is_number()) {
    double x = a.to_number<double>(), y = b.to_number<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string()) {
    auto x = utf16(a.get_string()), y = utf16(b.get_string());
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const auto &x = a.get_array(), &y = b.get_array();
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    int c = ref_cmp(x[i], y[i]);
    if (c) return c;
  }
  return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
}

value random_key(std::mt19937& rng, int depth) {
  int kind = rng() % (depth > 2 ? 2 : 3);
  if (kind == 0) {
    static const double nums[] = {-1e300, -5, -1, -0.5, 0, 0.25, 1, 2, 9, 10, 100, 1e300};
    switch (rng() % 3) {
      case 0:
        return value(nums[rng() % 12]);
      case 1:
        return value(static_cast<int64_t>(rng() % 21) - 10);
      default:
        return value(static_cast<uint64_t>(rng() % 12));
    }
  }
  if (kind == 1) {
    static const char* parts[] = {
        "",     "a", "b",       std::string("\0", 1).c_str(), "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
        "\x01", "z", "\xC3\xA9"};
    std::string s;
    int n = rng() % 4;
    for (int i = 0; i < n; ++i) {
      int p = rng() % 9;
      if (p == 3) {
        s.push_back('\0');
      } else {
        s += parts[p];
      }
    }
    return value(s);
  }
  boost::json::array a;
  int n = rng() % 4;
  for (int i = 0; i < n; ++i) a.push_back(random_key(rng, depth + 1));
  return a;
}

}  // namespace

TEST_CASE("jsondb keys: valid and invalid keys (WPT key_valid, key_invalid)", "[jsondb][keys]") {
  CHECK(is_valid_key(J("0")));
  CHECK(is_valid_key(J("-1.5")));
  CHECK(is_valid_key(J("\"\"")));
  CHECK(is_valid_key(J("[]")));
  CHECK(is_valid_key(J("[[1,\"a\"],[]]")));
  CHECK(is_valid_key(value(std::numeric_limits<double>::infinity())));
  CHECK(is_valid_key(value(-std::numeric_limits<double>::infinity())));
  CHECK_FALSE(is_valid_key(J("null")));
  CHECK_FALSE(is_valid_key(J("true")));
  CHECK_FALSE(is_valid_key(J("false")));
  CHECK_FALSE(is_valid_key(J("{}")));
  CHECK_FALSE(is_valid_key(J("{\"a\":1}")));
  CHECK_FALSE(is_valid_key(J("[null]")));
  CHECK_FALSE(is_valid_key(J("[1,[true]]")));
  CHECK_FALSE(is_valid_key(J("[{}]")));
  CHECK_FALSE(is_valid_key(value(std::nan(""))));
  CHECK_FALSE(is_valid_key(value(std::string("\xFF\xFE"))));  // not UTF-8
  CHECK_ERRC(compare_keys(J("null"), J("1")), DataError);
  CHECK_ERRC(compare_keys(J("1"), J("{}")), DataError);
  CHECK_ERRC(compare_keys(value(std::nan("")), J("1")), DataError);
}

TEST_CASE("jsondb keys: ordering (WPT idbfactory_cmp)", "[jsondb][keys]") {
  // number < string < array
  CHECK(compare_keys(J("1e300"), J("\"\"")) < 0);
  CHECK(compare_keys(J("\"zzz\""), J("[]")) < 0);
  CHECK(compare_keys(value(std::numeric_limits<double>::infinity()), J("\"\"")) < 0);
  CHECK(compare_keys(value(-std::numeric_limits<double>::infinity()), J("-1e300")) < 0);
  // numbers unified across int64 / uint64 / double
  CHECK(compare_keys(J("1"), J("1.0")) == 0);
  CHECK(compare_keys(value(int64_t{1}), value(uint64_t{1})) == 0);
  CHECK(compare_keys(J("-0.0"), J("0")) == 0);
  CHECK(compare_keys(J("2.5"), J("100")) < 0);
  CHECK(compare_keys(J("9"), J("10")) < 0);
  CHECK(compare_keys(J("-10"), J("-9")) < 0);
  CHECK(compare_keys(J("-0.5"), J("0")) < 0);
  CHECK(compare_keys(value(uint64_t{18446744073709551615ull}), J("1e10")) > 0);
  // strings by UTF-16 code units: U+FFFF > U+10000 (surrogate D800)
  CHECK(compare_keys(value("\xEF\xBF\xBF"), value("\xF0\x90\x80\x80")) > 0);
  CHECK(compare_keys(J("\"a\""), J("\"b\"")) < 0);
  CHECK(compare_keys(J("\"\""), J("\"a\"")) < 0);
  CHECK(compare_keys(J("\"a\""), J("\"aa\"")) < 0);
  CHECK(compare_keys(J("\"B\""), J("\"a\"")) < 0);
  // "42" and 42 differ
  CHECK(compare_keys(J("\"42\""), J("42")) > 0);
  // arrays element by element, shorter prefix first
  CHECK(compare_keys(J("[]"), J("[0]")) < 0);
  CHECK(compare_keys(J("[1]"), J("[1,0]")) < 0);
  CHECK(compare_keys(J("[2]"), J("[1,0]")) > 0);
  CHECK(compare_keys(J("[1,\"a\"]"), J("[1,[]]")) < 0);
  CHECK(compare_keys(J("[[1]]"), J("[[1]]")) == 0);
  CHECK(compare_keys(J("[1]"), J("\"1\"")) > 0);
}

TEST_CASE("jsondb keys: strings with NUL are ordinary keys", "[jsondb][keys]") {
  const value a("a"), a0(std::string("a\0", 2)), a0b(std::string("a\0b", 3)),
      a1(std::string("a\x01", 2)), ab("ab");
  CHECK(compare_keys(a, a0) < 0);
  CHECK(compare_keys(a0, a0b) < 0);
  CHECK(compare_keys(a0b, a1) < 0);
  CHECK(compare_keys(a1, ab) < 0);
  // Arrays of strings: no separator injection.
  CHECK(compare_keys(value(boost::json::array{a0, value("b")}), value(boost::json::array{a0b})) <
        0);
  CHECK(compare_keys(value(boost::json::array{a, value("")}), value(boost::json::array{a0})) < 0);
  for (const value& k : {a, a0, a0b, a1}) {
    CHECK(detail::normalize_key(k) == k);
  }
}

TEST_CASE("jsondb keys: encoding is injective and order-preserving", "[jsondb][keys]") {
  std::mt19937 rng(42);
  for (int i = 0; i < 3000; ++i) {
    value a = random_key(rng, 0), b = random_key(rng, 0);
    INFO(boost::json::serialize(a) << " vs " << boost::json::serialize(b));
    int ref = ref_cmp(a, b);
    std::string ea = detail::encode_key(a), eb = detail::encode_key(b);
    int enc = ea < eb ? -1 : ea > eb ? 1 : 0;
    REQUIRE(enc == ref);
    REQUIRE(compare_keys(a, b) == ref);
    // decode(encode(k)) compares equal to k and re-encodes identically.
    std::string_view in(ea);
    value d = detail::decode_key(&in);
    REQUIRE(in.empty());
    REQUIRE(detail::encode_key(d) == ea);
    // Self-delimiting: a key followed by another decodes both.
    std::string both = ea + eb;
    std::string_view bin(both);
    detail::decode_key(&bin);
    REQUIRE(detail::encode_key(detail::decode_key(&bin)) == eb);
  }
}

TEST_CASE("jsondb keys: normalised numbers", "[jsondb][keys]") {
  CHECK(detail::normalize_key(J("1.0")) == J("1"));
  CHECK(detail::normalize_key(J("-0.0")) == J("0"));
  CHECK(detail::normalize_key(J("2.5")) == J("2.5"));
  CHECK(detail::normalize_key(J("9007199254740992")) == J("9007199254740992"));
  // Beyond 2^53 numbers are doubles (IndexedDB numbers are doubles):
  // 2^53 + 1 rounds to 2^53; 2^53 + 2 reads back as a double.
  CHECK(detail::normalize_key(value(int64_t{9007199254740993})) == J("9007199254740992"));
  CHECK(detail::normalize_key(value(int64_t{9007199254740994})).is_double());
}

TEST_CASE("jsondb KeyRange (WPT idbkeyrange, idbkeyrange_incorrect, idbkeyrange-includes)",
          "[jsondb][keys]") {
  auto r = KeyRange::only(J("3"));
  CHECK(r.includes(J("3")));
  CHECK(r.includes(J("3.0")));
  CHECK_FALSE(r.includes(J("\"3\"")));
  auto b = KeyRange::bound(J("1"), J("5"), true, false);
  CHECK_FALSE(b.includes(J("1")));
  CHECK(b.includes(J("1.5")));
  CHECK(b.includes(J("5")));
  CHECK_FALSE(b.includes(J("\"a\"")));
  auto lo = KeyRange::lower_bound(J("\"m\""));
  CHECK(lo.includes(J("\"m\"")));
  CHECK(lo.includes(J("[]")));
  CHECK_FALSE(lo.includes(J("99")));
  auto lo_open = KeyRange::lower_bound(J("\"m\""), true);
  CHECK_FALSE(lo_open.includes(J("\"m\"")));
  auto up = KeyRange::upper_bound(J("[1]"), true);
  CHECK(up.includes(J("\"x\"")));
  CHECK(up.includes(J("[0, 5]")));
  CHECK_FALSE(up.includes(J("[1]")));
  CHECK_ERRC(up.includes(J("null")), DataError);
  CHECK_ERRC(KeyRange::only(J("null")), DataError);
  CHECK_ERRC(KeyRange::only(J("{}")), DataError);
  CHECK_ERRC(KeyRange::lower_bound(J("true")), DataError);
  CHECK_ERRC(KeyRange::bound(J("5"), J("1")), DataError);
  CHECK_ERRC(KeyRange::bound(J("1"), J("1"), true, false), DataError);
  CHECK_ERRC(KeyRange::bound(J("1"), J("1"), false, true), DataError);
  CHECK_NOTHROW(KeyRange::bound(J("1"), J("1")));
  CHECK_ERRC(KeyRange::bound(J("\"a\""), J("1")), DataError);
}
