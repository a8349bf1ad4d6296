// Query, ScanRange and ReadOptions: what to read.
//
// Key ranges are half-open [start, end); an empty `end` means "no upper
// bound". Time ranges are inclusive [t0, t1]. A prefix matches every key that
// starts with those bytes; the empty prefix matches all keys. Results come in
// (key ascending, ts ascending) order, one record per (key, ts).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace flowdb {

class Snapshot;

struct ScanRange {
  std::string start_key;                                   // inclusive
  std::optional<std::string> end_key;                      // exclusive; nullopt = unbounded
  int64_t ts_start = std::numeric_limits<int64_t>::min();  // inclusive
  int64_t ts_end = std::numeric_limits<int64_t>::max();    // inclusive

  static ScanRange all() { return {}; }
  static ScanRange prefix(std::string p);
  static ScanRange key_range(std::string start, std::string end);
  static ScanRange time_range(int64_t t0, int64_t t1);
  static ScanRange prefix_time_range(std::string p, int64_t t0, int64_t t1);
  static ScanRange key_time_range(std::string start, std::string end, int64_t t0, int64_t t1);
};

// The same selections as ScanRange, materialised by Engine::query, with an
// optional limit applied AFTER every filter (visibility, TTL, time range).
struct Query {
  ScanRange range;
  std::optional<size_t> limit;

  static Query prefix(std::string p) { return {ScanRange::prefix(std::move(p)), {}}; }
  static Query key_range(std::string s, std::string e) {
    return {ScanRange::key_range(std::move(s), std::move(e)), {}};
  }
  static Query time_range(int64_t t0, int64_t t1) { return {ScanRange::time_range(t0, t1), {}}; }
  static Query prefix_time_range(std::string p, int64_t t0, int64_t t1) {
    return {ScanRange::prefix_time_range(std::move(p), t0, t1), {}};
  }
  static Query key_time_range(std::string s, std::string e, int64_t t0, int64_t t1) {
    return {ScanRange::key_time_range(std::move(s), std::move(e), t0, t1), {}};
  }
  Query& with_limit(size_t n) {
    limit = n;
    return *this;
  }
};

struct ReadOptions {
  // Insert blocks read by this operation into the block cache.
  bool fill_cache = true;
  // Verify the CRC32C of every block read from disk (cached blocks were
  // verified when they were read).
  bool verify_checksums = true;
  // Read as of this snapshot (Engine::get_snapshot); null = the latest state.
  std::shared_ptr<const Snapshot> snapshot;
};

// Returns the smallest key greater than every key starting with `prefix`, or
// nullopt if none exists (prefix empty or all 0xff).
std::optional<std::string> prefix_successor(std::string_view prefix);

}  // namespace flowdb
