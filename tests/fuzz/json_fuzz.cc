// JSON payloads under a few JsonFormat shapes: parse never throws.
// Input: 1 format byte, then the payload.
#include <string>

#include "fuzz_util.h"
#include "ingest/json_format.h"

using namespace flowdb::ingest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  JsonFormat f;
  f.measurement = "m";
  if (data[0] & 1) f.measurement_field = "name";
  if (data[0] & 2) f.tag_keys = {"host", "a.b"};
  if (data[0] & 4) f.timestamp_field = "ts";
  f.ts_format = static_cast<JsonFormat::TsFormat>((data[0] >> 3) % 5);
  if (data[0] & 64) f.field_keys = {"v", "x.y"};
  f.ints_as_int = (data[0] & 128) != 0;
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)parse_json(payload, 1700000000000000, f);
  return 0;
}
