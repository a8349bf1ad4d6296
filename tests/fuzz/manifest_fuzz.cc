// MANIFEST bytes -> log::Reader -> VersionEdit::decode, and a decoded edit
// must survive encode/decode unchanged. Input: 1 mode byte (bit 0: rewrite
// fragment CRCs; bit 1: the rest is one edit record, not a log file).
#include <memory>
#include <string>

#include "fuzz_util.h"
#include "log.h"
#include "version.h"

using namespace flowdb;

namespace {

void check_edit(std::string_view record) {
  fuzz::expect_corruption_only([&] {
    const VersionEdit e = VersionEdit::decode(record, "fuzz MANIFEST");
    const std::string once = e.encode();
    if (VersionEdit::decode(once, "re-encoded edit").encode() != once) {
      fuzz::fail("VersionEdit encode/decode is not stable");
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 2) {
    check_edit(bytes);
    return 0;
  }
  if (data[0] & 1) fuzz::fix_log_checksums(&bytes);
  fuzz::expect_corruption_only([&] {
    log::Reader reader(std::make_unique<fuzz::MemFile>(bytes), "MANIFEST-000001");
    std::string scratch;
    std::string_view record;
    while (reader.read_record(&scratch, &record)) check_edit(record);
  });
  return 0;
}
