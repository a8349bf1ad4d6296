// Order-preserving, injective binary encoding of IndexedDB keys.
//
// encode(k) is self-delimiting (no encoding is a proper prefix of another)
// and memcmp(encode(a), encode(b)) has the sign of compare_keys(a, b):
//   number: 0x10, then the double (-0 normalised to +0) as 8 big-endian
//           bytes with the sign bit flipped (positive) or all bits flipped
//           (negative).
//   (0x20 reserved for dates)
//   string: 0x30, UTF-16 code units big-endian, every 0x00 byte escaped as
//           0x00 0xFF, terminated by 0x00 0x01.
//   (0x40 reserved for binary)
//   array:  0x50, the encoded elements, terminated by 0x00.
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace flowdb::jsondb::detail {

using boost::json::value;

// Appends the encoding of `key`. Throws Error(DataError) if it is not a valid key.
void encode_key(const value& key, std::string* out);
std::string encode_key(const value& key);

// Decodes one key from the front of *in and advances it.
// Throws Error(Corruption) on malformed input.
value decode_key(std::string_view* in);

// The canonical form of a valid key (numbers as int64 when integral and
// |k| <= 2^53, else double). Throws DataError if invalid.
value normalize_key(const value& key);

// Number of UTF-16 code units of a UTF-8 string (for the "length" key path).
size_t utf16_length(std::string_view utf8);

}  // namespace flowdb::jsondb::detail
