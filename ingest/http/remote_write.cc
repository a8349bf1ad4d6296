#include "remote_write.h"

#include <snappy.h>

#include <cmath>

#include "ingest/value_codec.h"
#include "prompb/remote.pb.h"

namespace flowdb::ingest_http {

RemoteWriteStatus decode_remote_write(std::string_view body, size_t max_decoded,
                                      ingest::FunctionRef<void(const ingest::Point&)> on_point,
                                      RemoteWriteStats* stats, std::string* error) {
  size_t len = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &len)) {
    *error = "bad snappy data (remote write 1.0 bodies are snappy block format)";
    return RemoteWriteStatus::kCorrupt;
  }
  if (len > max_decoded) return RemoteWriteStatus::kTooLarge;
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
    *error = "bad snappy data";
    return RemoteWriteStatus::kCorrupt;
  }
  prometheus::WriteRequest req;
  if (!req.ParseFromString(raw)) {
    *error = "bad protobuf: not a prometheus.WriteRequest";
    return RemoteWriteStatus::kCorrupt;
  }
  ingest::Point p;
  p.has_ts = true;
  p.fields.resize(1);
  p.fields[0].first = "value";
  for (const prometheus::TimeSeries& ts : req.timeseries()) {
    p.measurement.clear();
    p.tags.clear();
    for (const prometheus::Label& l : ts.labels()) {
      if (l.name() == "__name__") {
        p.measurement = l.value();
      } else if (!l.value().empty()) {
        p.tags.emplace_back(l.name(), l.value());
      }
    }
    if (p.measurement.empty()) {
      stats->missing_measurement += static_cast<uint64_t>(ts.samples_size());
      continue;
    }
    if (!ingest::sort_tags(&p.tags)) {  // a repeated label name: not a valid series
      stats->missing_measurement += static_cast<uint64_t>(ts.samples_size());
      continue;
    }
    for (const prometheus::Sample& s : ts.samples()) {
      // NaN, ±Inf and staleness markers are stored as Prometheus sent them
      // (value types 0x07/0x08): the query API and remote read return them.
      if (__builtin_mul_overflow(s.timestamp(), int64_t{1000}, &p.ts_us)) {
        ++stats->out_of_range;
        continue;
      }
      p.fields[0].second = ingest::FieldValue(s.value());
      ++stats->points;
      on_point(p);
    }
  }
  return RemoteWriteStatus::kOk;
}

}  // namespace flowdb::ingest_http
