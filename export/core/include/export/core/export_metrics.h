// Prometheus metrics of the exports (prometheus-cpp), labelled
// {export="NAME", type="SINK"}:
//   flowdb_export_points_sent_total, flowdb_export_bytes_sent_total,
//   flowdb_export_batches_total, flowdb_export_retries_total,
//   flowdb_export_rejected_points_total{reason=upstream|unsupported|undecodable},
//   flowdb_export_dropped_points_total{reason=quota},
//   flowdb_export_lag_points, flowdb_export_lag_seconds,
//   flowdb_export_last_success_timestamp_seconds, flowdb_export_up,
//   flowdb_export_upstream_latency_seconds (histogram).
//
// Thread-safety: thread-safe (prometheus-cpp metrics are atomic).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace flowdb::exporter {

class ExportMetrics {
 public:
  // Registers the families in `registry`, which must outlive this.
  explicit ExportMetrics(prometheus::Registry& registry);

  // The metrics of one export; pointers stay valid as long as this object.
  struct Export {
    prometheus::Counter* points_sent = nullptr;
    prometheus::Counter* bytes_sent = nullptr;
    prometheus::Counter* batches = nullptr;
    prometheus::Counter* retries = nullptr;
    prometheus::Counter* rejected_upstream = nullptr;
    prometheus::Counter* rejected_unsupported = nullptr;
    prometheus::Counter* rejected_undecodable = nullptr;
    prometheus::Counter* dropped_quota = nullptr;
    prometheus::Gauge* lag_points = nullptr;
    prometheus::Gauge* lag_seconds = nullptr;
    prometheus::Gauge* last_success = nullptr;
    prometheus::Gauge* up = nullptr;
    prometheus::Histogram* latency = nullptr;
  };
  Export for_export(const std::string& name, const std::string& type);

 private:
  prometheus::Family<prometheus::Counter>& points_sent_;
  prometheus::Family<prometheus::Counter>& bytes_sent_;
  prometheus::Family<prometheus::Counter>& batches_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& dropped_;
  prometheus::Family<prometheus::Gauge>& lag_points_;
  prometheus::Family<prometheus::Gauge>& lag_seconds_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Family<prometheus::Gauge>& up_;
  prometheus::Family<prometheus::Histogram>& latency_;
};

}  // namespace flowdb::exporter
