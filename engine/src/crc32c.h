// CRC32C (Castagnoli), as used by every FlowDB checksum. Debian 12 packages no
// CRC32C library, so this is a small implementation: the CPU's CRC32C
// instruction where there is one (SSE4.2 on x86-64, the CRC extension of ARMv8
// on aarch64; detected at run time), else a portable slicing-by-8 table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flowdb::crc32c {

// Returns the CRC32C of data, continuing from `init_crc` (the crc of a prefix).
uint32_t extend(uint32_t init_crc, const char* data, size_t n);
inline uint32_t value(std::string_view s) { return extend(0, s.data(), s.size()); }

// The portable table-driven implementation (what extend() uses on CPUs
// without a CRC32C instruction). Same results as extend().
uint32_t extend_portable(uint32_t init_crc, const char* data, size_t n);
// True if extend() runs on a CPU CRC32C instruction.
bool hardware_accelerated();

// Stored CRCs are masked so that a CRC of data containing embedded CRCs
// does not degenerate (as in LevelDB).
inline uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t unmask(uint32_t m) {
  uint32_t rot = m - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace flowdb::crc32c
