// Series keys: the canonical engine key of one (measurement, tag set, field).
//
// Encoding (version 1). Every string component is written as
//
//     comp(s) = esc(s) 0x00 0x01        esc: each 0x00 byte -> 0x00 0xFF, others as-is
//
// and a key is
//
//     key = comp(measurement) { comp(tag_key) comp(tag_value) }* 0x00 0x02 comp(field)
//
// with tags in strictly ascending bytewise key order. So an escaped component
// never contains 0x00 0x01 or 0x00 0x02. The first unescaped 0x00 0x01 ends a
// component, and 0x00 0x02 (which no component can start with) ends the tag set.
// Consequences:
//  * Injective and decodable: decode_series_key(encode(x)) == x. decode rejects
//    every byte string that encode cannot produce (bad escape, missing
//    terminator, trailing bytes, unsorted or duplicate tag keys).
//  * Prefix-friendly: measurement_prefix(m) = comp(m) is a prefix of exactly the
//    keys of measurement m, and series_prefix(m, tags) = comp(m) {comp(k) comp(v)}
//    0x00 0x02 is a prefix of exactly the keys of that series (all of its fields).
//    Neither is a prefix of the keys of another measurement or series (not even
//    one whose names extend these, e.g. "cpu" vs "cpu2", or one with extra tags).
//  * Order-preserving per component, because 0x00 0x01 < 0x00 0xFF: "a" < "a\0"
//    < "ab", like the FoundationDB tuple layer. So one measurement's keys and one
//    series' keys are contiguous in the engine.
// Components may be empty and may contain any bytes. The parsers never produce
// empty names, but the codec does not need to forbid them.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/point.h"

namespace flowdb::ingest {

using TagView = std::pair<std::string_view, std::string_view>;

// Appends comp(measurement) to *out.
void append_measurement_prefix(std::string* out, std::string_view measurement);
std::string measurement_prefix(std::string_view measurement);

// Appends the series prefix to *out. Returns false, leaving *out unchanged, if
// tag keys are not strictly ascending (unsorted or duplicate).
[[nodiscard]] bool append_series_prefix(std::string* out, std::string_view measurement,
                                        std::span<const Tag> tags);
[[nodiscard]] bool append_series_prefix(std::string* out, std::string_view measurement,
                                        std::span<const TagView> tags);
// Returns the series prefix, or "" (never a valid prefix) if tags are not
// strictly ascending.
std::string series_prefix(std::string_view measurement, std::span<const Tag> tags);
std::string series_prefix(std::string_view measurement, std::span<const TagView> tags);

// Appends comp(field). series prefix + this = the full key. This lets a writer
// encode the prefix once per point and reuse it for each field.
void append_field_suffix(std::string* out, std::string_view field);

// Appends the full key. Returns false, leaving *out unchanged, if tag keys are
// not strictly ascending.
[[nodiscard]] bool append_series_key(std::string* out, std::string_view measurement,
                                     std::span<const Tag> tags, std::string_view field);
// Returns the full key, or "" (never a valid key) if tags are not strictly ascending.
std::string series_key(std::string_view measurement, std::span<const Tag> tags,
                       std::string_view field);

// The decoded components of a key.
struct SeriesKeyParts {
  std::string measurement;
  std::vector<Tag> tags;
  std::string field;

  friend bool operator==(const SeriesKeyParts&, const SeriesKeyParts&) = default;
};

// Decodes `key` into *out. Returns false if `key` is not exactly an encoder
// output. *out is unspecified on failure.
[[nodiscard]] bool decode_series_key(std::string_view key, SeriesKeyParts* out);

}  // namespace flowdb::ingest
