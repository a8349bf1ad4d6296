#include "ingest/utf8.h"

#include <catch2/catch.hpp>

namespace flowdb::ingest {
namespace {

using namespace std::literals;

TEST_CASE("Well-formed UTF-8 is accepted", "[ingest][utf8]") {
  for (const std::string& s :
       {""s, "ascii only, long enough for the 8-byte path"s, "\0"s, "é"s, "温度"s, "🙂"s,
        "\xed\x9f\xbf"s /* U+D7FF */, "\xee\x80\x80"s /* U+E000 */,
        "\xf4\x8f\xbf\xbf"s /* U+10FFFF */, "\xc2\x80"s, "\xe0\xa0\x80"s, "\xf0\x90\x80\x80"s,
        "abcdefgh\xc3\xa9ijklmnop"s}) {
    CHECK(valid_utf8(s));
  }
}

TEST_CASE("Ill-formed UTF-8 is rejected at the right offset", "[ingest][utf8]") {
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"\x80"s, 0},  // Lone continuation.
      {"a\xbf"s, 1},
      {"\xc0\xaf"s, 0},  // Overlong 2-byte.
      {"\xc1\xbf"s, 0},
      {"\xe0\x80\xaf"s, 0},      // Overlong 3-byte.
      {"\xf0\x80\x80\xaf"s, 0},  // Overlong 4-byte.
      {"\xed\xa0\x80"s, 0},      // Surrogate U+D800.
      {"\xed\xbf\xbf"s, 0},      // Surrogate U+DFFF.
      {"\xf4\x90\x80\x80"s, 0},  // Above U+10FFFF.
      {"\xf5\x80\x80\x80"s, 0},
      {"\xff"s, 0},
      {"ok\xc3"s, 2},  // Truncated.
      {"ok\xe2\x82"s, 2},
      {"\xe2\x28\xa1"s, 0},               // Bad continuation.
      {"abcdefghijklmnop\xc3\x28"s, 16},  // After the fast path.
  };
  for (const auto& [s, offset] : cases) {
    INFO(offset);
    CHECK_FALSE(valid_utf8(s));
    CHECK(find_invalid_utf8(s) == offset);
  }
}

}  // namespace
}  // namespace flowdb::ingest
