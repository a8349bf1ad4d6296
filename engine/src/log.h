// Log files (WAL segments and the MANIFEST): a sequence of records split into
// 32 KiB blocks, each fragment framed with a masked CRC32C, length and type,
// as LevelDB's log format. Byte format: engine/doc/format.md ("Log file").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "flowdb/env.h"

namespace flowdb::log {

inline constexpr size_t kBlockSize = 32768;
inline constexpr size_t kHeaderSize = 7;  // crc32c(4) length(2) type(1)
enum RecordType : uint8_t { kZeroType = 0, kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

// Appends records. Not thread-safe. Does not own the file.
class Writer {
 public:
  // `dest` may already hold `dest_length` bytes (reopened log).
  explicit Writer(WritableFile* dest, uint64_t dest_length = 0);
  // Appends one record (fragmented across blocks); throws on I/O error.
  void add_record(std::string_view record);

 private:
  WritableFile* dest_;
  size_t block_offset_;
};

// Reads records back. A damaged record at the very end of the file (no valid
// fragment after it) is a torn tail: reading stops there and
// torn_tail_offset() tells where the valid data ends. Damage followed by any
// valid fragment throws Error(Corruption) naming `name` and the offset.
//
// With skip_damage() (repair only), such damage is skipped instead, as
// LevelDB's reader does: the rest of the damaged block is dropped, reading
// resumes at the next block, MIDDLE/LAST fragments there are dropped until a
// FULL or FIRST starts a record, and skipped() counts what was dropped. A
// torn tail is still recognised (and not counted) exactly as without it.
class Reader {
 public:
  // Starts at `initial_offset`, which must be 0 or a last_record_end() of an
  // earlier reader of the same file (a record boundary).
  Reader(std::unique_ptr<RandomAccessFile> file, std::string name, uint64_t initial_offset = 0);
  ~Reader();
  // Reads the next record into *record (valid until the next call).
  // Returns false at the end of valid data.
  bool read_record(std::string* scratch, std::string_view* record);
  // Offset just past the last complete, valid record returned.
  uint64_t last_record_end() const;
  // Offset of that record's first fragment header.
  uint64_t last_record_start() const;
  // True if reading stopped at a damaged or incomplete tail.
  bool hit_torn_tail() const;

  // What skip_damage() dropped: the bytes between the end of the last valid
  // record before each damaged region and the start of the first record
  // after it (or the end of the file).
  struct Skipped {
    uint64_t bytes = 0;
    uint64_t regions = 0;
    uint64_t first_offset = 0;  // of the first damage
    std::string first_reason;
  };
  void skip_damage();
  const Skipped& skipped() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace flowdb::log
