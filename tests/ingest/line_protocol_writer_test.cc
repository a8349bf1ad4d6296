#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ingest/line_protocol.h"
#include "test_util.h"

namespace flowdb::ingest {
namespace {

using testing::describe;
using testing::printable;

Point make_point() {
  Point p;
  p.measurement = "m";
  p.fields.emplace_back("f", 1.5);
  p.ts_us = 1;
  p.has_ts = true;
  return p;
}

std::string lp(const Point& p, Precision prec = Precision::ns) {
  std::string out;
  REQUIRE(append_line_protocol(&out, p, prec));
  return out;
}

TEST_CASE("The serializer writes every field type in canonical form", "[ingest][lp][writer]") {
  Point p;
  p.measurement = "cpu";
  p.tags = {{"host", "a b"}, {"region", "eu,west"}};
  p.fields = {{"f", 1.5},   {"i", int64_t{-3}}, {"u", uint64_t{4}},
              {"b", true},  {"c", false},       {"s", std::string("x \"y\" \\z")},
              {"w", 100.0}, {"e", 1e300}};
  p.ts_us = 1556813561098000;
  p.has_ts = true;
  CHECK(lp(p) ==
        "cpu,host=a\\ b,region=eu\\,west "
        "f=1.5,i=-3i,u=4u,b=true,c=false,s=\"x \\\"y\\\" \\\\z\",w=100,e=1e+300 "
        "1556813561098000000\n");
}

TEST_CASE("The serializer escapes names per context", "[ingest][lp][writer]") {
  Point p = make_point();
  p.measurement = "a,b c=d";
  p.tags = {{"k,=  ", "v,= "}};
  p.fields = {{"f,= ", int64_t{1}}};
  p.has_ts = false;
  CHECK(lp(p) == "a\\,b\\ c=d,k\\,\\=\\ \\ =v\\,\\=\\  f\\,\\=\\ =1i\n");
}

TEST_CASE("The serializer doubles a backslash only where the parser needs it",
          "[ingest][lp][writer]") {
  Point p = make_point();
  p.has_ts = false;
  p.tags = {{"t", "x"}};
  auto tag_value_as = [&](const std::string& v) {
    p.tags[0].second = v;
    const std::string line = lp(p);
    return line.substr(4, line.find(" f=") - 4);  // Strip "m,t=".
  };
  CHECK(tag_value_as("a\\b") == "a\\b");        // Literal: next byte is ordinary.
  CHECK(tag_value_as("a\\") == "a\\\\");        // Would escape the separator.
  CHECK(tag_value_as("a\\,b") == "a\\\\\\,b");  // Would escape the comma.
  CHECK(tag_value_as("a\\\\b") == "a\\\\\\b");  // "\\" would read as one backslash.
  CHECK(tag_value_as("\\") == "\\\\");
}

TEST_CASE("Timestamps are written in the requested precision", "[ingest][lp][writer]") {
  Point p = make_point();
  p.ts_us = -1500;
  CHECK(lp(p, Precision::ns) == "m f=1.5 -1500000\n");
  CHECK(lp(p, Precision::us) == "m f=1.5 -1500\n");
  CHECK(lp(p, Precision::ms) == "m f=1.5 -2\n");  // Floored.
  CHECK(lp(p, Precision::s) == "m f=1.5 -1\n");
  p.has_ts = false;
  CHECK(lp(p) == "m f=1.5\n");
  p.has_ts = true;
  p.ts_us = INT64_MAX;
  CHECK(lp(p, Precision::us) == "m f=1.5 9223372036854775807\n");
}

TEST_CASE("Unrepresentable points are refused and leave the buffer unchanged",
          "[ingest][lp][writer]") {
  auto refused = [](const Point& p, Precision prec = Precision::ns) {
    std::string out = "keep";
    const bool ok = append_line_protocol(&out, p, prec);
    return !ok && out == "keep";
  };
  Point p = make_point();
  CHECK_FALSE(refused(p));
  {
    Point q = p;
    q.fields.clear();
    CHECK(refused(q));
  }
  {
    Point q = p;
    q.measurement.clear();
    CHECK(refused(q));
  }
  for (const char* m : {"#m", "\tm", "a\nb", "\xff"}) {
    Point q = p;
    q.measurement = m;
    INFO(printable(m));
    CHECK(refused(q));
  }
  {
    Point q = p;
    q.tags = {{"t", ""}};
    CHECK(refused(q));
    q.tags = {{"", "v"}};
    CHECK(refused(q));
    q.tags = {{"t", "a\nb"}};
    CHECK(refused(q));
  }
  {
    Point q = p;
    q.fields = {{"", 1.0}};
    CHECK(refused(q));
    q.fields = {{"f", std::string("line\nbreak")}};
    CHECK(refused(q));
    q.fields = {{"f", std::string("\xc3\x28")}};
    CHECK(refused(q));
    q.fields = {{"f", std::numeric_limits<double>::quiet_NaN()}};
    CHECK(refused(q));
    q.fields = {{"f", -std::numeric_limits<double>::infinity()}};
    CHECK(refused(q));
  }
  {
    Point q = p;
    q.ts_us = INT64_MAX / 1000 + 1;
    CHECK(refused(q, Precision::ns));
    CHECK_FALSE(refused(q, Precision::us));
  }
  // Escaping makes leading spaces and '#' inside names fine.
  Point q = p;
  q.measurement = " #m";
  CHECK_FALSE(refused(q));
}

TEST_CASE("Special doubles round-trip bit-exactly", "[ingest][lp][writer]") {
  for (double d : {0.0, -0.0, 0.1, -1.5, 5e-324, 2.2250738585072014e-308,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(), 1e21,
                   1e-7, 123456789012345678.0, 9007199254740993.0}) {
    Point p = make_point();
    p.fields[0].second = d;
    const std::string line = lp(p);
    INFO(line);
    LineProtocolResult r = parse_line_protocol(line, 0);
    REQUIRE(r.points.size() == 1);
    const double back = std::get<double>(r.points[0].fields[0].second);
    CHECK(std::bit_cast<uint64_t>(back) == std::bit_cast<uint64_t>(d));
  }
}

TEST_CASE("Serialized random points parse back to equal points", "[ingest][lp][writer]") {
  testing::RandomNames gen(20240601);
  std::string payload;
  std::vector<Point> expected;
  for (int i = 0; i < 5000; ++i) {
    Point p = gen.point();
    const Precision prec = gen.below(2) == 0 ? Precision::ns : Precision::us;
    std::string line;
    INFO("point " << i << ": " << describe(p));
    REQUIRE(append_line_protocol(&line, p, prec));
    INFO("line: " << printable(line));
    LineProtocolOptions opts;
    opts.precision = prec;
    LineProtocolResult r = parse_line_protocol(line, 777, opts);
    REQUIRE(r.errors.empty());
    REQUIRE(r.points.size() == 1);
    CHECK(r.points[0] == p);
    if (prec == Precision::us) {
      payload += line;
      expected.push_back(p);
    }
  }
  // The same lines concatenated into one payload give the same points.
  LineProtocolOptions us;
  us.precision = Precision::us;
  LineProtocolResult all = parse_line_protocol(payload, 777, us);
  CHECK(all.errors.empty());
  CHECK(all.points == expected);
}

}  // namespace
}  // namespace flowdb::ingest
