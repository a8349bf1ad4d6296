// Repairer: Engine::repair (repair.cc: manifest, WAL, new state;
// repair_tables.cc: finding, verifying and choosing tables). Rules:
// engine/doc/format.md ("Repair").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "db_validate.h"
#include "dbformat.h"
#include "flowdb/engine.h"
#include "flowdb/env.h"
#include "version.h"
#include "wal_batch.h"

namespace flowdb {

// What a readable prefix of the old MANIFEST says.
struct RecoveredManifest {
  std::string name;    // the MANIFEST read; empty if none
  size_t edits = 0;    // edits applied
  std::string damage;  // why reading stopped early; empty if read to its end
  std::map<uint64_t, FileMeta> live;
  std::vector<FileMeta> removed;  // added, then deleted by a later edit
  std::vector<RangeTombstone> tombstones;
  uint64_t next_file_number = 0, last_sequence = 0;
  bool usable() const { return edits > 0; }
};

// A table found on disk.
struct TableCandidate {
  FileMeta meta;          // number 0 until assigned (SingleFile, unrecorded)
  std::string where;      // "sst/000012.sst" or "sst.pack@OFFSET+SIZE"
  bool recorded = false;  // live in the recovered manifest
  bool readable = false;
  bool kept = false;
  std::string problem;  // why it is not kept
};

struct InternalKeyLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return compare_internal_keys(a, b) < 0;
  }
};

class Repairer {
 public:
  explicit Repairer(Config cfg);
  RepairResult run();

 private:
  // repair.cc
  void recover_manifest();
  void read_manifest(const std::string& name);
  void replay_wal();
  bool replay_segment(uint64_t number, bool newest);
  void add_wal_entries(const std::vector<WalEntry>& entries);
  void build_wal_tables();
  FileMeta write_table(int64_t bucket,
                       const std::map<std::string, std::string, InternalKeyLess>& entries);
  void write_new_state();
  std::string move_to_lost(const std::string& rel, const std::string& why, bool quarantine);
  std::string lost_name(const std::string& rel);

  // repair_tables.cc
  void check_backend();
  void find_tables();
  void find_pack_tables();
  void verify(TableCandidate& c, std::unique_ptr<RandomAccessFile> file);
  void choose_tables();
  bool removed_by_manifest(const TableCandidate& c) const;
  void quarantine_tables();
  void copy_pack_gaps();
  uint64_t pack_end() const;

  Config cfg_;
  Env* env_ = nullptr;
  std::string dir_;
  bool single_file_ = false;
  int64_t width_us_ = 0;
  std::unique_ptr<FileLock> lock_;
  DirInventory inv_;
  uint64_t max_number_ = 0;  // largest file number seen or allocated
  RecoveredManifest manifest_;
  std::vector<TableCandidate> tables_;
  std::vector<std::string> temp_files_;  // unfinished tables, relative to dir_
  // Kept tables' (min_seq, max_seq) per bucket, ordered by max_seq.
  std::map<int64_t, std::vector<std::pair<uint64_t, uint64_t>>> ranges_;
  // WAL entries no kept table holds, by (bucket, gap between kept ranges).
  std::map<std::pair<int64_t, size_t>, std::map<std::string, std::string, InternalKeyLess>>
      wal_groups_;
  std::vector<RangeTombstone> tombstones_;
  uint64_t last_seq_ = 0;
  std::vector<FileMeta> built_;
  std::vector<uint64_t> damaged_segments_;
  RepairResult result_;
};

}  // namespace flowdb
