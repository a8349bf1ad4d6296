#include "ingest/line_protocol.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "test_util.h"

namespace flowdb::ingest {
namespace {

using testing::describe;
using testing::printable;

constexpr int64_t kNow = 1'700'000'000'000'000;

// Parses a payload that must yield exactly one point and no error.
Point one(std::string_view line, const LineProtocolOptions& opts = {}) {
  INFO("line: " << printable(line));
  LineProtocolResult r = parse_line_protocol(line, kNow, opts);
  for (const auto& e : r.errors) UNSCOPED_INFO(reason_name(e.reason) << ": " << e.message);
  REQUIRE(r.errors.empty());
  REQUIRE(r.points.size() == 1);
  return r.points[0];
}

// Parses a payload that must yield exactly one error and no point.
ParseError bad(std::string_view line, const LineProtocolOptions& opts = {}) {
  INFO("line: " << printable(line));
  LineProtocolResult r = parse_line_protocol(line, kNow, opts);
  for (const auto& p : r.points) UNSCOPED_INFO("unexpected point " << describe(p));
  REQUIRE(r.points.empty());
  REQUIRE(r.errors.size() == 1);
  return r.errors[0];
}

ParseReason reason(std::string_view line, const LineProtocolOptions& opts = {}) {
  return bad(line, opts).reason;
}

FieldValue value_of(std::string_view field_set) {
  const Point p = one("m " + std::string(field_set));
  REQUIRE(p.fields.size() == 1);
  return p.fields[0].second;
}

double float_of(std::string_view v) {
  const FieldValue fv = value_of("f=" + std::string(v));
  REQUIRE(std::holds_alternative<double>(fv));
  return std::get<double>(fv);
}

TEST_CASE("The spec example parses into measurement, tags, fields and timestamp", "[ingest][lp]") {
  const Point p =
      one("myMeasurement,tag1=value1,tag2=value2 fieldKey=\"fieldValue\" 1556813561098000000");
  CHECK(p.measurement == "myMeasurement");
  CHECK(p.tags == std::vector<Tag>{{"tag1", "value1"}, {"tag2", "value2"}});
  REQUIRE(p.fields.size() == 1);
  CHECK(p.fields[0].first == "fieldKey");
  CHECK(std::get<std::string>(p.fields[0].second) == "fieldValue");
  CHECK(p.ts_us == 1556813561098000);
  CHECK(p.has_ts);
}

TEST_CASE("A line without tags or timestamp takes now_us", "[ingest][lp]") {
  const Point p = one("cpu usage=0.5");
  CHECK(p.measurement == "cpu");
  CHECK(p.tags.empty());
  CHECK(std::get<double>(p.fields[0].second) == 0.5);
  CHECK(p.ts_us == kNow);
  CHECK_FALSE(p.has_ts);
}

TEST_CASE("Tags are sorted by key and duplicate tag keys are rejected", "[ingest][lp]") {
  const Point p = one("m,zone=z,app=a,mid=m f=1");
  CHECK(p.tags == std::vector<Tag>{{"app", "a"}, {"mid", "m"}, {"zone", "z"}});
  CHECK(reason("m,a=1,b=2,a=3 f=1") == ParseReason::duplicate_tag);
  CHECK(reason("m,a=1,a=1 f=1") == ParseReason::duplicate_tag);
}

TEST_CASE("Duplicate field keys keep the last value at the first position", "[ingest][lp]") {
  const Point p = one("m f=1,g=2,f=3i,h=true,g=\"x\"");
  REQUIRE(p.fields.size() == 3);
  CHECK(p.fields[0].first == "f");
  CHECK(std::get<int64_t>(p.fields[0].second) == 3);
  CHECK(p.fields[1].first == "g");
  CHECK(std::get<std::string>(p.fields[1].second) == "x");
  CHECK(p.fields[2].first == "h");

  // More than 8 fields takes the sort-based path.
  const Point q = one("m a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,a=10,j=11,b=12");
  REQUIRE(q.fields.size() == 10);
  CHECK(q.fields[0].first == "a");
  CHECK(std::get<double>(q.fields[0].second) == 10);
  CHECK(q.fields[1].first == "b");
  CHECK(std::get<double>(q.fields[1].second) == 12);
  CHECK(q.fields[9].first == "j");
}

TEST_CASE("Float field values accept every spec form", "[ingest][lp]") {
  CHECK(float_of("1") == 1.0);
  CHECK(float_of("-1") == -1.0);
  CHECK(float_of("1.0") == 1.0);
  CHECK(float_of("-1.5") == -1.5);
  CHECK(float_of(".5") == 0.5);
  CHECK(float_of("-.5") == -0.5);
  CHECK(float_of("1.") == 1.0);
  CHECK(float_of("1e9") == 1e9);
  CHECK(float_of("1E9") == 1e9);
  CHECK(float_of("1e+9") == 1e9);
  CHECK(float_of("1.5e-3") == 1.5e-3);
  CHECK(float_of("1.e+78") == 1e78);
  CHECK(float_of("-1.234456e+78") == -1.234456e+78);
  CHECK(float_of("007") == 7.0);
  CHECK(float_of("1.7976931348623157e308") == std::numeric_limits<double>::max());
  CHECK(float_of("5e-324") == std::numeric_limits<double>::denorm_min());
  const double neg_zero = float_of("-0");
  CHECK(neg_zero == 0.0);
  CHECK(std::signbit(neg_zero));
}

TEST_CASE("Float underflow gives zero and overflow is rejected", "[ingest][lp]") {
  CHECK(float_of("1e-400") == 0.0);
  CHECK(std::signbit(float_of("-1e-400")));
  CHECK(float_of("0.000000000000000000000000000000000000000000000000000000000000000000000000"
                 "00000000000000000000000000000000000000000000000000000000000000000000000000"
                 "00000000000000000000000000000000000000000000000000000000000000000000000000"
                 "00000000000000000000000000000000000000000000000000000000000000000000000000"
                 "0000000000000000000000000000000000000001") == 0.0);
  CHECK(float_of("1e-99999999999999999999") == 0.0);
  CHECK(reason("m f=1e400") == ParseReason::bad_field_value);
  CHECK(reason("m f=-1e400") == ParseReason::bad_field_value);
  CHECK(reason("m f=1.7976931348623159e308") == ParseReason::bad_field_value);
  CHECK(reason("m f=0.00001e99999999999999999999") == ParseReason::bad_field_value);
}

TEST_CASE("NaN and Inf literals are rejected as nan_or_inf", "[ingest][lp]") {
  for (const char* v : {"NaN", "nan", "NAN", "-nan", "inf", "Inf", "-Inf", "+inf", "INF",
                        "Infinity", "-infinity"}) {
    INFO(v);
    CHECK(reason(std::string("m f=") + v) == ParseReason::nan_or_inf);
  }
}

TEST_CASE("Malformed numbers are bad field values", "[ingest][lp]") {
  for (const char* v : {"1.2.3", "1e",    "1e+",  "e5",  ".",     "-",    "-.",  "1ee5", "--1",
                        "+1",    "1_000", "0x1A", "1f",  "12a",   "1.5x", "abc", "i",    "-i",
                        "u",     "1.0i",  "1e3i", "+1i", "- 1i",  "1I",   "-1u", "1.0u", "+1u",
                        "1iu",   "1ii",   "tRUE", "yes", "truee", "T1",   "F0",  "on"}) {
    INFO(v);
    CHECK(reason(std::string("m f=") + v) == ParseReason::bad_field_value);
  }
}

TEST_CASE("Integer and unsigned field values cover their full ranges", "[ingest][lp]") {
  CHECK(std::get<int64_t>(value_of("f=0i")) == 0);
  CHECK(std::get<int64_t>(value_of("f=-0i")) == 0);
  CHECK(std::get<int64_t>(value_of("f=-12i")) == -12);
  CHECK(std::get<int64_t>(value_of("f=9223372036854775807i")) == INT64_MAX);
  CHECK(std::get<int64_t>(value_of("f=-9223372036854775808i")) == INT64_MIN);
  CHECK(reason("m f=9223372036854775808i") == ParseReason::bad_field_value);
  CHECK(reason("m f=-9223372036854775809i") == ParseReason::bad_field_value);
  CHECK(std::get<uint64_t>(value_of("f=0u")) == 0);
  CHECK(std::get<uint64_t>(value_of("f=18446744073709551615u")) == UINT64_MAX);
  CHECK(reason("m f=18446744073709551616u") == ParseReason::bad_field_value);
}

TEST_CASE("Every boolean spelling of the spec is accepted", "[ingest][lp]") {
  for (const char* t : {"t", "T", "true", "True", "TRUE"}) {
    INFO(t);
    CHECK(std::get<bool>(value_of(std::string("f=") + t)) == true);
  }
  for (const char* f : {"f", "F", "false", "False", "FALSE"}) {
    INFO(f);
    CHECK(std::get<bool>(value_of(std::string("f=") + f)) == false);
  }
}

TEST_CASE("String field values unescape quotes and backslashes only", "[ingest][lp]") {
  auto str = [](std::string_view v) {
    return std::get<std::string>(value_of("f=" + std::string(v)));
  };
  CHECK(str(R"("")") == "");
  CHECK(str(R"("hello world")") == "hello world");
  CHECK(str(R"("a, b=c d #x")") == "a, b=c d #x");
  CHECK(str(R"("say \"hi\"")") == R"(say "hi")");
  CHECK(str(R"("back\\slash")") == R"(back\slash)");
  CHECK(str(R"("C:\temp\new")") == R"(C:\temp\new)");  // Other escapes stay literal.
  CHECK(str(R"("\,\=\ ")") == R"(\,\=\ )");
  // The spec's backslash table.
  CHECK(str(R"("\x")") == R"(\x)");
  CHECK(str(R"("\\x")") == R"(\x)");
  CHECK(str(R"("\\\x")") == R"(\\x)");
  CHECK(str(R"("\\\\x")") == R"(\\x)");
  CHECK(str(R"("\\\\\x")") == R"(\\\x)");
  CHECK(str(R"("ends with \\")") == R"(ends with \)");
  CHECK(str("\"tab\there\"") == "tab\there");
  CHECK(str("\"é 温 🙂\"") == "é 温 🙂");
}

TEST_CASE("String field values must be closed and followed by a separator", "[ingest][lp]") {
  CHECK(reason(R"(m f="abc)") == ParseReason::syntax);
  CHECK(reason(R"(m f="abc\")") == ParseReason::syntax);  // The quote is escaped.
  CHECK(reason(R"(m f="a"x)") == ParseReason::syntax);
  CHECK(reason(R"(m f="a""b")") == ParseReason::syntax);
  CHECK(reason(R"(m f="abc\)") == ParseReason::syntax);
  CHECK(reason(R"(m f=abc)") == ParseReason::bad_field_value);
}

TEST_CASE("Strings longer than max_string_bytes are rejected", "[ingest][lp]") {
  LineProtocolOptions opts;
  opts.max_string_bytes = 4;
  CHECK(std::get<std::string>(one(R"(m f="ab\"d")", opts).fields[0].second) == "ab\"d");
  CHECK(bad(R"(m f="abcde")", opts).reason == ParseReason::bad_field_value);
}

TEST_CASE("Measurement escapes cover comma and space", "[ingest][lp]") {
  CHECK(one(R"(my\ measurement f=1)").measurement == "my measurement");
  CHECK(one(R"(my\,m,t=v f=1)").measurement == "my,m");
  CHECK(one(R"(m=x f=1)").measurement == "m=x");  // '=' needs no escape here.
  CHECK(one(R"(m\=x f=1)").measurement == R"(m\=x)");
  CHECK(one(R"(m\\ f=1)").measurement == R"(m\)");
  CHECK(one(R"(m\a f=1)").measurement == R"(m\a)");
  CHECK(one(R"(m"q" f=1)").measurement == R"(m"q")");
  CHECK(one(R"(\ lead f=1)").measurement == " lead");
  CHECK(one("m#1 f=1").measurement == "m#1");
}

TEST_CASE("Tag keys, tag values and field keys escape comma, equals and space", "[ingest][lp]") {
  const Point p = one(R"(m,tag\ key=val\,ue\=x field\ key\,x\=y=1)");
  CHECK(p.tags == std::vector<Tag>{{"tag key", "val,ue=x"}});
  CHECK(p.fields[0].first == "field key,x=y");
  CHECK(one(R"(m,t=a\\ f=1)").tags[0].second == R"(a\)");
  CHECK(one(R"(m,t=a\b f=1)").tags[0].second == R"(a\b)");
  CHECK(one(R"(m,t=a\\\ b f=1)").tags[0].second == R"(a\ b)");
  CHECK(one(R"(m,t=\x f=1)").tags[0].second == R"(\x)");
  CHECK(one(R"(m,t=\\x f=1)").tags[0].second == R"(\x)");
  CHECK(one(R"(m,t=\\\x f=1)").tags[0].second == R"(\\x)");
  CHECK(one(R"(m,t="q" f=1)").tags[0].second == R"("q")");
  CHECK(one(R"(m f\"=1)").fields[0].first == R"(f\")");
}

TEST_CASE("A backslash at the end of a line is a bad escape", "[ingest][lp]") {
  CHECK(reason(R"(m\)") == ParseReason::bad_escape);
  CHECK(reason(R"(m,t=v\)") == ParseReason::bad_escape);
  CHECK(reason(R"(m,t\)") == ParseReason::bad_escape);
  CHECK(reason(R"(m f=1,g\)") == ParseReason::bad_escape);
}

TEST_CASE("Structural errors are reported as syntax or no_fields", "[ingest][lp]") {
  CHECK(reason("m") == ParseReason::no_fields);
  CHECK(reason("m ") == ParseReason::no_fields);
  CHECK(reason("m,t=v") == ParseReason::no_fields);
  CHECK(reason("m,t=v ") == ParseReason::no_fields);
  CHECK(reason("m,t=v,f=1") == ParseReason::no_fields);
  CHECK(reason(",t=v f=1") == ParseReason::syntax);
  CHECK(reason(" ,t=v f=1") == ParseReason::syntax);
  CHECK(reason("m,=v f=1") == ParseReason::syntax);
  CHECK(reason("m,t= f=1") == ParseReason::syntax);
  CHECK(reason("m,t=,u=1 f=1") == ParseReason::syntax);
  CHECK(reason("m,t f=1") == ParseReason::syntax);
  CHECK(reason("m, f=1") == ParseReason::syntax);
  CHECK(reason("m,t=a=b f=1") == ParseReason::syntax);
  CHECK(reason("m f") == ParseReason::syntax);
  CHECK(reason("m =1") == ParseReason::syntax);
  CHECK(reason("m f=1,") == ParseReason::syntax);
  CHECK(reason("m f=1,,g=2") == ParseReason::syntax);
  CHECK(reason("m f=1,g") == ParseReason::syntax);
  CHECK(reason("m f=") == ParseReason::bad_field_value);
  CHECK(reason("m f=,g=1") == ParseReason::bad_field_value);
  CHECK(reason("m f= 1") == ParseReason::bad_field_value);
  CHECK(reason("m f=1 123 456") == ParseReason::syntax);
  CHECK(reason("m f=1\t123") == ParseReason::bad_field_value);  // Tab is not a separator.
}

TEST_CASE("Timestamps convert from each precision to microseconds", "[ingest][lp]") {
  auto ts = [](std::string_view line, Precision prec) {
    LineProtocolOptions opts;
    opts.precision = prec;
    return one(line, opts).ts_us;
  };
  CHECK(ts("m f=1 1556813561098000000", Precision::ns) == 1556813561098000);
  CHECK(ts("m f=1 1999", Precision::ns) == 1);  // Truncated (floored).
  CHECK(ts("m f=1 -1", Precision::ns) == -1);   // Floor, not toward zero.
  CHECK(ts("m f=1 -1000", Precision::ns) == -1);
  CHECK(ts("m f=1 -1001", Precision::ns) == -2);
  CHECK(ts("m f=1 1556813561098000", Precision::us) == 1556813561098000);
  CHECK(ts("m f=1 1556813561098", Precision::ms) == 1556813561098000);
  CHECK(ts("m f=1 1556813561", Precision::s) == 1556813561000000);
  CHECK(ts("m f=1 -5", Precision::s) == -5000000);
  CHECK(ts("m f=1 0000000000000000000", Precision::ns) == 0);
  CHECK(ts("m f=1 9223372036854775807", Precision::ns) == 9223372036854775);
  CHECK(ts("m f=1 -9223372036854775808", Precision::ns) == -9223372036854776);
  CHECK(ts("m f=1 9223372036854775807", Precision::us) == INT64_MAX);
  CHECK(ts("m f=1 9223372036854", Precision::s) == 9223372036854000000);
  CHECK(ts("m f=1   42   ", Precision::us) == 42);
}

TEST_CASE("Timestamps that do not fit are out of range", "[ingest][lp]") {
  LineProtocolOptions s;
  s.precision = Precision::s;
  LineProtocolOptions ms;
  ms.precision = Precision::ms;
  CHECK(reason("m f=1 9223372036855", s) == ParseReason::timestamp_out_of_range);
  CHECK(reason("m f=1 -9223372036855", s) == ParseReason::timestamp_out_of_range);
  CHECK(reason("m f=1 9223372036854776", ms) == ParseReason::timestamp_out_of_range);
  CHECK(reason("m f=1 9223372036854775808") == ParseReason::timestamp_out_of_range);
  CHECK(reason("m f=1 -9223372036854775809") == ParseReason::timestamp_out_of_range);
  CHECK(reason("m f=1 99999999999999999999999") == ParseReason::timestamp_out_of_range);
}

TEST_CASE("Malformed timestamps are bad_timestamp", "[ingest][lp]") {
  for (const char* t : {"12a", "1.5", "+1", "-", "0x10", "1e9", "abc", "--1", "1-"}) {
    INFO(t);
    CHECK(reason(std::string("m f=1 ") + t) == ParseReason::bad_timestamp);
  }
}

TEST_CASE("Comments, blank lines, indentation and CRLF are handled", "[ingest][lp]") {
  const std::string payload =
      "# a comment\n"
      "\n"
      "   \n"
      "\t  # indented comment\r\n"
      "m f=1\r\n"
      "  \tm2 f=2 5\r\n"
      "\r\n"
      "m3 f=\"x\"";
  LineProtocolResult r = parse_line_protocol(payload, kNow);
  REQUIRE(r.errors.empty());
  REQUIRE(r.points.size() == 3);
  CHECK(r.points[0].measurement == "m");
  CHECK(r.points[1].measurement == "m2");
  CHECK(r.points[1].ts_us == 0);  // 5 ns floors to 0 us.
  CHECK(std::get<std::string>(r.points[2].fields[0].second) == "x");
  CHECK(parse_line_protocol("", kNow).points.empty());
  CHECK(parse_line_protocol("\n\n\n", kNow).errors.empty());
}

TEST_CASE("A carriage return inside a line is an ordinary byte", "[ingest][lp]") {
  CHECK(one("m\r f=1").measurement == "m\r");
  CHECK(reason("m f=1\r2") == ParseReason::bad_field_value);
  CHECK(reason("m f=1\r\r\n") == ParseReason::bad_field_value);  // Only one CR is dropped.
}

TEST_CASE("Names and string values must be valid UTF-8", "[ingest][lp]") {
  const Point p = one("温度,城市=東京 値=1,s=\"🙂\"");
  CHECK(p.measurement == "温度");
  CHECK(p.tags[0] == Tag{"城市", "東京"});
  CHECK(reason("m\xff f=1") == ParseReason::invalid_utf8);
  CHECK(reason("m,t=\xc3\x28 f=1") == ParseReason::invalid_utf8);
  CHECK(reason("m f=\"\xc0\xaf\"") == ParseReason::invalid_utf8);      // Overlong.
  CHECK(reason("m f=\"\xed\xa0\x80\"") == ParseReason::invalid_utf8);  // Surrogate.
  CHECK(reason("m \xe2\x82=1") == ParseReason::invalid_utf8);          // Truncated.
  CHECK(bad("m,t=v f=\"ok\xf5\"").column == 12);
}

TEST_CASE("Lines longer than max_line_bytes are rejected without parsing", "[ingest][lp]") {
  LineProtocolOptions opts;
  opts.max_line_bytes = 16;
  const std::string exact = "m f=123456789012";  // 16 bytes.
  REQUIRE(exact.size() == 16);
  CHECK(one(exact, opts).fields.size() == 1);
  CHECK(one(exact + "\r\n", opts).fields.size() == 1);  // The CR is not counted.
  LineProtocolResult r = parse_line_protocol("a f=1\n" + exact + "9\nb f=2\n", kNow, opts);
  REQUIRE(r.points.size() == 2);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].reason == ParseReason::line_too_long);
  CHECK(r.errors[0].line_no == 2);
}

TEST_CASE("Reserved names are rejected only when asked to", "[ingest][lp]") {
  LineProtocolOptions strict;
  strict.reject_reserved_names = true;
  CHECK(one("_m,_t=1 _f=1").measurement == "_m");
  CHECK(reason("_m f=1", strict) == ParseReason::reserved_name);
  CHECK(reason("m,_t=1 f=1", strict) == ParseReason::reserved_name);
  CHECK(reason("m f=1,_f=2", strict) == ParseReason::reserved_name);
  CHECK(one("m,t=_v f=1,g=\"_x\"", strict).tags[0].second == "_v");
}

TEST_CASE("Good lines around bad lines survive and errors carry line numbers", "[ingest][lp]") {
  const std::string payload =
      "good1 f=1 1000\n"         // 1
      "bad1 f=abc\n"             // 2
      "# comment\n"              // 3
      "good2,t=v f=2i\n"         // 4
      "bad2,t=v\n"               // 5
      "bad3 f=\"unterminated\n"  // 6
      "good3 f=3u\r\n"           // 7
      "bad4 f=1 12x\n"           // 8
      "bad5 f=NaN\n"             // 9
      "good4 s=\"a\\\"b\"";      // 10
  LineProtocolParser parser;
  std::vector<Point> points;
  std::vector<ParseError> errors;
  const ParseStats stats = parser.parse(
      payload, kNow, [&](const Point& p) { points.push_back(p); },
      [&](const ParseError& e) { errors.push_back(e); });
  CHECK(stats.points == 4);
  CHECK(stats.errors == 5);
  REQUIRE(points.size() == 4);
  CHECK(points[0].measurement == "good1");
  CHECK(points[0].ts_us == 1);
  CHECK(points[1].tags == std::vector<Tag>{{"t", "v"}});
  CHECK(std::get<uint64_t>(points[2].fields[0].second) == 3);
  CHECK(std::get<std::string>(points[3].fields[0].second) == "a\"b");
  REQUIRE(errors.size() == 5);
  CHECK(errors[0].line_no == 2);
  CHECK(errors[0].reason == ParseReason::bad_field_value);
  CHECK(errors[0].column == 8);
  CHECK(errors[1].line_no == 5);
  CHECK(errors[1].reason == ParseReason::no_fields);
  CHECK(errors[2].line_no == 6);
  CHECK(errors[2].reason == ParseReason::syntax);
  CHECK(errors[3].line_no == 8);
  CHECK(errors[3].reason == ParseReason::bad_timestamp);
  CHECK(errors[4].line_no == 9);
  CHECK(errors[4].reason == ParseReason::nan_or_inf);
  for (const auto& e : errors) CHECK_FALSE(e.message.empty());
}

TEST_CASE("A reused parser carries nothing over between lines or calls", "[ingest][lp]") {
  LineProtocolParser parser;
  std::vector<Point> points;
  auto sink = [&](const Point& p) { points.push_back(p); };
  auto no_error = [](const ParseError& e) { FAIL("unexpected " << e.message); };
  parser.parse("big,a=1,b=2,c=3 f=1,g=\"long string value\",h=3i 5000", kNow, sink, no_error);
  parser.parse("small g=2\nbad,x=1,y=2 f=", kNow, sink, [](const ParseError&) {});
  parser.parse("small2,z=9 s=true", kNow + 1, sink, no_error);
  REQUIRE(points.size() == 3);
  CHECK(points[0].tags.size() == 3);
  CHECK(points[0].fields.size() == 3);
  CHECK(points[1].measurement == "small");
  CHECK(points[1].tags.empty());
  REQUIRE(points[1].fields.size() == 1);
  CHECK(points[1].fields[0].first == "g");
  CHECK(std::get<double>(points[1].fields[0].second) == 2.0);
  CHECK_FALSE(points[1].has_ts);
  CHECK(points[1].ts_us == kNow);
  CHECK(points[2].tags == std::vector<Tag>{{"z", "9"}});
  CHECK(std::get<bool>(points[2].fields[0].second) == true);
  CHECK(points[2].ts_us == kNow + 1);
}

TEST_CASE("Precision names parse like the InfluxDB write API", "[ingest][lp]") {
  CHECK(parse_precision("ns") == Precision::ns);
  CHECK(parse_precision("n") == Precision::ns);
  CHECK(parse_precision("us") == Precision::us);
  CHECK(parse_precision("u") == Precision::us);
  CHECK(parse_precision("ms") == Precision::ms);
  CHECK(parse_precision("s") == Precision::s);
  CHECK_FALSE(parse_precision("h").has_value());
  CHECK_FALSE(parse_precision("").has_value());
  CHECK_FALSE(parse_precision("NS").has_value());
}

TEST_CASE("Reason names are stable strings", "[ingest][lp]") {
  CHECK(reason_name(ParseReason::syntax) == "syntax");
  CHECK(reason_name(ParseReason::bad_escape) == "bad_escape");
  CHECK(reason_name(ParseReason::timestamp_out_of_range) == "timestamp_out_of_range");
  CHECK(reason_name(ParseReason::missing_measurement) == "missing_measurement");
  CHECK(reason_name(static_cast<ParseReason>(200)) == "unknown");
}

}  // namespace
}  // namespace flowdb::ingest
