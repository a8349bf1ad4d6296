// Per-line / per-point parse errors shared by all payload parsers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flowdb::ingest {

// Why a line (line protocol) or an element (JSON) was rejected. Stable names
// (reason_name) are meant for metrics labels and logs.
enum class ParseReason : uint8_t {
  syntax,                  // Structure is wrong (missing '=', unterminated quote, ...).
  bad_escape,              // A backslash with nothing left to escape (end of line).
  no_fields,               // The point has no field.
  bad_field_value,         // A field value is not a valid int/uint/float/bool/string.
  bad_timestamp,           // The timestamp is not a valid number / date.
  timestamp_out_of_range,  // The timestamp does not fit int64 microseconds.
  invalid_utf8,            // A name or string value is not valid UTF-8.
  line_too_long,           // The line exceeds the configured maximum length.
  nan_or_inf,              // A float field is NaN or +-Inf.
  duplicate_tag,           // The same tag key appears twice in one point.
  reserved_name,           // A name starts with '_' and reserved names are rejected.
  wrong_type,              // JSON: an element / value has an unusable JSON type.
  missing_measurement,     // JSON: no measurement name could be determined.
};

// Returns e.g. "bad_escape"; "unknown" for out-of-range values.
std::string_view reason_name(ParseReason reason) noexcept;

// One rejected line or element. `line_no` is the 1-based physical line for line
// protocol, and for JSON the 1-based array element index (1 for a top-level
// object; 0 when the whole payload was rejected). `column` is the 1-based byte
// offset in the line of the problem (0 when not applicable).
struct ParseError {
  uint64_t line_no = 0;
  ParseReason reason = ParseReason::syntax;
  std::string message;
  uint32_t column = 0;
};

// Outcome counters of one parse call.
struct ParseStats {
  uint64_t points = 0;  // Points delivered to the sink.
  uint64_t errors = 0;  // Errors delivered to the error sink.
};

}  // namespace flowdb::ingest
