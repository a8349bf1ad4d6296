// Value codec: the compact typed encoding of one field value (the engine record value).
//
//   byte 0      payload
//   0x01 f64    8 bytes, IEEE-754 binary64 bit pattern, little-endian; finite only
//   0x02 i64    zigzag LEB128 varint, minimal length (1..10 bytes)
//   0x03 u64    LEB128 varint, minimal length (1..10 bytes)
//   0x04 false  none
//   0x05 true   none
//   0x06 str    the raw bytes (valid UTF-8), up to the end of the value
//   0x07 stale  none: a Prometheus staleness marker (remote write's StaleNaN,
//               the double with bits kStaleMarkerBits), the end of a series
//   0x08 nonfin 8 bytes, the bit pattern of a NaN or ±Inf double (Prometheus
//               samples may be NaN or infinite), little-endian
//
// NaN/Inf policy: line protocol and JSON do not admit NaN/Inf (their parsers
// reject them), so a float64 (0x01) is always finite and decode rejects a
// non-finite 0x01 as corruption. Prometheus remote write does carry NaN, ±Inf
// and the staleness marker: append_value encodes those as 0x07 / 0x08, which
// decode_value does NOT return (they are no line-protocol field value:
// exporters skip them); prom_sample_value() reads every numeric type,
// 0x07 and 0x08 included, for the Prometheus query API.
// decode rejects anything the encoder cannot produce: unknown type bytes, wrong
// payload lengths, truncated, overlong or non-minimal varints, trailing bytes,
// and invalid UTF-8. So decode(x) succeeds => encode(decode(x)) == x.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/point.h"

namespace flowdb::ingest {

enum class ValueType : uint8_t {
  float64 = 0x01,
  int64 = 0x02,
  uint64 = 0x03,
  bool_false = 0x04,
  bool_true = 0x05,
  string = 0x06,
  stale = 0x07,
  nonfinite = 0x08,
};

// Prometheus's value.StaleNaN.
inline constexpr uint64_t kStaleMarkerBits = 0x7ff0000000000002ull;

// Whether `encoded` is the staleness marker (type 0x07).
inline bool is_stale_marker(std::string_view encoded) {
  return encoded.size() == 1 && static_cast<uint8_t>(encoded[0]) == 0x07;
}
// Whether `encoded` is a Prometheus-only value (0x07 or 0x08) that
// decode_value does not return.
inline bool is_prom_only_value(std::string_view encoded) {
  return !encoded.empty() &&
         (static_cast<uint8_t>(encoded[0]) == 0x07 || static_cast<uint8_t>(encoded[0]) == 0x08);
}

// The value as a Prometheus sample: floats, integers, unsigned, booleans (1
// or 0), the staleness marker (as the StaleNaN double) and 0x08 values.
// False for strings and malformed input.
[[nodiscard]] bool prom_sample_value(std::string_view encoded, double* out);

// Appends the encoding of `v` to *out (a NaN or infinite double as 0x07 or
// 0x08). Never fails today; kept [[nodiscard]] for callers that check.
[[nodiscard]] bool append_value(std::string* out, const FieldValue& v);

// Returns the encoding of `v`.
std::string encode_value(const FieldValue& v);

// Decodes `in` into *out. Returns false if `in` is malformed (see above) or is
// a Prometheus-only value (0x07, 0x08).
[[nodiscard]] bool decode_value(std::string_view in, FieldValue* out);

}  // namespace flowdb::ingest
