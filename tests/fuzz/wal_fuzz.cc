// WAL segment bytes -> log::Reader -> wal_record_payload -> WalBatchReader.
// Input: 1 mode byte (bit 0: rewrite fragment CRCs so mutations pass them),
// then the segment bytes.
#include <memory>
#include <string>

#include "fuzz_util.h"
#include "log.h"
#include "wal_batch.h"

using namespace flowdb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) fuzz::fix_log_checksums(&bytes);
  fuzz::expect_corruption_only([&] {
    log::Reader reader(std::make_unique<fuzz::MemFile>(bytes), "fuzz.log");
    std::string scratch, buf;
    std::string_view record;
    uint64_t prev_end = 0;
    while (reader.read_record(&scratch, &record)) {
      if (reader.last_record_end() < prev_end || reader.last_record_end() > bytes.size()) {
        fuzz::fail("last_record_end moved backwards or past the file");
      }
      prev_end = reader.last_record_end();
      // Each record is decoded on its own: one bad batch must not hide others.
      fuzz::expect_corruption_only([&] {
        WalBatchReader batch(wal_record_payload(record, &buf, "fuzz.log", prev_end));
        WalEntry e;
        uint64_t n = 0;
        while (batch.next(&e)) ++n;
        if (n != batch.count()) fuzz::fail("batch yielded a different entry count");
      });
    }
  });
  return 0;
}
