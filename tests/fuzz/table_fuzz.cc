// SST bytes -> Table::open (footer, index, filter, properties), then full
// iteration, seeks and verify_all_blocks. Input: 1 mode byte (bit 0: rewrite
// block trailer CRCs so mutations reach the decoders; bit 1: read with
// verify_checksums off), then the file bytes.
#include <memory>
#include <string>

#include "dbformat.h"
#include "fuzz_util.h"
#include "table.h"

using namespace flowdb;

namespace {

void read_all(const Table& t, const ReadOptions& ro) {
  auto it = t.new_iterator(ro);
  std::string first;
  size_t n = 0;
  for (it->seek_to_first(); it->valid() && n < 100000; it->next(), ++n) {
    if (first.empty()) first.assign(it->key());
    (void)it->value();
  }
  if (!first.empty()) {
    it->seek(first);
    if (it->valid()) (void)it->key();
    it->seek_for_prev(first);
  }
  it->seek(make_internal_key("m", 0, kMaxSequence, ValueType::Value));
  it->seek_for_prev(make_internal_key("m", 0, 0, ValueType::Value));
  (void)t.may_contain("m");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) fuzz::fix_table_checksums(&bytes);
  ReadOptions ro;
  ro.fill_cache = false;
  ro.verify_checksums = (data[0] & 2) == 0;
  fuzz::expect_corruption_only([&] {
    auto t = Table::open(std::make_unique<fuzz::MemFile>(bytes), bytes.size(), 1, "000007.sst",
                         nullptr, nullptr);
    fuzz::expect_corruption_only([&] { read_all(*t, ro); });
    fuzz::expect_corruption_only([&] { (void)t->verify_all_blocks(); });
  });
  return 0;
}
