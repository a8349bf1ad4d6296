// The WAL batch format: one group commit per WAL record. This file and
// wal_batch.cc implement engine/doc/format.md ("WAL batch"); the log framing
// around a record is log.h (format_log.md). The write path encodes with
// encode_wal_batch() and frame_wal_record(); recovery, repair, validation and
// the change feed decode with wal_record_payload() and WalBatchReader, so
// there is one encoder and one decoder.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "flowdb/engine.h"

namespace flowdb {

enum WalTag : uint8_t { kWalDelete = 0, kWalPut = 1, kWalDeleteRange = 2 };

// One decoded entry; views point into the batch payload.
struct WalEntry {
  uint8_t tag = kWalPut;
  uint64_t seq = 0;
  std::string_view key;
  int64_t ts = 0;            // Put, Delete
  int64_t expire_at = 0;     // Put
  std::string_view value;    // Put
  std::string_view end_key;  // DeleteRange
};

// Parses a WAL segment file name ("000123.log"); false for other names.
bool parse_log_name(const std::string& name, uint64_t* n);
// "<data_dir>/wal/000123.log".
std::string wal_file_path(const std::string& data_dir, uint64_t number);

// One write call of a group: its batch, and the TTL its puts get (nullopt:
// they keep their expire_at).
struct WalBatchPart {
  const WriteBatch* batch = nullptr;  // nullptr: contributes nothing
  std::optional<uint64_t> ttl_secs;
};

// Encodes a group's batches as one batch payload whose entries take the
// sequence numbers from first_seq on; *count is the number of entries.
std::string encode_wal_batch(uint64_t first_seq, std::span<const WalBatchPart> parts,
                             uint64_t* count);

// The WAL record for a batch payload: 1 kind byte | stored batch (lz4 for
// large payloads).
std::string frame_wal_record(const std::string& payload);

// Returns the batch payload of a WAL record (1 kind byte | stored batch),
// uncompressing into *buf if needed. Throws Errc::Corruption naming `name`
// and `offset` for an empty or malformed record.
std::string_view wal_record_payload(std::string_view record, std::string* buf,
                                    std::string_view name, uint64_t offset);

// Iterates a batch payload: fixed64 first_seq | varint count | entries.
// Throws Errc::Corruption("malformed WAL batch") on malformed input.
class WalBatchReader {
 public:
  explicit WalBatchReader(std::string_view payload);
  uint64_t first_seq() const { return first_; }
  uint64_t count() const { return count_; }
  // Sequence of the last entry (first_seq - 1 for an empty batch).
  uint64_t last_seq() const { return first_ + count_ - 1; }
  // Decodes the next entry into *e; false after the last one (which also
  // checks that no bytes trail it).
  bool next(WalEntry* e);

 private:
  std::string_view rest_;
  uint64_t first_ = 0, count_ = 0, done_ = 0;
};

}  // namespace flowdb
