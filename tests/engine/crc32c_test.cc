#include "crc32c.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>

namespace flowdb {
namespace {

// Bit-at-a-time reference implementation to cross-check the sliced tables.
uint32_t reference_crc32c(uint32_t crc, const char* data, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<uint8_t>(data[i]);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return ~crc;
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_CASE("crc32c matches the standard check value", "[crc32c]") {
  REQUIRE(crc32c::value("123456789") == 0xE3069283u);
  REQUIRE(crc32c::value("") == 0u);
  REQUIRE(crc32c::value("a") == 0xC1D04330u);
}

TEST_CASE("crc32c matches the RFC 3720 iSCSI test vectors", "[crc32c]") {
  char buf[48];
  std::memset(buf, 0, 32);
  REQUIRE(crc32c::extend(0, buf, 32) == 0x8A9136AAu);

  std::memset(buf, 0xff, 32);
  REQUIRE(crc32c::extend(0, buf, 32) == 0x62A8AB43u);

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  REQUIRE(crc32c::extend(0, buf, 32) == 0x46DD794Eu);

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  REQUIRE(crc32c::extend(0, buf, 32) == 0x113FDB5Cu);

  // An iSCSI read command PDU.
  const unsigned char pdu[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  std::memcpy(buf, pdu, sizeof(pdu));
  REQUIRE(crc32c::extend(0, buf, sizeof(pdu)) == 0xD9963A56u);
}

TEST_CASE("crc32c agrees with a bitwise reference at every alignment and length", "[crc32c]") {
  std::mt19937_64 rng(42);
  const std::string data = random_bytes(rng, 300);
  for (size_t start = 0; start < 16; ++start) {
    for (size_t len = 0; start + len <= data.size(); len += (len < 40 ? 1 : 37)) {
      INFO("start=" << start << " len=" << len);
      REQUIRE(crc32c::extend(0, data.data() + start, len) ==
              reference_crc32c(0, data.data() + start, len));
    }
  }
}

TEST_CASE("crc32c extend composes over every split point", "[crc32c]") {
  std::mt19937_64 rng(7);
  const std::string data = random_bytes(rng, 200);
  const uint32_t whole = crc32c::value(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    const uint32_t prefix = crc32c::extend(0, data.data(), split);
    INFO("split=" << split);
    REQUIRE(crc32c::extend(prefix, data.data() + split, data.size() - split) == whole);
  }
  // Three-way split and an empty extension are identities too.
  const uint32_t a = crc32c::extend(0, data.data(), 13);
  const uint32_t b = crc32c::extend(a, data.data() + 13, 100);
  REQUIRE(crc32c::extend(b, data.data() + 113, data.size() - 113) == whole);
  REQUIRE(crc32c::extend(whole, data.data(), 0) == whole);
}

TEST_CASE("crc32c distinguishes different inputs", "[crc32c]") {
  REQUIRE(crc32c::value("a") != crc32c::value("foo"));
  REQUIRE(crc32c::value(std::string(1, '\0')) != crc32c::value(std::string(2, '\0')));
  std::string s(1000, 'x');
  const uint32_t before = crc32c::value(s);
  s[500] ^= 1;
  REQUIRE(crc32c::value(s) != before);
}

TEST_CASE("crc32c large buffers agree with the reference", "[crc32c]") {
  std::mt19937_64 rng(99);
  const std::string data = random_bytes(rng, 1 << 20);
  REQUIRE(crc32c::value(data) == reference_crc32c(0, data.data(), data.size()));
}

TEST_CASE("crc32c hardware and portable implementations agree on random inputs", "[crc32c]") {
  // extend() is the CPU instruction where available (SSE4.2, ARMv8 CRC);
  // extend_portable() is the table fallback. Both must give the same bits.
  INFO("hardware_accelerated=" << crc32c::hardware_accelerated());
  std::mt19937_64 rng(20240607);
  const std::string data = random_bytes(rng, 70000);
  for (int i = 0; i < 2000; ++i) {
    const size_t start = rng() % 64;
    const size_t len = i < 200 ? static_cast<size_t>(i) : rng() % (data.size() - start);
    const uint32_t init = (i % 3 == 0) ? 0u : static_cast<uint32_t>(rng());
    INFO("start=" << start << " len=" << len << " init=" << init);
    REQUIRE(crc32c::extend(init, data.data() + start, len) ==
            crc32c::extend_portable(init, data.data() + start, len));
  }
  REQUIRE(crc32c::extend_portable(0, data.data(), 4096) == reference_crc32c(0, data.data(), 4096));
}

TEST_CASE("crc32c portable implementation matches the check value", "[crc32c]") {
  REQUIRE(crc32c::extend_portable(0, "123456789", 9) == 0xE3069283u);
  REQUIRE(crc32c::extend_portable(0, "", 0) == 0u);
}

TEST_CASE("crc32c mask round-trips and changes the value", "[crc32c]") {
  const uint32_t crc = crc32c::value("foo");
  REQUIRE(crc32c::mask(crc) != crc);
  REQUIRE(crc32c::mask(crc32c::mask(crc)) != crc);
  REQUIRE(crc32c::unmask(crc32c::mask(crc)) == crc);
  REQUIRE(crc32c::unmask(crc32c::unmask(crc32c::mask(crc32c::mask(crc)))) == crc);
  for (uint32_t v : {0u, 1u, 0xffffffffu, 0x80000000u, 0xa282ead8u}) {
    REQUIRE(crc32c::unmask(crc32c::mask(v)) == v);
  }
}

}  // namespace
}  // namespace flowdb
