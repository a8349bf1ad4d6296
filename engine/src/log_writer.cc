// Log writer: frames each record into one or more fragments (LevelDB's log
// format, see engine/doc/format_log.md) and hands the whole framed record to
// the file in a single append(), so a crash leaves at most one partial record
// at the tail, which the reader recognises as a torn tail.
#include <algorithm>

#include "coding.h"
#include "crc32c.h"
#include "log.h"

namespace flowdb::log {
namespace {

void append_fragment(std::string* out, RecordType type, const char* data, size_t n) {
  const char type_byte = static_cast<char>(type);
  uint32_t crc = crc32c::extend(crc32c::extend(0, &type_byte, 1), data, n);
  char header[kHeaderSize];
  encode_fixed32(header, crc32c::mask(crc));
  header[4] = static_cast<char>(n & 0xff);
  header[5] = static_cast<char>(n >> 8);
  header[6] = type_byte;
  out->append(header, kHeaderSize);
  if (n > 0) out->append(data, n);  // data may be null for an empty record
}

}  // namespace

Writer::Writer(WritableFile* dest, uint64_t dest_length)
    : dest_(dest), block_offset_(static_cast<size_t>(dest_length % kBlockSize)) {}

// If append() throws, the file may hold part of this record; the writer (and
// the file) must then not be used for further records, since a later valid
// record would turn the partial one into mid-log corruption.
void Writer::add_record(std::string_view record) {
  const size_t avail_per_block = kBlockSize - kHeaderSize;
  std::string buf;
  buf.reserve(record.size() + (record.size() / avail_per_block + 2) * kHeaderSize);

  size_t block_offset = block_offset_;
  const char* ptr = record.data();
  size_t left = record.size();
  bool begin = true;
  do {  // at least one fragment, so empty records are written too
    const size_t leftover = kBlockSize - block_offset;
    if (leftover < kHeaderSize) {
      // No room for a header: zero-fill the block trailer.
      buf.append(leftover, '\0');
      block_offset = 0;
    }
    const size_t avail = kBlockSize - block_offset - kHeaderSize;
    const size_t fragment = std::min(left, avail);
    const bool end = fragment == left;
    const RecordType type = begin && end ? kFull : begin ? kFirst : end ? kLast : kMiddle;
    append_fragment(&buf, type, ptr, fragment);
    block_offset += kHeaderSize + fragment;
    ptr += fragment;
    left -= fragment;
    begin = false;
  } while (left > 0);

  dest_->append(buf);
  block_offset_ = block_offset;
}

}  // namespace flowdb::log
