// InfluxLineEncoder: exporter samples -> InfluxDB line protocol, timestamps in
// MICROSECONDS (the write must say precision=u (v1) / precision=us (v2)).
//
// Consecutive samples of the same series (measurement + tags) and timestamp
// become one line with several fields, so a point that was ingested as
//
//   cpu,host=gw1 usage=0.5,procs=87i 1700000000000000
//
// and stored as one record per field goes out as that same line again. Samples
// are never reordered; a field repeated within one such run starts a new line.
// Escaping and value syntax are ingest::append_line_protocol's (measurement:
// ',' and ' '; tag keys/values and field keys: ',', '=' and ' '; string values:
// '"' and '\'; ints "12i", uints "12u", bools true/false, doubles in their
// shortest round-trip form).
//
// uint64 values: InfluxDB 1.x rejects "12u" (unsigned fields exist only in
// InfluxDB 2 / Cloud and VictoriaMetrics). Without uint support they are
// written as integers, clamped to INT64_MAX as Telegraf does, so a field keeps
// one type.
//
// Samples line protocol cannot carry are skipped and counted (unsupported): a
// '\n' in a name or string value, an empty name, invalid UTF-8, a NaN/Inf
// double, a measurement starting with '#'.
//
// Thread-safety: one thread at a time (reuses internal buffers, so the steady
// state does not allocate).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "export/core/sink.h"
#include "ingest/point.h"

namespace flowdb::export_influx {

class InfluxLineEncoder {
 public:
  explicit InfluxLineEncoder(bool uint_support) : uint_support_(uint_support) {}

  // Appends the lines of `batch` (each ending in '\n') to *out. Returns the
  // number of samples skipped as unrepresentable (see above).
  uint64_t encode(std::span<const exporter::Sample> batch, std::string* out);

 private:
  // Appends `run` (samples of one series and time) as one line if no name or
  // string needs escaping or validation; else appends nothing, returns false.
  bool append_plain_line(std::span<const exporter::Sample> run, std::string* out) const;
  // Appends `run` through ingest::append_line_protocol (escaping); if the line
  // cannot be represented, each field on its own line, skipping (and
  // counting) the bad ones. Returns the number skipped.
  uint64_t append_escaped_line(std::span<const exporter::Sample> run, std::string* out);

  bool uint_support_;
  ingest::Point point_;  // the slow path's line; reused
};

}  // namespace flowdb::export_influx
