// Point: the ingest data model shared by every payload parser.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace flowdb::ingest {

// A field value. The alternative index is stable and part of no on-disk format
// (value_codec.h owns the stored type bytes).
using FieldValue = std::variant<double, int64_t, uint64_t, bool, std::string>;

// Unit of a timestamp in a payload (InfluxDB `precision` query parameter).
// Points always carry microseconds.
enum class Precision : uint8_t { ns, us, ms, s };

using Tag = std::pair<std::string, std::string>;
using Field = std::pair<std::string, FieldValue>;

// One sample of one series: measurement + tag set + one or more fields at one time.
//
// Invariants of points produced by the parsers: measurement, tag keys/values and
// field keys are non-empty valid UTF-8; tags are sorted by key (bytewise) with
// unique keys; field keys are unique; doubles are finite; strings are valid UTF-8.
// Plain value type; thread-compatible.
struct Point {
  std::string measurement;
  std::vector<Tag> tags;      // Sorted by key, unique keys.
  std::vector<Field> fields;  // Unique keys, in first-seen order.
  int64_t ts_us = 0;          // Microseconds since the Unix epoch.
  bool has_ts = false;        // False: ts_us was defaulted from the receive time.

  friend bool operator==(const Point&, const Point&) = default;
};

// Sorts `tags` by key. Returns false if two tags share a key (tags are then sorted
// but still contain the duplicates).
bool sort_tags(std::vector<Tag>* tags);

// Removes duplicate field keys: the LAST value of a key wins (as InfluxDB) and
// stays at the position of the key's FIRST occurrence. `scratch` is reused to
// avoid allocations on the hot path.
void dedupe_fields(std::vector<Field>* fields, std::vector<uint32_t>* scratch);

// Inserts or replaces tag `key` keeping `tags` sorted (tags must already be sorted).
void upsert_tag(std::vector<Tag>* tags, std::string_view key, std::string_view value);

}  // namespace flowdb::ingest
