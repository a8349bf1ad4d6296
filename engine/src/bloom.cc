#include "bloom.h"

#include <algorithm>

#include "coding.h"

namespace flowdb {

namespace {

// High 64 bits of the 128-bit product x * n. 32-bit targets (armhf) have no
// __int128; the portable path gives bit-identical results, so filters written
// on one architecture read the same on every other.
inline uint64_t mul_high64(uint64_t x, uint64_t n) {
#ifdef __SIZEOF_INT128__
  __extension__ typedef unsigned __int128 uint128;
  return static_cast<uint64_t>((static_cast<uint128>(x) * n) >> 64);
#else
  const uint64_t x_lo = x & 0xffffffffu, x_hi = x >> 32;
  const uint64_t n_lo = n & 0xffffffffu, n_hi = n >> 32;
  const uint64_t lo_lo = x_lo * n_lo, hi_lo = x_hi * n_lo, lo_hi = x_lo * n_hi;
  const uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
  return x_hi * n_hi + (hi_lo >> 32) + (cross >> 32);
#endif
}

// Maps a 64-bit value uniformly onto [0, n) without a division.
inline uint64_t fast_range(uint64_t x, uint64_t n) { return mul_high64(x, n); }

// Second hash for double hashing: the rotated first one, forced odd so that
// successive probes never repeat a position sequence of period 1.
inline uint64_t probe_delta(uint64_t h) { return ((h >> 32) | (h << 32)) | 1; }

}  // namespace

// MurmurHash64A over little-endian words (byte order fixed for portability).
uint64_t bloom_hash(std::string_view key) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ull;
  constexpr int r = 47;
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * m);
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t k = decode_fixed64(p);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  if (n > 0) {
    uint64_t k = 0;
    for (size_t i = 0; i < n; ++i) k |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
    h ^= k;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

BloomFilterBuilder::BloomFilterBuilder(size_t bits_per_key)
    : bits_per_key_(std::max<size_t>(1, bits_per_key)) {
  // 0.69 ~= ln(2) minimises the false-positive rate for a given size.
  k_ = static_cast<int>(static_cast<double>(bits_per_key_) * 0.69);
  k_ = std::clamp(k_, 1, 30);
}

void BloomFilterBuilder::finish(std::string* dst) const {
  // A minimum size keeps tiny filters from having a very high FP rate.
  const uint64_t bits = std::max<uint64_t>(64, uint64_t{hashes_.size()} * bits_per_key_);
  const uint64_t bytes = (bits + 7) / 8;
  const uint64_t nbits = bytes * 8;
  const size_t start = dst->size();
  dst->resize(start + bytes, '\0');
  char* array = dst->data() + start;
  for (uint64_t h : hashes_) {
    const uint64_t delta = probe_delta(h);
    for (int j = 0; j < k_; ++j) {
      const uint64_t pos = fast_range(h, nbits);
      array[pos / 8] = static_cast<char>(array[pos / 8] | (1 << (pos % 8)));
      h += delta;
    }
  }
  dst->push_back(static_cast<char>(k_));
}

bool bloom_may_match(std::string_view filter, std::string_view key) {
  if (filter.size() < 2) return true;
  const int k = static_cast<uint8_t>(filter.back());
  if (k < 1 || k > 30) return true;  // reserved for other encodings
  const uint64_t nbits = uint64_t{filter.size() - 1} * 8;
  const char* array = filter.data();
  uint64_t h = bloom_hash(key);
  const uint64_t delta = probe_delta(h);
  for (int j = 0; j < k; ++j) {
    const uint64_t pos = fast_range(h, nbits);
    if ((array[pos / 8] & (1 << (pos % 8))) == 0) return false;
    h += delta;
  }
  return true;
}

}  // namespace flowdb
