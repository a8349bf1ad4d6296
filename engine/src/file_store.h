// FileStore: where SST bytes live. MultiFile keeps one file per SST in
// <data_dir>/sst/; SingleFile packs them into <data_dir>/sst.pack and reuses
// and punches out the space of deleted tables. Format: engine/doc/format.md.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "flowdb/config.h"
#include "flowdb/env.h"
#include "version.h"

namespace flowdb {

class FileStore {
 public:
  virtual ~FileStore() = default;
  // read_only: creates nothing (not even sst/ or staging/); only open() and
  // describe() may be called. MultiFile holds at most `max_open_files` table
  // files open (Config::max_open_files; 0: OpenFileLimiter's default).
  static std::unique_ptr<FileStore> create(StorageBackendKind kind, Env* env,
                                           const std::string& data_dir, bool read_only = false,
                                           size_t max_open_files = 0);

  // A new, empty file to build table `number` into.
  virtual std::unique_ptr<WritableFile> new_table_file(uint64_t number) = 0;
  // Makes the finished table durable under its final place and returns its
  // container offset (0 for MultiFile). `file` is closed by this call.
  virtual uint64_t publish(uint64_t number, std::unique_ptr<WritableFile> file) = 0;
  // Removes an unfinished table (build failed).
  virtual void discard(uint64_t number) = 0;
  virtual std::unique_ptr<RandomAccessFile> open(const FileMeta& f) = 0;
  // Frees a table no version references any more.
  virtual void remove(const FileMeta& f) = 0;
  // At open: removes every table and temporary file not in `live` whose
  // number is below `recovered_next` (provably obsolete); keeps the rest.
  virtual void remove_orphans(const Version& live, uint64_t recovered_next) = 0;
  virtual std::string describe(const FileMeta& f) const = 0;
};

std::string table_file_name(uint64_t number);  // "000012.sst"

}  // namespace flowdb
