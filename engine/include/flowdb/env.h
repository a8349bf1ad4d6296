// Env: every file operation of the engine goes through this interface, so
// tests can inject faults (see fault_injection_env.h in engine/testing, the
// flowdb::testing target) and simulate power loss.
//
// All methods throw flowdb::Error (Errc::Io, or Errc::NoSpace for ENOSPC and
// EDQUOT) on failure; none returns an error code. Implementations must be
// thread-safe; the file objects they return are used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flowdb {

// A file opened for appending. Bytes handed to append() are in the OS (visible
// to other processes, surviving a kill -9) when append() returns; they survive
// power loss only after sync() returns. No user-space buffering.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual void append(std::string_view data) = 0;
  // fdatasync(2) of everything appended so far.
  virtual void sync() = 0;
  // Closes the file; further calls are invalid. The destructor closes silently.
  virtual void close() = 0;
  // Bytes appended so far (including the file's size when opened).
  virtual uint64_t size() const = 0;
};

// A file opened for positional reads. Safe for concurrent use by many threads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; returns the number read
  // (less than n only at end of file).
  virtual size_t read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual uint64_t size() const = 0;
};

// An advisory lock on a file (flock), exclusive or shared. Released on
// destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment. Never null; not owned by the caller.
  static Env* posix();

  // Creates or truncates `path` for appending.
  virtual std::unique_ptr<WritableFile> new_writable_file(const std::string& path) = 0;
  // Opens an existing file for appending at its end.
  virtual std::unique_ptr<WritableFile> new_appendable_file(const std::string& path) = 0;
  // Opens an existing file for reading; throws Errc::NotFound if it is absent.
  virtual std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) = 0;
  // Opens (creating if needed) a file for positional writes and reads: the
  // single-file container. Writes at offsets are durable after sync().
  class ReadWriteFile : public RandomAccessFile {
   public:
    virtual void write_at(uint64_t offset, std::string_view data) = 0;
    virtual void sync() = 0;
    virtual void truncate(uint64_t size) = 0;
    // Releases the disk space of [offset, offset+len) without changing the
    // file size (fallocate PUNCH_HOLE); a no-op where unsupported.
    virtual void punch_hole(uint64_t offset, uint64_t len) = 0;
  };
  virtual std::unique_ptr<ReadWriteFile> new_read_write_file(const std::string& path) = 0;

  virtual bool file_exists(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..".
  virtual std::vector<std::string> get_children(const std::string& dir) = 0;
  virtual uint64_t get_file_size(const std::string& path) = 0;
  virtual void remove_file(const std::string& path) = 0;
  // Creates `dir` and missing parents; succeeds if it exists.
  virtual void create_dir(const std::string& dir) = 0;
  // Atomically replaces `to` with `from` (rename(2)); durable after sync_dir.
  virtual void rename_file(const std::string& from, const std::string& to) = 0;
  virtual void truncate_file(const std::string& path, uint64_t size) = 0;
  // fsync(2) of a directory, making creations, renames and removals durable.
  virtual void sync_dir(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (created if needed); throws Errc::Busy
  // if another process holds it.
  virtual std::unique_ptr<FileLock> lock_file(const std::string& path) = 0;
  // Takes a shared lock on the existing file `path` (never created): any
  // number of shared holders, none while lock_file() holds it. Throws
  // Errc::NotFound if `path` is absent, Errc::Busy if an exclusive holder
  // exists. The default implementation throws Errc::InvalidArgument (an Env
  // without shared locks cannot open a database read-only).
  virtual std::unique_ptr<FileLock> lock_file_shared(const std::string& path);
};

// Reads the whole file at `path` through `env`.
std::string read_file_to_string(Env* env, const std::string& path);

// Durably writes `contents` to `path`: temp file, fsync, rename, fsync dir.
void write_file_atomic(Env* env, const std::string& path, std::string_view contents);

}  // namespace flowdb
