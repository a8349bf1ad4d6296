// Block compression for SSTables. The stored form of a compressed block is
// varint32(uncompressed length) | compressed bytes, so decompression knows
// (and bounds) its output size. Byte format: engine/doc/format_sst.md.
// All functions are thread-safe (zstd contexts are per thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "flowdb/config.h"

namespace flowdb {

// Appends the stored form of `raw` to *dst and returns the kind used: the
// block is stored uncompressed (Kind::None, bytes as-is) when compression
// would not save at least 12.5%.
Compression::Kind compress_block(const Compression& c, std::string_view raw, std::string* dst);

// Replaces *dst with the block contents of a stored block of `kind` (the byte
// from its trailer). Throws Error(Errc::Corruption, "<name>: <what> at offset
// <offset>") on an unknown kind or malformed data.
void uncompress_block(uint8_t kind, std::string_view stored, std::string* dst,
                      std::string_view name, uint64_t offset);

// The two halves of uncompress_block, for callers that own the output buffer
// (so it need not be zero-filled first): the size of the block contents, and
// decompression into exactly that many bytes at dst. Both throw Corruption as
// uncompress_block does.
size_t uncompressed_size(uint8_t kind, std::string_view stored, std::string_view name,
                         uint64_t offset);
void uncompress_into(uint8_t kind, std::string_view stored, char* dst, size_t size,
                     std::string_view name, uint64_t offset);

}  // namespace flowdb
