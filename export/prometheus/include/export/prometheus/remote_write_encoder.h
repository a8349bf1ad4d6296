// RemoteWriteEncoder: exporter samples -> a Prometheus remote-write 1.0 body
// (a prometheus.WriteRequest, export/prometheus/prompb/remote.proto, in
// snappy block format).
//
// Mapping of one sample (measurement, tags, field, value, ts):
//  * metric name: sanitize_metric_name(measurement, field), i.e.
//    "<measurement>_<field>" with every byte outside [a-zA-Z0-9_:] (a UTF-8
//    multi-byte character counts once) replaced by '_', and a '_' put in front
//    of a leading digit: "cpu.load" + "1m" -> "cpu_load_1m".
//  * labels: __name__ plus one per tag, names by sanitize_label_name (as above
//    without ':'); tags with an empty value are left out (Prometheus treats an
//    empty label as absent). Labels are sorted by name, bytewise, as the spec
//    requires; __name__ is therefore first unless a tag name starts with an
//    upper-case letter.
//  * value: doubles as they are, int64/uint64 converted to double (exact up to
//    2^53), bools 1/0. Strings have no Prometheus representation: skipped and
//    counted as unsupported.
//  * timestamp: milliseconds, floor(ts_us / 1000).
// Samples of one series form one TimeSeries, in timestamp order (the batch
// may hold them in any order). Two samples of a series in the same
// millisecond would be a duplicate for Prometheus: the later one (by
// microsecond, then batch position) is kept, the other counted as unsupported.
// A series whose tags collide after sanitizing (e.g. "a-b" and "a.b", or a
// tag named "__name__") is skipped and counted as unsupported.
//
// Thread-safety: one thread at a time (buffers and the protobuf message are
// reused between calls).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "export/core/sink.h"
#include "prompb/remote.pb.h"

namespace flowdb::export_prometheus {

std::string sanitize_metric_name(std::string_view measurement, std::string_view field);
std::string sanitize_label_name(std::string_view tag_key);

class RemoteWriteEncoder {
 public:
  // Groups samples by series through this hash (and a full comparison among
  // samples with equal hashes). Tests pass a constant to force collisions.
  using SeriesHash = uint64_t (*)(const ingest::SeriesKeyParts&);
  static uint64_t default_series_hash(const ingest::SeriesKeyParts& series);

  explicit RemoteWriteEncoder(SeriesHash hash = default_series_hash) : hash_(hash) {}

  struct Stats {
    uint64_t series = 0;       // TimeSeries in the request
    uint64_t samples = 0;      // samples in the request
    uint64_t unsupported = 0;  // samples skipped (see above)
  };

  // Replaces *body with the snappy-compressed WriteRequest of `batch` (empty
  // if no sample is representable).
  Stats encode(std::span<const exporter::Sample> batch, std::string* body);

  // The request built by the last encode() (for tests).
  const prometheus::WriteRequest& request() const { return request_; }

 private:
  // Adds the series of batch[order_[begin, end)] to request_.
  void add_series(std::span<const exporter::Sample> batch, size_t begin, size_t end, Stats* stats);

  SeriesHash hash_;
  prometheus::WriteRequest request_;
  std::vector<uint32_t> order_;   // sample indices, sorted by series then time
  std::vector<uint64_t> hashes_;  // series hash per sample
  std::vector<std::pair<std::string, std::string_view>> labels_;  // (name, value)
  std::string metric_;  // the metric name of the series being added
  std::string serialized_;
};

}  // namespace flowdb::export_prometheus
