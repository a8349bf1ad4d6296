#include "ingest/value_codec.h"

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "test_util.h"

namespace flowdb::ingest {
namespace {

using namespace std::literals;
using testing::describe;
using testing::printable;

FieldValue round_trip(const FieldValue& v) {
  std::string enc;
  REQUIRE(append_value(&enc, v));
  FieldValue out;
  INFO(describe(v) << " -> " << printable(enc));
  REQUIRE(decode_value(enc, &out));
  return out;
}

TEST_CASE("Values have the documented byte layout", "[ingest][value_codec]") {
  CHECK(encode_value(1.0) == "\x01\0\0\0\0\0\0\xf0\x3f"s);
  CHECK(encode_value(int64_t{0}) == "\x02\x00"s);
  CHECK(encode_value(int64_t{-1}) == "\x02\x01"s);
  CHECK(encode_value(int64_t{1}) == "\x02\x02"s);
  CHECK(encode_value(int64_t{-64}) == "\x02\x7f"s);
  CHECK(encode_value(int64_t{64}) == "\x02\x80\x01"s);
  CHECK(encode_value(INT64_MIN) == "\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s);
  CHECK(encode_value(uint64_t{300}) == "\x03\xac\x02"s);
  CHECK(encode_value(uint64_t{0}) == "\x03\x00"s);
  CHECK(encode_value(false) == "\x04"s);
  CHECK(encode_value(true) == "\x05"s);
  CHECK(encode_value(std::string("hi")) == "\x06hi"s);
  CHECK(encode_value(std::string()) == "\x06"s);
}

TEST_CASE("Edge values round-trip exactly", "[ingest][value_codec]") {
  for (double d : {0.0, -0.0, 1.5, -1e-300, std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest()}) {
    const FieldValue back = round_trip(d);
    CHECK(std::bit_cast<uint64_t>(std::get<double>(back)) == std::bit_cast<uint64_t>(d));
  }
  for (int64_t i : {INT64_MIN, INT64_MIN + 1, int64_t{-65}, int64_t{-64}, int64_t{-1}, int64_t{0},
                    int64_t{1}, int64_t{63}, int64_t{64}, INT64_MAX}) {
    CHECK(round_trip(i) == FieldValue(i));
  }
  for (uint64_t u : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 63, UINT64_MAX}) {
    CHECK(round_trip(u) == FieldValue(u));
  }
  CHECK(round_trip(true) == FieldValue(true));
  CHECK(round_trip(false) == FieldValue(false));
  for (const std::string& s : {""s, "x"s, "é 温 🙂"s, "nul\0inside"s, "\x06\x01"s}) {
    CHECK(round_trip(s) == FieldValue(s));
  }
}

TEST_CASE("NaN and Inf are a Prometheus-only type, never a float64", "[ingest][value_codec]") {
  for (double d :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::signaling_NaN(),
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    const std::string enc = encode_value(d);
    REQUIRE(enc.size() == 9);
    CHECK(static_cast<uint8_t>(enc[0]) == 0x08);
    CHECK(is_prom_only_value(enc));
    FieldValue v;
    CHECK_FALSE(decode_value(enc, &v));  // exporters skip it
    double back = 0;
    REQUIRE(prom_sample_value(enc, &back));
    CHECK(std::bit_cast<uint64_t>(back) == std::bit_cast<uint64_t>(d));
  }
  FieldValue v;
  CHECK_FALSE(decode_value("\x01\0\0\0\0\0\0\xf8\x7f"s, &v));    // quiet NaN as float64
  CHECK_FALSE(decode_value("\x01\x01\0\0\0\0\0\xf0\xff"s, &v));  // NaN payload, sign set
  CHECK_FALSE(decode_value("\x01\0\0\0\0\0\0\xf0\x7f"s, &v));    // +Inf
  CHECK_FALSE(decode_value("\x01\0\0\0\0\0\0\xf0\xff"s, &v));    // -Inf
  double d = 0;
  CHECK_FALSE(prom_sample_value("\x08\0\0\0\0\0\0\xf0\x3f"s, &d));  // 1.0: not written so
  CHECK_FALSE(prom_sample_value(encode_value(FieldValue(std::string("x"))), &d));
  REQUIRE(prom_sample_value(encode_value(FieldValue(int64_t{-3})), &d));
  CHECK(d == -3.0);
  REQUIRE(prom_sample_value(encode_value(FieldValue(true)), &d));
  CHECK(d == 1.0);
}

TEST_CASE("The Prometheus staleness marker is its own type, not a field value",
          "[ingest][value_codec]") {
  const double stale = std::bit_cast<double>(kStaleMarkerBits);
  std::string out;
  REQUIRE(append_value(&out, stale));
  CHECK(out == "\x07");
  CHECK(is_stale_marker(out));
  FieldValue v = 1.0;
  CHECK_FALSE(decode_value(out, &v));  // exporters and the export API skip it
  CHECK(v == FieldValue(1.0));
  CHECK_FALSE(is_stale_marker("\x07\x00"s));
  CHECK_FALSE(is_stale_marker(encode_value(FieldValue(2.0))));
}

TEST_CASE("Malformed values are rejected by decode", "[ingest][value_codec]") {
  FieldValue v;
  for (const std::string& in : {
           ""s,
           "\x00"s,  // Unknown type.
           "\x07"s, "\xff"s,
           "\x01\0\0\0\0\0\0\xf0"s,                              // 7-byte double.
           "\x01\0\0\0\0\0\0\xf0\x3f\0"s,                        // 9-byte double.
           "\x02"s,                                              // Missing varint.
           "\x02\x80"s,                                          // Truncated varint.
           "\x02\x80\x00"s,                                      // Non-minimal.
           "\x03\x81\x80\x00"s,                                  // Non-minimal.
           "\x02\x01\x01"s,                                      // Trailing byte.
           "\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"s,      // Beyond 64 bits.
           "\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s,  // 11 bytes.
           "\x04\x00"s,                                          // Bool with payload.
           "\x05x"s,
           "\x06\xc3\x28"s,      // Invalid UTF-8.
           "\x06\xed\xa0\x80"s,  // Surrogate.
       }) {
    INFO(printable(in));
    CHECK_FALSE(decode_value(in, &v));
  }
}

TEST_CASE("Random values round-trip", "[ingest][value_codec]") {
  testing::RandomNames gen(5);
  for (int i = 0; i < 20000; ++i) {
    const FieldValue v = gen.value();
    const FieldValue back = round_trip(v);
    if (const double* d = std::get_if<double>(&v)) {
      CHECK(std::bit_cast<uint64_t>(std::get<double>(back)) == std::bit_cast<uint64_t>(*d));
    } else {
      CHECK(back == v);
    }
  }
}

TEST_CASE("Random bytes decode only when re-encoding gives the same bytes",
          "[ingest][value_codec]") {
  std::mt19937 rng(99);
  size_t decoded = 0;
  FieldValue v;
  for (int i = 0; i < 200000; ++i) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    if (!s.empty() && rng() % 2) s[0] = static_cast<char>(1 + rng() % 6);  // Valid type.
    if (decode_value(s, &v)) {
      ++decoded;
      INFO(printable(s));
      REQUIRE(encode_value(v) == s);
    }
  }
  CHECK(decoded > 1000);
}

}  // namespace
}  // namespace flowdb::ingest
