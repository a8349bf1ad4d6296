// Prometheus remote write 1.0 receive (POST /api/v1/write): a snappy-block
// compressed prometheus.WriteRequest (export/prometheus/prompb, the same
// proto the prometheus_remote_write export sends) into points.
//
// Mapping of one sample: measurement = the __name__ label, one field "value"
// (a double), tags = every other label (an empty value is absent, as in
// Prometheus), ts = the sample's milliseconds. A series without __name__ is
// skipped, its samples counted as missing_measurement. NaN, ±Inf and
// staleness markers are kept (ingest/value_codec.h types 0x07, 0x08).
//
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/function_ref.h"
#include "ingest/point.h"

namespace flowdb::ingest_http {

enum class RemoteWriteStatus { kOk, kTooLarge, kCorrupt };

struct RemoteWriteStats {
  uint64_t points = 0;               // delivered to on_point
  uint64_t missing_measurement = 0;  // samples of series without __name__
  uint64_t out_of_range = 0;         // milliseconds beyond int64 microseconds
};

// Decodes `body` (at most `max_decoded` bytes once uncompressed, else
// kTooLarge) and calls `on_point` per sample. kCorrupt, with *error, for
// bad snappy or protobuf data.
RemoteWriteStatus decode_remote_write(std::string_view body, size_t max_decoded,
                                      ingest::FunctionRef<void(const ingest::Point&)> on_point,
                                      RemoteWriteStats* stats, std::string* error);

}  // namespace flowdb::ingest_http
