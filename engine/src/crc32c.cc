// CRC32C. Two implementations with identical results:
//
//  * Hardware: the CRC32C instruction, 8 bytes per step (x86-64 SSE4.2
//    `crc32q`, ARMv8 `crc32cx`). Compiled with a per-function target
//    attribute, so the rest of the build keeps the baseline ISA, and chosen
//    at run time only if the CPU has it (cpuid on x86-64, HWCAP_CRC32 on
//    aarch64). Other architectures (armhf) compile the portable one only.
//  * Portable slicing-by-8. The eight 256-entry tables are generated at
//    compile time: table[0] is the classic byte-at-a-time table for the
//    reflected Castagnoli polynomial, and table[k][b] is the CRC of byte b
//    followed by k zero bytes, which lets the main loop fold eight input
//    bytes per step.
#include "crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FLOWDB_CRC32C_X86 1
#include <nmmintrin.h>
#elif defined(__aarch64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define FLOWDB_CRC32C_ARM64 1
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace flowdb::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // Castagnoli polynomial, bit-reversed

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPoly : 0u);
    t[0][i] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
  }
  return t;
}

constexpr Tables kTables = make_tables();
static_assert(kTables[0][1] == 0xF26B8303u, "CRC32C table generation is broken");

// Little-endian load; compilers turn this into a single mov on x86/arm64.
inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// The CPU instruction for one byte and for eight (little-endian) bytes.
#if defined(FLOWDB_CRC32C_X86)
#define FLOWDB_CRC32C_TARGET __attribute__((target("sse4.2")))
FLOWDB_CRC32C_TARGET inline uint32_t crc_byte(uint32_t crc, uint8_t b) {
  return _mm_crc32_u8(crc, b);
}
FLOWDB_CRC32C_TARGET inline uint32_t crc_word(uint32_t crc, uint64_t w) {
  return static_cast<uint32_t>(_mm_crc32_u64(crc, w));
}
bool cpu_has_crc32c() { return __builtin_cpu_supports("sse4.2"); }
#elif defined(FLOWDB_CRC32C_ARM64)
#define FLOWDB_CRC32C_TARGET __attribute__((target("+crc")))
FLOWDB_CRC32C_TARGET inline uint32_t crc_byte(uint32_t crc, uint8_t b) { return __crc32cb(crc, b); }
FLOWDB_CRC32C_TARGET inline uint32_t crc_word(uint32_t crc, uint64_t w) {
  return __crc32cd(crc, w);
}
bool cpu_has_crc32c() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#endif

#ifdef FLOWDB_CRC32C_TARGET
FLOWDB_CRC32C_TARGET uint32_t extend_hardware(uint32_t init_crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint32_t crc = init_crc ^ 0xFFFFFFFFu;
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    crc = crc_byte(crc, *p++);
    --n;
  }
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // both targets are little-endian, as the CRC's byte order
    crc = crc_word(crc, w);
  }
  for (; n > 0; --n) crc = crc_byte(crc, *p++);
  return crc ^ 0xFFFFFFFFu;
}
#endif

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);

ExtendFn choose() {
#ifdef FLOWDB_CRC32C_TARGET
  if (cpu_has_crc32c()) return extend_hardware;
#endif
  return extend_portable;
}

// Chosen once, on first use (safe from static initialisers of other files).
ExtendFn implementation() {
  static const ExtendFn fn = choose();
  return fn;
}

}  // namespace

uint32_t extend_portable(uint32_t init_crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  const auto& t = kTables;
  uint32_t crc = init_crc ^ 0xFFFFFFFFu;

  // Byte-at-a-time until p is 8-aligned so the hot loop reads aligned words.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xffu];
    --n;
  }
  while (n >= 8) {
    const uint32_t lo = crc ^ load_le32(p);
    const uint32_t hi = load_le32(p + 4);
    crc = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xffu];
    --n;
  }
  return crc ^ 0xFFFFFFFFu;
}

uint32_t extend(uint32_t init_crc, const char* data, size_t n) {
  return implementation()(init_crc, data, n);
}

bool hardware_accelerated() { return implementation() != extend_portable; }

}  // namespace flowdb::crc32c
