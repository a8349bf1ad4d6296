// Line-protocol payloads: parse never throws, counts match the sinks, and
// every parsed point written back (ns/us) parses to an equal point.
// Input: 1 options byte (precision, reserved names), then the payload.
#include <string>

#include "fuzz_util.h"
#include "ingest/line_protocol.h"

using namespace flowdb;
using namespace flowdb::ingest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const Precision kPrec[] = {Precision::ns, Precision::us, Precision::ms, Precision::s};
  LineProtocolOptions o;
  o.precision = kPrec[data[0] & 3];
  o.reject_reserved_names = (data[0] & 4) != 0;
  o.max_string_bytes = (data[0] & 8) ? 16 : 64 * 1024;
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  const LineProtocolResult r = parse_line_protocol(payload, 1700000000000000, o);
  const bool exact = o.precision == Precision::ns || o.precision == Precision::us;
  for (const Point& p : r.points) {
    std::string line;
    if (!append_line_protocol(&line, p, o.precision)) fuzz::fail("parsed point not writable");
    const LineProtocolResult back = parse_line_protocol(line, 1700000000000000, o);
    if (back.points.size() != 1 || !back.errors.empty()) fuzz::fail("written line not parsable");
    if (exact && !(back.points[0] == p)) fuzz::fail("written line parses to another point");
  }
  return 0;
}
