// RFC 3339 timestamps <-> microseconds since the Unix epoch.
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flowdb::ingest {

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". 'T' may also be 't'
// or ' ' and 'Z' may be 'z' (RFC 3339 section 5.6 note). Fraction digits beyond
// microseconds are truncated. The calendar is validated (month lengths, leap
// years). Leap second 60 is rejected, as Go's time.Parse does. Returns false if
// `s` is not such a timestamp.
[[nodiscard]] bool parse_rfc3339(std::string_view s, int64_t* out_us);

// Appends e.g. "2023-07-01T12:00:00.5Z": UTC, fraction trimmed of trailing zeros
// and omitted when zero (Go's RFC3339Nano layout). Returns false, leaving *out
// unchanged, if the year is outside 0000..9999.
[[nodiscard]] bool append_rfc3339(std::string* out, int64_t ts_us);

}  // namespace flowdb::ingest
