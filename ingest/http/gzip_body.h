// gzip decoding of request bodies (zlib), bounded in output size.
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace flowdb::ingest_http {

enum class GunzipStatus { kOk, kTooLarge, kCorrupt };

// Decodes the gzip stream `in` (one or more members) into *out, at most
// `max_out` bytes (kTooLarge beyond, *out then holds a prefix). kCorrupt, with
// zlib's reason in *error, for data that is not gzip or is truncated.
GunzipStatus gunzip(std::string_view in, size_t max_out, std::string* out, std::string* error);

}  // namespace flowdb::ingest_http
