// InternalIterator: a cursor over internal keys in internal-key order, the
// common interface of memtables, blocks, tables and merges.
#pragma once

#include <string_view>

namespace flowdb {

// Not thread-safe. Methods throw flowdb::Error (Corruption/Io) when a block
// cannot be read; the iterator is then invalid.
class InternalIterator {
 public:
  virtual ~InternalIterator() = default;
  virtual bool valid() const = 0;
  virtual void seek_to_first() = 0;
  // Positions at the first entry with internal key >= target.
  virtual void seek(std::string_view target) = 0;
  // REQUIRES: valid().
  virtual void next() = 0;
  // REQUIRES: valid(). Views stay valid until the iterator moves.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
};

}  // namespace flowdb
