#include "ingest/json_format.h"

#include <catch2/catch.hpp>

#include "test_util.h"

namespace flowdb::ingest {
namespace {

using testing::describe;

constexpr int64_t kNow = 1'700'000'000'000'000;

JsonFormat fixed(std::string measurement = "env") {
  JsonFormat f;
  f.measurement = std::move(measurement);
  return f;
}

// Fixed measurement "env" with the timestamp in field "t".
JsonFormat with_ts(JsonFormat::TsFormat format = JsonFormat::unix_s) {
  JsonFormat f = fixed();
  f.timestamp_field = "t";
  f.ts_format = format;
  return f;
}

Point one(std::string_view payload, const JsonFormat& f) {
  INFO("payload: " << payload);
  JsonResult r = parse_json(payload, kNow, f);
  for (const auto& e : r.errors) UNSCOPED_INFO(reason_name(e.reason) << ": " << e.message);
  REQUIRE(r.errors.empty());
  REQUIRE(r.points.size() == 1);
  return r.points[0];
}

ParseError bad(std::string_view payload, const JsonFormat& f) {
  INFO("payload: " << payload);
  JsonResult r = parse_json(payload, kNow, f);
  for (const auto& p : r.points) UNSCOPED_INFO("unexpected " << describe(p));
  REQUIRE(r.points.empty());
  REQUIRE(r.errors.size() == 1);
  return r.errors[0];
}

const FieldValue& field(const Point& p, std::string_view name) {
  for (const auto& [k, v] : p.fields) {
    if (k == name) return v;
  }
  FAIL("no field " << name << " in " << describe(p));
  throw std::logic_error("unreachable");
}

TEST_CASE("An object maps to one point with tags, fields and a timestamp", "[ingest][json]") {
  JsonFormat f = fixed();
  f.tag_keys = {"site", "room"};
  f.timestamp_field = "time";
  const Point p = one(
      R"({"site":"plant1","room":7,"temp":21.5,"hum":40,"ok":true,"note":"x","time":1690000000})",
      f);
  CHECK(p.measurement == "env");
  CHECK(p.tags == std::vector<Tag>{{"room", "7"}, {"site", "plant1"}});
  CHECK(p.fields.size() == 4);
  CHECK(std::get<double>(field(p, "temp")) == 21.5);
  CHECK(std::get<double>(field(p, "hum")) == 40.0);  // Integers are floats by default.
  CHECK(std::get<bool>(field(p, "ok")) == true);
  CHECK(std::get<std::string>(field(p, "note")) == "x");
  CHECK(p.ts_us == 1690000000000000);
  CHECK(p.has_ts);
}

TEST_CASE("ints_as_int keeps integer tokens as int64 or uint64", "[ingest][json]") {
  JsonFormat f = fixed();
  f.ints_as_int = true;
  const Point p = one(R"({"a":-5,"b":18446744073709551615,"c":3.0,"d":9223372036854775807})", f);
  CHECK(std::get<int64_t>(field(p, "a")) == -5);
  CHECK(std::get<uint64_t>(field(p, "b")) == UINT64_MAX);
  CHECK(std::get<double>(field(p, "c")) == 3.0);
  CHECK(std::get<int64_t>(field(p, "d")) == INT64_MAX);
}

TEST_CASE("Nested objects and arrays flatten with underscores", "[ingest][json]") {
  const Point p = one(R"({"a":{"b":1,"c":{"d":true}},"v":[1,[2,3]],"e":{}})", fixed());
  REQUIRE(p.fields.size() == 5);
  CHECK(std::get<double>(field(p, "a_b")) == 1);
  CHECK(std::get<bool>(field(p, "a_c_d")) == true);
  CHECK(std::get<double>(field(p, "v_0")) == 1);
  CHECK(std::get<double>(field(p, "v_1_0")) == 2);
  CHECK(std::get<double>(field(p, "v_1_1")) == 3);
}

TEST_CASE("Flattened names that collide keep the later value", "[ingest][json]") {
  const Point p = one(R"({"a_b":1,"a":{"b":2},"c":3})", fixed());
  REQUIRE(p.fields.size() == 2);
  CHECK(p.fields[0].first == "a_b");
  CHECK(std::get<double>(p.fields[0].second) == 2);
}

TEST_CASE("Tag values are converted from any scalar, null and empty omit the tag",
          "[ingest][json]") {
  JsonFormat f = fixed();
  f.tag_keys = {"i", "d", "b", "n", "e", "s", "nested_k"};
  const Point p =
      one(R"({"i":42,"d":1.5,"b":false,"n":null,"e":"","s":"x y","nested":{"k":"v"},"f":1})", f);
  CHECK(p.tags == std::vector<Tag>{
                      {"b", "false"}, {"d", "1.5"}, {"i", "42"}, {"nested_k", "v"}, {"s", "x y"}});
  REQUIRE(p.fields.size() == 1);
  CHECK(p.fields[0].first == "f");
}

TEST_CASE("field_keys restricts fields and skips nulls", "[ingest][json]") {
  JsonFormat f = fixed();
  f.field_keys = {"temp", "missing", "nul"};
  const Point p = one(R"({"temp":1,"other":2,"nul":null})", f);
  REQUIRE(p.fields.size() == 1);
  CHECK(p.fields[0].first == "temp");
  CHECK(bad(R"({"other":2})", f).reason == ParseReason::no_fields);
}

TEST_CASE("The measurement can come from a field", "[ingest][json]") {
  JsonFormat f;
  f.measurement_field = "type";
  const Point p = one(R"({"type":"cpu","v":1})", f);
  CHECK(p.measurement == "cpu");
  REQUIRE(p.fields.size() == 1);  // The name is not also a field.
  CHECK(bad(R"({"v":1})", f).reason == ParseReason::missing_measurement);
  CHECK(bad(R"({"type":5,"v":1})", f).reason == ParseReason::wrong_type);
  CHECK(bad(R"({"type":"","v":1})", f).reason == ParseReason::wrong_type);
  f.measurement = "fallback";
  CHECK(one(R"({"v":1})", f).measurement == "fallback");
  CHECK(one(R"({"type":"mem","v":1})", f).measurement == "mem");
  CHECK(bad(R"({"v":1})", JsonFormat{}).reason == ParseReason::missing_measurement);
}

TEST_CASE("Timestamps convert from each unix unit", "[ingest][json]") {
  auto ts = [](std::string_view value, JsonFormat::TsFormat fmt) {
    return one("{\"v\":1,\"t\":" + std::string(value) + "}", with_ts(fmt)).ts_us;
  };
  CHECK(ts("1690000000", JsonFormat::unix_s) == 1690000000000000);
  CHECK(ts("1690000000.25", JsonFormat::unix_s) == 1690000000250000);
  CHECK(ts("1.5", JsonFormat::unix_s) == 1500000);
  CHECK(ts("\"1690000000\"", JsonFormat::unix_s) == 1690000000000000);
  CHECK(ts("\"-1.5\"", JsonFormat::unix_s) == -1500000);
  CHECK(ts("1690000000123", JsonFormat::unix_ms) == 1690000000123000);
  CHECK(ts("1690000000123456", JsonFormat::unix_us) == 1690000000123456);
  CHECK(ts("1690000000123456789", JsonFormat::unix_ns) == 1690000000123456);
  CHECK(ts("-1", JsonFormat::unix_ns) == -1);
  CHECK(ts("1999.0", JsonFormat::unix_ns) == 2);  // Fractions round.
}

TEST_CASE("RFC 3339 timestamps are parsed from strings", "[ingest][json]") {
  const JsonFormat f = with_ts(JsonFormat::rfc3339);
  CHECK(one(R"({"v":1,"t":"2023-07-22T04:26:40.123456789Z"})", f).ts_us == 1690000000123456);
  CHECK(one(R"({"v":1,"t":"2023-07-22T06:26:40+02:00"})", f).ts_us == 1690000000000000);
  CHECK(bad(R"({"v":1,"t":"2023-07-22"})", f).reason == ParseReason::bad_timestamp);
  CHECK(bad(R"({"v":1,"t":1690000000})", f).reason == ParseReason::bad_timestamp);
}

TEST_CASE("Bad timestamps are per-point errors", "[ingest][json]") {
  const JsonFormat f = with_ts();
  CHECK(bad(R"({"v":1,"t":true})", f).reason == ParseReason::bad_timestamp);
  CHECK(bad(R"({"v":1,"t":"soon"})", f).reason == ParseReason::bad_timestamp);
  CHECK(bad(R"({"v":1,"t":1e300})", f).reason == ParseReason::timestamp_out_of_range);
  CHECK(bad(R"({"v":1,"t":9223372036855})", f).reason == ParseReason::timestamp_out_of_range);
  CHECK(bad(R"({"v":1,"t":18446744073709551615})", f).reason ==
        ParseReason::timestamp_out_of_range);
  CHECK(bad(R"({"v":1,"t":"99999999999999999999"})", f).reason ==
        ParseReason::timestamp_out_of_range);
  CHECK(bad(R"({"v":1,"t":1e999})", f).reason == ParseReason::bad_timestamp);
  const Point p = one(R"({"v":1})", f);  // Absent: receive time.
  CHECK(p.ts_us == kNow);
  CHECK_FALSE(p.has_ts);
}

TEST_CASE("Numbers beyond double range are nan_or_inf", "[ingest][json]") {
  CHECK(bad(R"({"v":1e999})", fixed()).reason == ParseReason::nan_or_inf);
  CHECK(bad(R"({"v":-1e999})", fixed()).reason == ParseReason::nan_or_inf);
  JsonFormat f = fixed();
  f.tag_keys = {"t"};
  CHECK(bad(R"({"t":1e999,"v":1})", f).reason == ParseReason::nan_or_inf);
  CHECK(std::get<double>(one(R"({"v":1e-999})", fixed()).fields[0].second) == 0.0);
}

TEST_CASE("An array yields one point per object and isolates bad elements", "[ingest][json]") {
  const JsonFormat f = with_ts();
  JsonResult r = parse_json(
      R"([{"v":1},5,{"v":1e999},{"t":"x","v":1},{"only":null},[1],{"v":2,"t":3}])", kNow, f);
  REQUIRE(r.points.size() == 2);
  CHECK(std::get<double>(r.points[0].fields[0].second) == 1);
  CHECK(r.points[1].ts_us == 3000000);
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].line_no == 2);
  CHECK(r.errors[0].reason == ParseReason::wrong_type);
  CHECK(r.errors[1].line_no == 3);
  CHECK(r.errors[1].reason == ParseReason::nan_or_inf);
  CHECK(r.errors[2].line_no == 4);
  CHECK(r.errors[2].reason == ParseReason::bad_timestamp);
  CHECK(r.errors[3].line_no == 5);
  CHECK(r.errors[3].reason == ParseReason::no_fields);
  CHECK(r.errors[4].line_no == 6);
  CHECK(r.errors[4].reason == ParseReason::wrong_type);
  CHECK(parse_json("[]", kNow, f).errors.empty());
}

TEST_CASE("Invalid payloads are one payload-level error", "[ingest][json]") {
  for (const char* payload : {"", "{", "{\"v\":1", "{\"v\":}", "{\"v\":1} x", "[1,]", "nul",
                              "{'v':1}", "{\"v\":NaN}", "{\"v\":\"\\ud800\"}"}) {
    INFO(payload);
    const ParseError e = bad(payload, fixed());
    CHECK(e.reason == ParseReason::syntax);
    CHECK(e.line_no == 0);
  }
  CHECK(bad("{\"v\":\"\xff\"}", fixed()).reason == ParseReason::invalid_utf8);
  CHECK(bad("42", fixed()).reason == ParseReason::wrong_type);
  CHECK(bad("\"str\"", fixed()).reason == ParseReason::wrong_type);
  CHECK(bad("null", fixed()).reason == ParseReason::wrong_type);
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  CHECK(bad(deep, fixed()).reason == ParseReason::syntax);
  const std::string deep_obj =
      "{\"v\":1,\"a\":" + std::string(40, '[') + std::string(40, ']') + "}";
  CHECK(bad(deep_obj, fixed()).reason == ParseReason::syntax);
}

TEST_CASE("JSON string escapes are decoded", "[ingest][json]") {
  const Point p = one(R"({"s":"caf\u00e9 \"q\" \\ \n"})", fixed());
  CHECK(std::get<std::string>(p.fields[0].second) == "café \"q\" \\ \n");
}

TEST_CASE("A reused JSON parser carries nothing over between calls", "[ingest][json]") {
  JsonFormat f = fixed();
  f.tag_keys = {"t"};
  f.timestamp_field = "ts";
  JsonParser parser(f);
  std::vector<Point> points;
  auto sink = [&](const Point& p) { points.push_back(p); };
  auto none = [](const ParseError& e) { FAIL(e.message); };
  parser.parse(R"({"t":"a","x":1,"y":2,"ts":5})", kNow, sink, none);
  parser.parse(R"({"z":3})", kNow, sink, none);
  REQUIRE(points.size() == 2);
  CHECK(points[1].tags.empty());
  REQUIRE(points[1].fields.size() == 1);
  CHECK(points[1].fields[0].first == "z");
  CHECK_FALSE(points[1].has_ts);
  CHECK(points[1].ts_us == kNow);
}

TEST_CASE("Large payloads beyond the arena's first block parse", "[ingest][json]") {
  std::string payload = "[";
  for (int i = 0; i < 2000; ++i) {
    if (i > 0) payload += ',';
    payload += R"({"v":)";
    payload += std::to_string(i);
    payload += R"(,"s":"abc"})";
  }
  payload += "]";
  JsonResult r = parse_json(payload, kNow, fixed());
  CHECK(r.errors.empty());
  REQUIRE(r.points.size() == 2000);
  CHECK(std::get<double>(field(r.points[1999], "v")) == 1999);
}

}  // namespace
}  // namespace flowdb::ingest
