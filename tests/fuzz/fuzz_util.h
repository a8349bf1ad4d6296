// Shared helpers of the libFuzzer harnesses (tests/fuzz/README.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "flowdb/env.h"
#include "flowdb/error.h"

namespace flowdb::fuzz {

// A RandomAccessFile over bytes the harness owns.
class MemFile final : public RandomAccessFile {
 public:
  explicit MemFile(std::string_view bytes) : bytes_(bytes) {}
  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= bytes_.size()) return 0;
    const size_t k = std::min<uint64_t>(n, bytes_.size() - offset);
    std::memcpy(scratch, bytes_.data() + offset, k);
    return k;
  }
  uint64_t size() const override { return bytes_.size(); }

 private:
  std::string_view bytes_;
};

// A broken invariant of a decoder: a finding, reported like a crash.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

// Runs `fn`; the decoders' documented error (Error with Errc::Corruption) is
// an expected outcome, any other exception escapes to libFuzzer (a finding).
template <class Fn>
void expect_corruption_only(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() != Errc::Corruption) throw;
  }
}

// Rewrites the CRC of every fragment header of a log file (WAL segment or
// MANIFEST) in place, walking the 32 KiB blocks as log::Reader does, so that
// mutated lengths, types and payloads reach the code behind the checksum.
void fix_log_checksums(std::string* bytes);

// Rewrites the trailer CRC of the footer's filter, properties and index
// blocks and of every data block an uncompressed index names (when the
// handles are in range), so mutations reach the decoders behind the checksum.
void fix_table_checksums(std::string* bytes);

}  // namespace flowdb::fuzz
