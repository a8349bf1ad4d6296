#include "agent/retention_metrics.h"

#include "agent/core/prometheus_text.h"

namespace flowdb::agent {

std::string retention_metrics_text(const retention::Stats& s) {
  static constexpr const char* kReasons[3] = {"ttl", "quota", "free_space"};
  PrometheusText out;
  auto metric = [&](const char* name, const char* type, const char* help, double v) {
    out.metric(name, type, help, v);
  };
  auto by_reason = [&](const char* name, const char* help, const uint64_t* v) {
    out.family(name, "counter", help);
    for (int i = 0; i < 3; ++i) {
      out.sample(name, std::string("reason=\"") + kReasons[i] + "\"", static_cast<double>(v[i]));
    }
  };
  metric("flowdb_retention_buckets", "gauge", "Time buckets holding data.",
         static_cast<double>(s.buckets));
  by_reason("flowdb_retention_dropped_bytes_total", "Bytes dropped by retention.", s.bytes_dropped);
  by_reason("flowdb_retention_dropped_files_total", "Files dropped by retention.", s.files_dropped);
  metric("flowdb_retention_compactions_total", "counter", "Bucket compactions run by retention.",
         static_cast<double>(s.compactions));
  metric("flowdb_retention_compaction_read_bytes_total", "counter", "Bytes read by compactions.",
         static_cast<double>(s.compaction_bytes_in));
  metric("flowdb_retention_compaction_written_bytes_total", "counter",
         "Bytes written by compactions.", static_cast<double>(s.compaction_bytes_out));
  metric("flowdb_retention_export_backlog_trimmed_bytes_total", "counter",
         "WAL bytes kept only for exports that were deleted to meet the disk limits.",
         static_cast<double>(s.backlog_bytes_trimmed));
  metric("flowdb_retention_rejected_writes_total", "counter",
         "Writes refused by the reject_new quota policy.", static_cast<double>(s.rejected_writes));
  metric("flowdb_retention_oldest_timestamp_seconds", "gauge", "Oldest stored data timestamp.",
         static_cast<double>(s.oldest_ts) / 1e6);
  metric("flowdb_retention_newest_timestamp_seconds", "gauge", "Newest stored data timestamp.",
         static_cast<double>(s.newest_ts) / 1e6);
  metric("flowdb_retention_disk_usage_bytes", "gauge", "Bytes used by the data directory.",
         static_cast<double>(s.disk_usage));
  metric("flowdb_retention_disk_limit_bytes", "gauge", "Configured max_disk (0: none).",
         static_cast<double>(s.disk_limit));
  metric("flowdb_retention_last_run_duration_seconds", "gauge", "Duration of the last pass.",
         s.last_run_seconds);
  metric("flowdb_retention_runs_total", "counter", "Retention passes.",
         static_cast<double>(s.runs));
  return out.take();
}

}  // namespace flowdb::agent
