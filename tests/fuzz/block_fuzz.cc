// Raw block contents -> BlockIter (forward, seek, seek_for_prev, last), plus
// the properties and block-handle decoders and block decompression.
// Input: 1 selector byte, then the bytes.
#include <string>

#include "block.h"
#include "compression.h"
#include "dbformat.h"
#include "fuzz_util.h"
#include "table.h"

using namespace flowdb;

namespace {

void iterate(std::string_view contents) {
  BlockIter it;
  it.reset(contents, "fuzz-block", 0);
  std::string last;
  size_t n = 0;
  for (it.seek_to_first(); it.valid() && n < 100000; it.next(), ++n) last.assign(it.key());
  it.seek_to_last();
  if (last.size() >= kInternalSuffix) {
    it.seek(last);
    it.seek_for_prev(last);
  }
  it.seek(make_internal_key("m", 0, kMaxSequence, ValueType::Value));
  it.seek_for_prev(make_internal_key("m", 0, 0, ValueType::Value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0:
      fuzz::expect_corruption_only([&] { iterate(bytes); });
      break;
    case 1: {
      TableProperties p;
      if (decode_table_properties(bytes, &p)) {
        std::string again;
        encode_table_properties(p, &again);
        TableProperties q;
        if (!decode_table_properties(again, &q)) fuzz::fail("re-encoded properties rejected");
      }
      std::string_view in = bytes;
      BlockHandle h;
      while (decode_block_handle(&in, &h)) {
      }
      break;
    }
    default: {  // 2: lz4, 3: zstd (the kind byte of a block trailer)
      std::string out;
      fuzz::expect_corruption_only([&] {
        uncompress_block(static_cast<uint8_t>(data[0] % 4 - 1), bytes, &out, "fuzz", 0);
        fuzz::expect_corruption_only([&] { iterate(out); });
      });
      break;
    }
  }
  return 0;
}
