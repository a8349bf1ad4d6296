// JSON payloads -> Points (a json_v2-lite mapping, as Telegraf / Fluent Bit do).
//
// A payload is one JSON object (one point) or an array of objects (one point
// each). Each object is flattened: nested object keys are joined with '_'
// ({"a":{"b":1}} -> "a_b") and array elements get their index
// ({"v":[1,2]} -> "v_0", "v_1"). If two paths flatten to the same name, the
// later one in document order wins. Every flattened scalar is then used as:
//  * the measurement, if its name is `measurement_field`. It must be a
//    non-empty string (else wrong_type). Without it the fixed `measurement` is
//    used. With neither, the point is missing_measurement.
//  * the timestamp, if its name is `timestamp_field`. unix_* formats take a
//    number or numeric string: integers are scaled exactly (ns floors) and
//    fractions are rounded to the nearest microsecond. rfc3339 takes a string
//    (see rfc3339.h). If the field is absent, ts_us = now_us and has_ts = false.
//  * a tag, if its name is in `tag_keys`. Strings are used as-is, numbers in
//    shortest decimal form, booleans as "true"/"false". Null and "" omit the tag.
//  * a field, if `field_keys` is empty (then every remaining scalar is a field)
//    or lists the name. Null and empty names are skipped. Numbers become
//    doubles, unless `ints_as_int` is set and the JSON token is an integer: then
//    int64, or uint64 above INT64_MAX.
// Per-point errors (the point is dropped, others are kept): wrong_type (a
// non-object array element, a non-string measurement), nan_or_inf (a number
// beyond double range), bad_timestamp, timestamp_out_of_range, no_fields,
// missing_measurement. Payload-level errors (line_no = 0): syntax (malformed
// JSON, nesting deeper than 32) and invalid_utf8.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/function_ref.h"
#include "ingest/parse_error.h"
#include "ingest/point.h"

namespace flowdb::ingest {

struct JsonFormat {
  enum TsFormat { unix_s, unix_ms, unix_us, unix_ns, rfc3339 };

  std::string measurement;        // Fixed measurement name (fallback).
  std::string measurement_field;  // Flattened name holding the measurement.
  std::vector<std::string> tag_keys;
  std::string timestamp_field;  // Empty: always use now_us.
  TsFormat ts_format = unix_s;
  std::vector<std::string> field_keys;  // Empty: all remaining scalars.
  bool ints_as_int = false;
};

// Parses JSON payloads according to a JsonFormat. Reuses its buffers across calls.
// Thread-safety: not thread-safe; use one parser per thread.
class JsonParser {
 public:
  explicit JsonParser(JsonFormat format);
  ~JsonParser();
  JsonParser(JsonParser&&) noexcept;
  JsonParser& operator=(JsonParser&&) noexcept;

  // Parses `payload`. Calls `on_point` per good point (valid only during the
  // call) and `on_error` per rejected point or payload. Never throws on bad input.
  // Exceptions thrown by the sinks propagate.
  ParseStats parse(std::string_view payload, int64_t now_us,
                   FunctionRef<void(const Point&)> on_point,
                   FunctionRef<void(const ParseError&)> on_error);

  const JsonFormat& format() const { return format_; }

  struct State;  // Opaque reusable buffers (defined in json_format.cc).

 private:
  JsonFormat format_;
  std::unique_ptr<State> state_;
};

// Convenience wrapper that collects all points and errors (tests, tools).
struct JsonResult {
  std::vector<Point> points;
  std::vector<ParseError> errors;
};
JsonResult parse_json(std::string_view payload, int64_t now_us, const JsonFormat& format);

}  // namespace flowdb::ingest
