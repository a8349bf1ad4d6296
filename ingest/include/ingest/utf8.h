// Strict UTF-8 validation (RFC 3629).
#pragma once

#include <cstddef>
#include <string_view>

namespace flowdb::ingest {

// Returns true if `s` is well-formed UTF-8: no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences. NUL is valid.
bool valid_utf8(std::string_view s) noexcept;

// Like valid_utf8 but reports the byte offset of the first invalid sequence,
// or s.size() if `s` is valid.
size_t find_invalid_utf8(std::string_view s) noexcept;

}  // namespace flowdb::ingest
