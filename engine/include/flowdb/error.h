// Error reporting for every fallible FlowDB call.
//
// FlowDB never swallows an error and never aborts the process on bad input or
// bad files: every failure is thrown as a flowdb::Error carrying an Errc.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace flowdb {

// Error categories. The engine uses the first group; JsonDB uses the
// IndexedDB names of the second group (DOMException names in the W3C spec).
enum class Errc {
  Io,               // an OS call failed (errno text is in what()).
  Corruption,       // a checksum or format check failed; what() names file and offset.
  InvalidArgument,  // a caller-supplied value is out of range or malformed.
  NotFound,         // the named thing does not exist.
  Closed,           // the engine (or database) was closed or shut down.
  Busy,             // another process holds the data directory.
  NoSpace,          // the device is full (ENOSPC/EDQUOT) or a disk quota refuses writes.
  // IndexedDB error names (JsonDB).
  DataError,
  ConstraintError,
  ReadOnlyError,  // also the engine's: a write to an engine opened with Config::read_only.
  NotFoundError,
  InvalidAccessError,
  InvalidStateError,
  TransactionInactiveError,
  SyntaxError,
  Conflict,
};

// Returns the stable name of `code`, e.g. "Corruption" or "ConstraintError".
std::string_view errc_name(Errc code) noexcept;

// The exception type thrown by FlowDB. Thread-safe to copy and read.
class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message);

  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace flowdb
