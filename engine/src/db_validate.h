// Open-time validation: what the data directory holds and whether the
// recovered manifest accounts for it. Rules: engine/doc/format.md ("What open
// accepts"). Shared by open and repair.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flowdb/env.h"
#include "version.h"

namespace flowdb {

// The FlowDB files found in a data directory (absent directory: all empty).
struct DirInventory {
  std::vector<uint64_t> manifests;     // MANIFEST-N
  std::vector<uint64_t> wal_segments;  // wal/N.log
  std::vector<uint64_t> tables;        // sst/N.sst
  std::vector<uint64_t> temp_tables;   // sst/N.sst.tmp, staging/N.sst
  uint64_t pack_bytes = 0;             // size of sst.pack
  // True if any file that can hold records or metadata exists.
  bool holds_data() const;
  // E.g. "1 MANIFEST file, 2 WAL segments, 7 table files".
  std::string describe() const;
};

DirInventory inventory_dir(Env* env, const std::string& dir);

// Problems that make the recovered state unable to account for the files on
// disk: the WAL segment the manifest starts from is missing, or a live table
// is missing or shorter than recorded. Empty means consistent.
std::vector<std::string> audit_recovered_state(Env* env, const std::string& dir,
                                               const DirInventory& inv, const Version& live,
                                               uint64_t log_number, bool single_file);

// Problems with the WAL segments (format.md, "What open accepts"): a segment
// the manifest recorded at or past its log number is missing, table data
// exists while the log number is 0 (no open ever completed), or (when the
// manifest records every segment it creates) a segment numbered at or past
// the recovered next file number holds data, which only a lost edit explains.
std::vector<std::string> audit_wal_segments(Env* env, const std::string& dir,
                                            const DirInventory& inv, const VersionSet& versions,
                                            uint64_t recovered_next);

// SingleFile: live tables whose bytes in sst.pack do not end in a table
// footer (their space was punched out or reused: the state is older than
// the pack, and reclaiming what it does not list would destroy tables).
std::vector<std::string> audit_pack_footers(Env* env, const std::string& dir, const Version& live);

// A table's extent in sst.pack.
struct PackExtent {
  uint64_t offset = 0, size = 0;
};

// The tables of sst.pack lying wholly in [from, to), found by their footer
// magic ("FlowSST\x01"): the footer's index handle gives the table's size
// (its layout has no gaps), so where it starts. Candidates only: the caller
// opens and checks each. Reads the stretch in 1 MiB chunks (a punched hole
// reads as zeros, which the magic search skips at memchr speed). Shared by
// open (audit_pack_gaps) and repair.
std::vector<PackExtent> find_pack_footers(const RandomAccessFile& pack, uint64_t from, uint64_t to);

// SingleFile: tables found in sst.pack outside the live extents whose newest
// sequence is past both `last_sequence` and the newest in the WAL segments
// at or past `log_number`: the rule of audit_unrecorded_tables, for tables
// that carry no number. Only lost edits explain them; a compaction input not
// yet punched out, or a table copied in before a crash took its edit, is
// accounted for (and open reclaims its space as usual).
std::vector<std::string> audit_pack_gaps(Env* env, const std::string& dir, const DirInventory& inv,
                                         const Version& live, uint64_t last_sequence,
                                         uint64_t log_number);

// MultiFile: tables numbered at or past `recovered_next` (not recorded by the
// recovered state) whose newest sequence is past every sequence the state
// and its WAL segments (those at or past `log_number`) account for: only lost
// edits explain them. A flush or compaction whose edit was torn by a crash
// made its output from memtables still in the WAL or from recorded tables,
// so its sequences are accounted for. Tables that cannot be read are left to
// the caller's other checks (they are kept on disk either way).
std::vector<std::string> audit_unrecorded_tables(Env* env, const std::string& dir,
                                                 const DirInventory& inv, uint64_t recovered_next,
                                                 uint64_t last_sequence, uint64_t log_number);

}  // namespace flowdb
