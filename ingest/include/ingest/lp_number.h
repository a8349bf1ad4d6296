// Number and timestamp token parsing shared by the line-protocol and JSON parsers.
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string_view>

#include "ingest/point.h"

namespace flowdb::ingest {

enum class LpValueStatus : uint8_t { ok, invalid, out_of_range, nan_or_inf };

// Parses an unquoted line-protocol field value token: boolean, "<int>i",
// "<uint>u" or float. See line_protocol.h for the grammar.
LpValueStatus classify_lp_value(std::string_view tok, FieldValue* out);

// Parses a float in line-protocol grammar: -?(D+(.D*)?|.D+)([eE][+-]?D+)?.
// Overflow is out_of_range; underflow yields +-0.
LpValueStatus parse_lp_float(std::string_view tok, double* out);

// Parses -?D+ into int64.
LpValueStatus parse_lp_timestamp(std::string_view tok, int64_t* out);

// Converts `v` in `unit` to microseconds (ns floors). Returns false on overflow.
bool scale_timestamp_to_us(int64_t v, Precision unit, int64_t* out_us);

// Floor division for a positive divisor.
constexpr int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b < 0) ? q - 1 : q;
}

}  // namespace flowdb::ingest
