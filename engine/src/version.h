// Version, VersionEdit and the MANIFEST: which SST files and range tombstones
// make up the database. Byte format: engine/doc/format.md ("MANIFEST").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flowdb/env.h"
#include "log.h"
#include "mutex.h"
#include "table.h"
#include "thread_annotations.h"

namespace flowdb {

// One live SST. Immutable once published, except `table` (lazily opened).
struct FileMeta {
  uint64_t number = 0;
  int64_t bucket = 0;
  uint64_t file_size = 0;
  uint64_t container_offset = 0;  // SingleFile backend: where the bytes start
  // Every range tombstone with seq <= rt_applied_seq was applied when this
  // file was written (covered entries are absent from it).
  uint64_t rt_applied_seq = 0;
  TableProperties props;
};
using FileRef = std::shared_ptr<const FileMeta>;

// delete_range(start, end) at sequence `seq`: hides entries with key in
// [start, end) and a smaller sequence.
struct RangeTombstone {
  std::string start, end;
  uint64_t seq = 0;
  bool covers(std::string_view key, uint64_t entry_seq) const {
    return entry_seq < seq && key >= start && key < end;
  }
  friend bool operator==(const RangeTombstone&, const RangeTombstone&) = default;
};

struct VersionEdit {
  std::optional<uint64_t> log_number;  // oldest WAL still needed
  std::optional<uint64_t> next_file_number;
  std::optional<uint64_t> last_sequence;
  std::vector<FileMeta> added_files;
  std::vector<uint64_t> deleted_files;
  std::vector<RangeTombstone> added_tombstones;
  std::vector<uint64_t> deleted_tombstones;  // by seq (unique per tombstone)
  // WAL segments created (recorded before any batch is written to them).
  std::vector<uint64_t> added_wal_segments;
  // Set in every snapshot edit written by an engine that records each WAL
  // segment it creates: open may then demand that they all exist.
  bool tracks_wal_segments = false;

  std::string encode() const;
  // Throws Corruption (with `where` in the message) on any malformed field.
  static VersionEdit decode(std::string_view data, const std::string& where);
};

// An immutable set of files, grouped by bucket; within a bucket ordered by
// max sequence ascending (oldest first; seq ranges never overlap there).
struct Version {
  std::map<int64_t, std::vector<FileRef>> buckets;
  std::vector<RangeTombstone> tombstones;  // ordered by seq
  size_t file_count() const;
  uint64_t total_bytes() const;
};

// Owns the MANIFEST. Thread-safe: log_and_apply calls are serialized.
class VersionSet {
 public:
  VersionSet(Env* env, std::string dir);
  ~VersionSet();

  // Loads CURRENT and its MANIFEST. Returns false if CURRENT is absent.
  // Throws Corruption for a damaged or unparsable manifest.
  bool recover();
  // Starts a new MANIFEST holding a snapshot of the current state, makes
  // CURRENT point to it durably, and removes the old one.
  void write_snapshot();
  // Durably appends `edit` to the MANIFEST (fsync), then installs the new
  // version. Fills in next_file_number and last_sequence if unset.
  void log_and_apply(VersionEdit edit);

  std::shared_ptr<const Version> current() const;
  uint64_t new_file_number();
  uint64_t log_number() const;
  uint64_t last_sequence() const;
  void set_last_sequence(uint64_t s);
  void mark_file_number_used(uint64_t n);
  uint64_t manifest_number() const;
  uint64_t next_file_number() const;
  // The recorded WAL segments numbered at or past log_number(), ascending.
  std::vector<uint64_t> recorded_wal_segments() const;
  // True if the MANIFEST records every WAL segment (format.md, "What open
  // accepts"); false for a MANIFEST written before segments were recorded.
  bool tracks_wal_segments() const;
  // Adds the segments numbered at or past log_number() to the recorded ones
  // in memory (written by the next snapshot or edit that records segments).
  void note_wal_segments(const std::vector<uint64_t>& numbers);

 private:
  void apply_locked(const VersionEdit& edit) REQUIRES(mu_);
  VersionEdit snapshot_edit_locked() const REQUIRES(mu_);
  void write_snapshot_locked() REQUIRES(write_mu_);

  Env* const env_;
  const std::string dir_;

  // Serializes MANIFEST writers; held across file I/O (never by readers).
  Mutex write_mu_;
  std::unique_ptr<WritableFile> manifest_file_ GUARDED_BY(write_mu_);
  std::unique_ptr<log::Writer> manifest_log_ GUARDED_BY(write_mu_);
  // A failed append may have left a partial or unsynced edit in the current
  // MANIFEST; the next edit starts a fresh one so it can never take effect.
  bool manifest_broken_ GUARDED_BY(write_mu_) = false;

  mutable Mutex mu_;
  std::shared_ptr<const Version> current_ GUARDED_BY(mu_);
  uint64_t next_file_number_ GUARDED_BY(mu_) = 2;
  uint64_t log_number_ GUARDED_BY(mu_) = 0;
  uint64_t last_sequence_ GUARDED_BY(mu_) = 0;
  uint64_t manifest_number_ GUARDED_BY(mu_) = 0;
  std::set<uint64_t> wal_segments_ GUARDED_BY(mu_);  // recorded, >= log_number_
  bool tracks_wal_ GUARDED_BY(mu_) = false;
};

std::string manifest_file_name(uint64_t number);  // "MANIFEST-000001"

}  // namespace flowdb
