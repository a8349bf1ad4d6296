// Record: the unit of storage of the FlowDB engine.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace flowdb {

// expire_at value meaning "never expires".
inline constexpr int64_t kNeverExpires = std::numeric_limits<int64_t>::max();

// One stored version. Identity is (key, ts): writing the same (key, ts) again
// replaces the earlier version; versions at different ts coexist.
//
// `key` and `value` are binary-safe byte strings. `ts` and `expire_at` are
// microseconds since the Unix epoch; a record is invisible to every read once
// expire_at <= the engine clock.
struct Record {
  std::string key;
  int64_t ts = 0;
  int64_t expire_at = kNeverExpires;
  std::string value;

  Record() = default;
  Record(std::string key, int64_t ts, std::string value)
      : key(std::move(key)), ts(ts), value(std::move(value)) {}
  Record(std::string key, int64_t ts, int64_t expire_at, std::string value)
      : key(std::move(key)), ts(ts), expire_at(expire_at), value(std::move(value)) {}

  // The key as text. Bytes are returned unchanged (no UTF-8 validation).
  std::string_view key_str() const noexcept { return key; }

  friend bool operator==(const Record&, const Record&) = default;
};

}  // namespace flowdb
