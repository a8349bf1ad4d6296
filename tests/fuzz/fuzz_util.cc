#include "fuzz_util.h"

#include "block.h"
#include "coding.h"
#include "crc32c.h"
#include "log.h"

namespace flowdb::fuzz {

void fix_log_checksums(std::string* bytes) {
  for (size_t block = 0; block < bytes->size(); block += log::kBlockSize) {
    const size_t end = std::min(bytes->size(), block + log::kBlockSize);
    size_t pos = block;
    while (pos + log::kHeaderSize <= end) {
      char* h = bytes->data() + pos;
      const size_t len = size_t(uint8_t(h[4])) | (size_t(uint8_t(h[5])) << 8);
      if (pos + log::kHeaderSize + len > end) break;
      encode_fixed32(h, crc32c::mask(crc32c::extend(0, h + 6, 1 + len)));
      pos += log::kHeaderSize + len;
    }
  }
}

namespace {

// Recomputes the trailer of the block at h if it lies inside the file.
void fix_trailer(std::string* bytes, const BlockHandle& h) {
  if (h.offset > bytes->size() || h.size > bytes->size() - h.offset ||
      bytes->size() - h.offset - h.size < kBlockTrailerSize) {
    return;
  }
  char* p = bytes->data() + h.offset;
  const uint32_t crc = crc32c::extend(0, p, h.size + 1);  // stored bytes + kind
  encode_fixed32(p + h.size + 1, crc32c::mask(crc));
}

}  // namespace

void fix_table_checksums(std::string* bytes) {
  if (bytes->size() < kFooterSize) return;
  std::string_view footer(bytes->data() + bytes->size() - kFooterSize, kFooterSize);
  BlockHandle handles[3];
  for (BlockHandle& h : handles) decode_block_handle(&footer, &h);
  for (const BlockHandle& h : handles) fix_trailer(bytes, h);
  const BlockHandle& ih = handles[2];
  if (ih.offset > bytes->size() || bytes->size() - ih.offset < kBlockTrailerSize ||
      ih.size > bytes->size() - ih.offset - kBlockTrailerSize ||
      (*bytes)[ih.offset + ih.size] != 0) {
    return;  // out of range or compressed: leave the data blocks alone
  }
  const std::string index = bytes->substr(ih.offset, ih.size);
  try {
    BlockIter it;
    it.reset(index, "fuzz-index", ih.offset);
    for (it.seek_to_first(); it.valid(); it.next()) {
      std::string_view v = it.value();
      BlockHandle h;
      if (!get_varint64(&v, &h.offset) || !get_varint64(&v, &h.size)) break;
      fix_trailer(bytes, h);
    }
  } catch (const Error&) {
    // A malformed index: the reader will report it.
  }
}

}  // namespace flowdb::fuzz
