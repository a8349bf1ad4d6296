#include "ingest/rfc3339.h"

#include <catch2/catch.hpp>
#include <random>

namespace flowdb::ingest {
namespace {

int64_t parsed(std::string_view s) {
  int64_t us = 0;
  INFO(s);
  REQUIRE(parse_rfc3339(s, &us));
  return us;
}

std::string formatted(int64_t us) {
  std::string out;
  REQUIRE(append_rfc3339(&out, us));
  return out;
}

TEST_CASE("RFC 3339 timestamps parse to microseconds", "[ingest][rfc3339]") {
  CHECK(parsed("1970-01-01T00:00:00Z") == 0);
  CHECK(parsed("2023-07-22T04:26:40Z") == 1690000000000000);
  CHECK(parsed("2023-07-22t04:26:40z") == 1690000000000000);
  CHECK(parsed("2023-07-22 04:26:40Z") == 1690000000000000);
  CHECK(parsed("2023-07-22T06:26:40+02:00") == 1690000000000000);
  CHECK(parsed("2023-07-21T23:56:40-04:30") == 1690000000000000);
  CHECK(parsed("2023-07-22T04:26:40.5Z") == 1690000000500000);
  CHECK(parsed("2023-07-22T04:26:40.123456789Z") == 1690000000123456);  // Truncated.
  CHECK(parsed("1969-12-31T23:59:59.999999Z") == -1);
  CHECK(parsed("2000-02-29T00:00:00Z") == 951782400000000);
  CHECK(parsed("0000-01-01T00:00:00Z") == -62167219200000000);
  CHECK(parsed("9999-12-31T23:59:59.999999Z") == 253402300799999999);
}

TEST_CASE("Malformed RFC 3339 timestamps are rejected", "[ingest][rfc3339]") {
  int64_t us = 0;
  for (const char* s : {"",
                        "2023-07-22",
                        "2023-07-22T04:26:40",
                        "2023-07-22T04:26Z",
                        "2023-7-22T04:26:40Z",
                        "2023-07-22T04:26:40.Z",
                        "2023-13-01T00:00:00Z",
                        "2023-00-01T00:00:00Z",
                        "2023-02-29T00:00:00Z",
                        "1900-02-29T00:00:00Z",
                        "2023-04-31T00:00:00Z",
                        "2023-07-22T24:00:00Z",
                        "2023-07-22T23:60:00Z",
                        "2016-12-31T23:59:60Z",
                        "2023-07-22T04:26:40+24:00",
                        "2023-07-22T04:26:40+02:60",
                        "2023-07-22T04:26:40+0200",
                        "2023-07-22T04:26:40Zjunk",
                        "2023-07-22X04:26:40Z",
                        "+2023-07-22T04:26:40Z",
                        "2023-07-22T04:26:40.12a3Z"}) {
    INFO(s);
    CHECK_FALSE(parse_rfc3339(s, &us));
  }
}

TEST_CASE("Timestamps format in UTC with trimmed fractions", "[ingest][rfc3339]") {
  CHECK(formatted(0) == "1970-01-01T00:00:00Z");
  CHECK(formatted(1690000000500000) == "2023-07-22T04:26:40.5Z");
  CHECK(formatted(1690000000000001) == "2023-07-22T04:26:40.000001Z");
  CHECK(formatted(-1) == "1969-12-31T23:59:59.999999Z");
  std::string out = "keep";
  CHECK_FALSE(append_rfc3339(&out, 253402300800000000));  // Year 10000.
  CHECK_FALSE(append_rfc3339(&out, INT64_MIN));
  CHECK(out == "keep");
}

TEST_CASE("Formatting and parsing round-trip over years 0000..9999", "[ingest][rfc3339]") {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> dist(-62167219200000000, 253402300799999999);
  for (int i = 0; i < 20000; ++i) {
    const int64_t us = dist(rng);
    const std::string s = formatted(us);
    INFO(us << " " << s);
    CHECK(parsed(s) == us);
  }
}

}  // namespace
}  // namespace flowdb::ingest
