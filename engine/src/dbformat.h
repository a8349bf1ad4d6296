// Internal keys: how (user key, ts, sequence, type) is encoded and ordered.
// Byte formats are documented in engine/doc/format.md.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "coding.h"

namespace flowdb {

enum class ValueType : uint8_t { Deletion = 0, Value = 1 };

inline constexpr uint64_t kMaxSequence = (uint64_t{1} << 56) - 1;
// Suffix appended to the user key: 8 bytes ts, 8 bytes (seq << 8 | type).
inline constexpr size_t kInternalSuffix = 16;

// Internal key = user_key | fixed64(ts XOR sign bit) | fixed64(seq << 8 | type)
// Order: user key bytes ascending, ts ascending, seq DEscending, type descending.
struct ParsedInternalKey {
  std::string_view user_key;
  int64_t ts = 0;
  uint64_t seq = 0;
  ValueType type = ValueType::Value;
};

inline uint64_t pack_seq_type(uint64_t seq, ValueType t) {
  return (seq << 8) | static_cast<uint8_t>(t);
}
inline void append_internal_key(std::string* dst, std::string_view user_key, int64_t ts,
                                uint64_t seq, ValueType t) {
  dst->append(user_key);
  put_fixed64(dst, static_cast<uint64_t>(ts) ^ (uint64_t{1} << 63));
  put_fixed64(dst, pack_seq_type(seq, t));
}
inline std::string make_internal_key(std::string_view user_key, int64_t ts, uint64_t seq,
                                     ValueType t) {
  std::string s;
  s.reserve(user_key.size() + kInternalSuffix);
  append_internal_key(&s, user_key, ts, seq, t);
  return s;
}
inline std::string_view extract_user_key(std::string_view ikey) {
  return ikey.substr(0, ikey.size() - kInternalSuffix);
}
inline int64_t extract_ts(std::string_view ikey) {
  return static_cast<int64_t>(decode_fixed64(ikey.data() + ikey.size() - 16) ^ (uint64_t{1} << 63));
}
inline uint64_t extract_seq_type(std::string_view ikey) {
  return decode_fixed64(ikey.data() + ikey.size() - 8);
}
// Returns false if ikey is too short or the type byte is unknown.
inline bool parse_internal_key(std::string_view ikey, ParsedInternalKey* out) {
  if (ikey.size() < kInternalSuffix) return false;
  uint64_t st = extract_seq_type(ikey);
  uint8_t t = static_cast<uint8_t>(st & 0xff);
  if (t > 1) return false;
  out->user_key = extract_user_key(ikey);
  out->ts = extract_ts(ikey);
  out->seq = st >> 8;
  out->type = static_cast<ValueType>(t);
  return true;
}
// Three-way comparison of two well-formed internal keys.
inline int compare_internal_keys(std::string_view a, std::string_view b) {
  int r = extract_user_key(a).compare(extract_user_key(b));
  if (r != 0) return r < 0 ? -1 : 1;
  int64_t ta = extract_ts(a), tb = extract_ts(b);
  if (ta != tb) return ta < tb ? -1 : 1;
  uint64_t sa = extract_seq_type(a), sb = extract_seq_type(b);
  if (sa != sb) return sa > sb ? -1 : 1;  // newer first
  return 0;
}

// Entry value = fixed64(expire_at) | user value bytes. Deletions carry an
// expire_at of INT64_MIN (they never keep a file alive) and no value bytes.
inline void append_entry_value(std::string* dst, int64_t expire_at, std::string_view value) {
  put_fixed64(dst, static_cast<uint64_t>(expire_at));
  dst->append(value);
}
inline int64_t entry_expire_at(std::string_view v) {
  return static_cast<int64_t>(decode_fixed64(v.data()));
}
inline std::string_view entry_user_value(std::string_view v) { return v.substr(8); }

// Table format 2 stores a data entry's expire_at relative to its ts, so that
// the records of one TTL repeat one 8-byte value that LZ4 removes (an
// absolute expire_at differs in every record). The sentinels kNeverExpires
// and INT64_MIN (deletions) are stored as they are. A put's expire_at is
// never below its ts (saturating_expiry), so the two deltas that would read
// back as a sentinel cannot occur; if one is handed in anyway it is stored as
// that sentinel. Arithmetic wraps (mod 2^64).
inline uint64_t encode_stored_expiry(int64_t ts, int64_t expire_at) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (expire_at == kMax || expire_at == kMin) return static_cast<uint64_t>(expire_at);
  return static_cast<uint64_t>(expire_at) - static_cast<uint64_t>(ts);
}
inline int64_t decode_stored_expiry(int64_t ts, uint64_t stored) {
  const auto v = static_cast<int64_t>(stored);
  if (v == std::numeric_limits<int64_t>::max() || v == std::numeric_limits<int64_t>::min()) {
    return v;
  }
  return static_cast<int64_t>(stored + static_cast<uint64_t>(ts));
}

// ts + ttl, saturating at kNeverExpires (INT64_MAX).
inline int64_t saturating_expiry(int64_t ts, uint64_t ttl_secs) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (ttl_secs > static_cast<uint64_t>(kMax / 1'000'000)) return kMax;
  int64_t ttl_us = static_cast<int64_t>(ttl_secs) * 1'000'000;
  if (ts > 0 && ttl_us > kMax - ts) return kMax;
  return ts + ttl_us;
}

// Bucket of a timestamp: floor(ts / width), width in microseconds.
inline int64_t bucket_of(int64_t ts, int64_t width_us) {
  int64_t q = ts / width_us;
  if ((ts % width_us != 0) && (ts < 0)) --q;
  return q;
}

// First and last microsecond of bucket b, clamped to the int64 range (the
// lowest and highest buckets are partial).
inline int64_t bucket_start(int64_t b, int64_t width_us) {
  int64_t r;
  if (__builtin_mul_overflow(b, width_us, &r)) return std::numeric_limits<int64_t>::min();
  return r;
}
inline int64_t bucket_end(int64_t b, int64_t width_us) {
  // (b + 1) * w - 1: representable even for the lowest bucket, whose start
  // (b * w) is not.
  int64_t r;
  if (b == std::numeric_limits<int64_t>::max() || __builtin_mul_overflow(b + 1, width_us, &r)) {
    return b < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return r - 1;
}

}  // namespace flowdb
