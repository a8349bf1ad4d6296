// OpenFileLimiter: caps how many table files a MultiFile store holds open.
//
// Every table keeps a RandomAccessFile for its blocks, and a scan merges the
// iterators of every table it covers, so without a cap a store with more
// tables than RLIMIT_NOFILE allows cannot be scanned at all. A file from
// open() opens its path on its first read and stays open while idle; when
// more than max_open() files are open, the least recently used idle ones are
// closed and reopened on their next read. A file is never closed during a
// read, so concurrent reads may exceed the cap by the number of reads in
// flight. Tables are removed from disk only once no version (and so no
// reader) refers to them, so a reopen finds its file.
//
// Thread-safety: thread-safe; the files it returns may be read concurrently.
// They keep the limiter's state alive, so they may outlive the limiter.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "flowdb/env.h"

namespace flowdb {

class OpenFileLimiter {
 public:
  // REQUIRES: max_open >= 1.
  explicit OpenFileLimiter(size_t max_open);
  ~OpenFileLimiter();

  // The default cap for Config::max_open_files == 0: half the soft
  // RLIMIT_NOFILE, at least 16.
  static size_t default_max_open();

  // A file over `path` that counts against the cap. Opens it now (so a
  // missing file fails here, as a plain open would) with `env`, which must
  // outlive the returned file. Throws what Env::new_random_access_file throws.
  std::unique_ptr<RandomAccessFile> open(Env* env, const std::string& path);

  size_t max_open() const;
  // Files open now (for tests and stats).
  size_t open_now() const;

 private:
  struct State;
  class LimitedFile;
  std::shared_ptr<State> state_;
};

}  // namespace flowdb
