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
//
// NaN/Inf policy: line protocol and JSON do not admit NaN/Inf, so the codec
// refuses to encode them and decode rejects such a bit pattern as corruption.
// The one exception is the staleness marker: append_value encodes that NaN
// as type 0x07, which decode_value does NOT return (it is no field value:
// exporters skip it); is_stale_marker() recognises it, and the Prometheus
// query API reads it back as the marker.
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
};

// Prometheus's value.StaleNaN.
inline constexpr uint64_t kStaleMarkerBits = 0x7ff0000000000002ull;

// Whether `encoded` is the staleness marker (type 0x07).
inline bool is_stale_marker(std::string_view encoded) {
  return encoded.size() == 1 && static_cast<uint8_t>(encoded[0]) == 0x07;
}

// Appends the encoding of `v` to *out. Returns false, leaving *out unchanged, if
// `v` is a NaN (other than the staleness marker) or infinite double.
[[nodiscard]] bool append_value(std::string* out, const FieldValue& v);

// Returns the encoding of `v`, or "" (never a valid encoding) for NaN/Inf.
std::string encode_value(const FieldValue& v);

// Decodes `in` into *out. Returns false if `in` is malformed (see above) or is
// the staleness marker.
[[nodiscard]] bool decode_value(std::string_view in, FieldValue* out);

}  // namespace flowdb::ingest
