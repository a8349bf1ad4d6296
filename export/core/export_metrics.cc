#include "export/core/export_metrics.h"

namespace flowdb::exporter {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

ExportMetrics::ExportMetrics(prometheus::Registry& r)
    : points_sent_(BuildCounter()
                       .Name("flowdb_export_points_sent_total")
                       .Help("Points the upstream accepted.")
                       .Register(r)),
      bytes_sent_(BuildCounter()
                      .Name("flowdb_export_bytes_sent_total")
                      .Help("Bytes put on the wire (after compression), retries included.")
                      .Register(r)),
      batches_(BuildCounter()
                   .Name("flowdb_export_batches_total")
                   .Help("Batches the upstream accepted.")
                   .Register(r)),
      retries_(BuildCounter()
                   .Name("flowdb_export_retries_total")
                   .Help("Send attempts that failed and will be retried.")
                   .Register(r)),
      rejected_(BuildCounter()
                    .Name("flowdb_export_rejected_points_total")
                    .Help("Points not delivered because they are bad, by reason.")
                    .Register(r)),
      dropped_(BuildCounter()
                   .Name("flowdb_export_dropped_points_total")
                   .Help("Stored points removed before they were exported, by reason.")
                   .Register(r)),
      lag_points_(BuildGauge()
                      .Name("flowdb_export_lag_points")
                      .Help("Committed writes not yet acknowledged by the upstream.")
                      .Register(r)),
      lag_seconds_(BuildGauge()
                       .Name("flowdb_export_lag_seconds")
                       .Help("Seconds since the export was last caught up.")
                       .Register(r)),
      last_success_(BuildGauge()
                        .Name("flowdb_export_last_success_timestamp_seconds")
                        .Help("Unix time of the last accepted batch.")
                        .Register(r)),
      up_(BuildGauge()
              .Name("flowdb_export_up")
              .Help("1 if the last send attempt succeeded, else 0.")
              .Register(r)),
      latency_(BuildHistogram()
                   .Name("flowdb_export_upstream_latency_seconds")
                   .Help("Time of one send attempt to the upstream.")
                   .Register(r)) {}

ExportMetrics::Export ExportMetrics::for_export(const std::string& name, const std::string& type) {
  const prometheus::Labels l{{"export", name}, {"type", type}};
  auto with = [&](const char* reason) {
    prometheus::Labels x = l;
    x["reason"] = reason;
    return x;
  };
  Export e;
  e.points_sent = &points_sent_.Add(l);
  e.bytes_sent = &bytes_sent_.Add(l);
  e.batches = &batches_.Add(l);
  e.retries = &retries_.Add(l);
  e.rejected_upstream = &rejected_.Add(with("upstream"));
  e.rejected_unsupported = &rejected_.Add(with("unsupported"));
  e.rejected_undecodable = &rejected_.Add(with("undecodable"));
  e.dropped_quota = &dropped_.Add(with("quota"));
  e.lag_points = &lag_points_.Add(l);
  e.lag_seconds = &lag_seconds_.Add(l);
  e.last_success = &last_success_.Add(l);
  e.up = &up_.Add(l);
  e.latency = &latency_.Add(l, prometheus::Histogram::BucketBoundaries{
                                   0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  return e;
}

}  // namespace flowdb::exporter
