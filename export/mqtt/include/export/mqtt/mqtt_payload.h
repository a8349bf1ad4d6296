// Payloads of the mqtt export: how samples become MQTT message bodies.
//
// Every sample is rendered on its own (one line, or one JSON object); the
// samples of one topic are then packed, in batch order, into as few messages
// as `max_bytes` allows.
//
// format lp (InfluxDB line protocol, ingest/line_protocol.h), one line per
// sample, each ending in '\n', timestamp in NANOSECONDS (InfluxDB's default
// precision, so a payload can be written to InfluxDB or read by a FlowDB MQTT
// input without a precision setting):
//
//   cpu,host=gw1 usage=0.5 1700000000000000000\n
//
// format json: a JSON array with one object per sample, ts in MICROSECONDS
// (FlowDB's stored precision), keys in this order:
//
//   [{"measurement":"cpu","tags":{"host":"gw1"},"fields":{"usage":5E-1},"ts":1700000000000000}]
//
// Values: double -> JSON number in Boost.JSON's shortest round-trip form,
// always with an exponent (5E-1, 2.15E1); int64 / uint64 -> JSON integer;
// bool -> true/false; string -> JSON string.
//
// compression lz4: the payload (lp text or JSON document) is wrapped as
//
//   "FDZ1" | uncompressed length (uint32, little-endian) | LZ4 block (LZ4_compress_default)
//
// A consumer checks the magic, then LZ4_decompress_safe()s the block into a
// buffer of the given length (lz4_unframe() below does exactly this).
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "export/core/sink.h"

namespace flowdb::export_mqtt {

enum class PayloadFormat : uint8_t { kLineProtocol, kJson };
enum class Compression : uint8_t { kNone, kLz4 };

inline constexpr std::string_view kLz4Magic = "FDZ1";
inline constexpr size_t kLz4HeaderBytes = 8;  // magic + uint32 length

// Appends one sample (an lp line ending in '\n', or a JSON object without
// separators). Returns false, leaving *out unchanged, if the format cannot
// represent it: NaN/Inf, empty or non-UTF-8 names or strings, a '\n' in lp, or
// (lp) a timestamp beyond int64 nanoseconds (after 2262-04-11).
bool append_sample(PayloadFormat format, const exporter::Sample& sample, std::string* out);

// Wraps `text` in the lz4 frame above. REQUIRES: text.size() < 2^31.
std::string lz4_frame(std::string_view text);
// Decodes an lz4 frame into *out. Returns false if `frame` is not one.
bool lz4_unframe(std::string_view frame, std::string* out);

struct PackResult {
  std::vector<std::string> payloads;  // in order; their samples are in batch order
  // Set if a unit does not fit a message on its own: its index in `units`,
  // and the size of that one-sample payload.
  std::optional<size_t> oversize;
  size_t oversize_bytes = 0;
};

// Packs `units` (outputs of append_sample, in order) into payloads of at most
// `max_bytes` bytes each as published, i.e. after compression. Each payload
// holds consecutive units: lp lines concatenated, or JSON objects joined into
// one array. With lz4 the number of units per message is found from the
// observed compression ratio, so messages are filled close to max_bytes.
PackResult pack_payloads(std::span<const std::string> units, PayloadFormat format,
                         Compression compression, size_t max_bytes);

}  // namespace flowdb::export_mqtt
