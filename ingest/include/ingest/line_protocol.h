// InfluxDB line protocol: parser and serializer.
//
//   <measurement>[,<tag_key>=<tag_value>...] <field_key>=<field_value>[,...] [<timestamp>]
//
// Accepted syntax (see ingest/README.md for the full rules and examples):
//  * Lines end with '\n'; a '\r' immediately before it is dropped (CRLF). Lines
//    that are empty, hold only spaces/tabs, or whose first non-blank byte is '#'
//    (comments) are skipped. Leading spaces/tabs are ignored. Sections are
//    separated by one or more spaces. Trailing spaces are allowed.
//  * Escapes: a backslash escapes ',' and ' ' in the measurement; ',', '=' and
//    ' ' in tag keys, tag values and field keys; '"' in string field values. In
//    all of them "\\" is one backslash. A backslash before any other byte is a
//    literal backslash. A backslash ending the line inside a name is
//    bad_escape; inside a string it leaves the string unterminated (syntax).
//    Tag values must not contain an unescaped '='. Newlines cannot be escaped.
//  * Field values: float (default; "1", "-1.5", ".5", "1.", "1e9", "1.5E-3";
//    NaN/Inf literals are nan_or_inf and overflow is bad_field_value; underflow
//    gives +-0), integer "-12i", unsigned "12u", string "\"...\"" (at most
//    max_string_bytes after unescaping), boolean t/T/true/True/TRUE/f/F/false/
//    False/FALSE.
//  * Tags are sorted by key; a repeated tag key is duplicate_tag. A repeated
//    field key keeps the last value (as InfluxDB).
//  * Timestamp: optional signed integer in `precision` units. It is converted to
//    microseconds, flooring sub-microsecond ns (so -1ns -> -1us). A value beyond
//    int64 in its own unit or after scaling is timestamp_out_of_range. If it is
//    absent, ts_us = now_us and has_ts = false.
//  * All names and string values must be valid UTF-8 (checked per line).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/function_ref.h"
#include "ingest/parse_error.h"
#include "ingest/point.h"

namespace flowdb::ingest {

// Parses "ns"/"n", "us"/"u", "ms", "s". Returns nullopt otherwise.
std::optional<Precision> parse_precision(std::string_view s) noexcept;

struct LineProtocolOptions {
  Precision precision = Precision::ns;
  // Longer lines (excluding the line break) are rejected as line_too_long
  // without being parsed. 64 KiB is the largest UDP payload.
  size_t max_line_bytes = 64 * 1024;
  // The spec limits string field values to 64 KiB.
  size_t max_string_bytes = 64 * 1024;
  // The spec reserves names starting with '_' for InfluxDB itself. FlowDB keys
  // don't need that, so by default such names are accepted. If this is true they
  // are rejected as reserved_name.
  bool reject_reserved_names = false;
};

// Parses line-protocol payloads. Reuses internal buffers across lines and
// calls, so steady-state parsing does not allocate.
// Thread-safety: not thread-safe; use one parser per thread.
class LineProtocolParser {
 public:
  explicit LineProtocolParser(LineProtocolOptions options = {});

  // Parses every line of `payload`. For each good line, `on_point` receives a
  // Point that is valid only during the call (it is reused). For each bad line,
  // `on_error` receives the reason. A bad line never affects other lines. Never
  // throws on bad input. Exceptions thrown by the sinks propagate.
  ParseStats parse(std::string_view payload, int64_t now_us,
                   FunctionRef<void(const Point&)> on_point,
                   FunctionRef<void(const ParseError&)> on_error);

  const LineProtocolOptions& options() const { return options_; }

 private:
  LineProtocolOptions options_;
  Point point_;
  std::vector<uint32_t> scratch_;
};

// Convenience wrapper that collects all points and errors (tests, tools).
struct LineProtocolResult {
  std::vector<Point> points;
  std::vector<ParseError> errors;
};
LineProtocolResult parse_line_protocol(std::string_view payload, int64_t now_us,
                                       const LineProtocolOptions& options = {});

// Appends `p` as one line, terminated by '\n', with its timestamp in
// `precision` units (ms and s floor the value; omitted if !p.has_ts).
// Returns false, leaving *out unchanged, if `p` cannot be represented:
//  * no fields, an empty measurement, tag key, tag value or field key;
//  * a '\n' anywhere, or invalid UTF-8;
//  * a measurement starting with '#' or '\t' (it would read as a comment or
//    as leading whitespace);
//  * a NaN/Inf double;
//  * a timestamp that overflows int64 in `precision`.
// Output of a Point that satisfies the Point invariants parses back to an equal
// Point with the same precision (ns or us; ms/s are lossy). Backslashes are
// escaped only where the parser would otherwise misread them, which keeps
// output readable by older parsers that don't unescape "\\" in names.
// Thread-safety: reentrant.
[[nodiscard]] bool append_line_protocol(std::string* out, const Point& p,
                                        Precision precision = Precision::ns);

}  // namespace flowdb::ingest
