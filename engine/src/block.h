// Blocks of an SST file and the small on-disk structures shared by the table
// builder and reader: prefix-compressed key/value blocks (data and index
// blocks), the per-block trailer (compression kind + masked CRC32C), block
// handles, the properties encoding and the footer constants.
// Byte format: engine/doc/format_sst.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iterator.h"

namespace flowdb {

struct TableProperties;

inline constexpr int kBlockRestartInterval = 16;
// 1 byte compression kind + fixed32 masked crc32c(stored bytes | kind).
inline constexpr size_t kBlockTrailerSize = 5;
// Version written; readers accept kOldestTableFormatVersion..this. Version 2
// stores data entries' expire_at relative to ts (encode_stored_expiry).
inline constexpr uint32_t kTableFormatVersion = 2;
inline constexpr uint32_t kOldestTableFormatVersion = 1;
inline constexpr uint32_t kPropertiesFormatVersion = 1;
// "FlowSST\x01" read as a little-endian fixed64.
inline constexpr uint64_t kTableMagic = 0x01545353776f6c46ull;
// filter, properties and index handles (2 x fixed64 each), version, magic.
inline constexpr size_t kFooterSize = 3 * 16 + 4 + 8;

// Location of a stored block; `size` excludes the trailer that follows it.
struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Builds one block of sorted entries. Keys are prefix-compressed against the
// previous key; every `restart_interval` entries a key is stored whole and its
// offset recorded in the restart array. Not thread-safe.
class BlockBuilder {
 public:
  explicit BlockBuilder(int restart_interval = kBlockRestartInterval);

  // Forgets all entries but keeps the buffers' capacity.
  void reset();
  // REQUIRES: not finished; key sorts after every key added since reset().
  void add(std::string_view key, std::string_view value);
  // Appends the restart array; the view stays valid until reset().
  std::string_view finish();
  // Size of the block if finish() were called now.
  size_t size_estimate() const { return buffer_.size() + 4 * restarts_.size() + 4; }
  bool empty() const { return num_entries_ == 0; }
  size_t num_entries() const { return num_entries_; }
  // The key most recently added (empty after reset()).
  std::string_view last_key() const { return last_key_; }

 private:
  const int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  std::string last_key_;
  int counter_ = 0;  // entries since the last restart
  size_t num_entries_ = 0;
  bool finished_ = false;
};

// Iterates the entries of one block whose keys are internal keys (both data
// and index blocks are). Never copies the block: the contents passed to
// reset() must outlive the iteration. Every structural defect (bad restart
// array, varint or length past the end, key shorter than an internal key
// suffix, non-zero shared length at a restart) throws
// Error(Errc::Corruption, "<name>: <what> at offset N") where N is
// `file_offset` plus the position inside the block; the iterator is then
// invalid. Not thread-safe.
class BlockIter final : public InternalIterator {
 public:
  BlockIter() = default;

  // Points the iterator at `contents` (unpositioned). `name` must outlive the
  // iterator's use of this block. With `relative_expiry` (data blocks of
  // table format 2) value() turns the stored relative expire_at back into
  // the absolute one; its view is then valid until the iterator moves.
  void reset(std::string_view contents, std::string_view name, uint64_t file_offset,
             bool relative_expiry = false);
  // Detaches from the current block; valid() becomes false.
  void clear();

  bool valid() const override { return current_ < restarts_; }
  void seek_to_first() override;
  // REQUIRES: target is a well-formed internal key.
  void seek(std::string_view target) override;
  // Positions at the last entry <= target; invalid if every entry is > target.
  void seek_for_prev(std::string_view target);
  // Positions at the last entry (invalid for an empty block).
  void seek_to_last();
  void next() override;
  std::string_view key() const override { return key_; }
  std::string_view value() const override {
    return relative_expiry_ && value_.size() >= 8 ? absolute_value() : value_;
  }

 private:
  [[noreturn]] void corrupt(const char* what, uint64_t pos);
  uint32_t restart_point(uint32_t index);
  // The key stored whole at restart point `index` (throws if malformed).
  std::string_view restart_key(uint32_t index);
  // Parses the entry at next_ into current_/key_/value_; false at the end.
  bool parse_next();
  // From restart point `index`, positions at the last entry <= target (any
  // entry if target is null); invalid if there is none.
  void scan_to_last(uint32_t index, const std::string_view* target);
  // value_ with its relative expire_at made absolute (in value_buf_), made
  // once per entry.
  std::string_view absolute_value() const;

  const char* data_ = nullptr;
  uint32_t restarts_ = 0;  // offset of the restart array == end of entries
  uint32_t num_restarts_ = 0;
  uint32_t current_ = 0;  // offset of the current entry; restarts_ if invalid
  uint32_t next_ = 0;     // offset just past the current entry
  std::string key_;
  std::string_view value_;
  bool relative_expiry_ = false;
  mutable uint32_t decoded_at_ = UINT32_MAX;  // current_ whose value value_buf_ holds
  mutable std::string value_buf_;
  std::string_view name_;
  uint64_t file_offset_ = 0;
};

// Appends kind byte + masked crc32c over (buf[block_start..] | kind) to *buf.
void append_block_trailer(std::string* buf, size_t block_start, uint8_t kind);
// True if the trailer that ends `block_with_trailer` matches its bytes.
bool block_checksum_ok(std::string_view block_with_trailer);

void encode_block_handle(std::string* dst, const BlockHandle& h);
bool decode_block_handle(std::string_view* in, BlockHandle* h);

// Properties block payload: varint32 version, then every field (see doc).
void encode_table_properties(const TableProperties& p, std::string* dst);
// False if the payload is malformed or of an unknown version.
bool decode_table_properties(std::string_view in, TableProperties* p);

}  // namespace flowdb
