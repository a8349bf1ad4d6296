// Bloom filter over the distinct user keys of an SST (one filter per file).
// Layout: bit array, then one byte k (number of probes). Probes use double
// hashing over a 64-bit hash of the key. Byte format: engine/doc/format_sst.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flowdb {

// Hash used by the filter (stable across platforms; part of the format).
uint64_t bloom_hash(std::string_view key);

// Accumulates key hashes, then emits the filter. Not thread-safe.
class BloomFilterBuilder {
 public:
  // bits_per_key > 0; k = floor(bits_per_key * 0.69) clamped to [1, 30].
  explicit BloomFilterBuilder(size_t bits_per_key);
  // Adding the same key twice only wastes space; callers dedupe.
  void add_key(std::string_view key) { hashes_.push_back(bloom_hash(key)); }
  size_t num_keys() const { return hashes_.size(); }
  // Appends the filter for every key added so far to *dst.
  void finish(std::string* dst) const;

 private:
  size_t bits_per_key_;
  int k_;
  std::vector<uint64_t> hashes_;
};

// False only if `key` was certainly not added to `filter`. A filter of
// unknown format (too short, k outside [1, 30]) answers true.
bool bloom_may_match(std::string_view filter, std::string_view key);

}  // namespace flowdb
