// Agent metrics (prometheus-cpp). Names follow the Prometheus conventions:
// prefix flowdb_, counters end in _total, units in the name (_seconds, _bytes).
//
// Thread-safety: all methods are thread-safe (prometheus-cpp metrics are
// atomic; families lock internally).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "flowdb/stats.h"

namespace flowdb {
class Engine;
}

namespace flowdb::agent {

// The counters one input updates on its hot path (resolved once per input).
struct InputMetrics {
  prometheus::Counter* messages = nullptr;  // datagrams / MQTT messages
  prometheus::Counter* bytes = nullptr;     // payload bytes received
  prometheus::Counter* points = nullptr;    // points parsed successfully
  prometheus::Counter* records_stored = nullptr;
  prometheus::Counter* bytes_stored = nullptr;  // key + value bytes handed to the engine
};

class Metrics {
 public:
  Metrics();

  InputMetrics& input(const std::string& name);
  // The registry behind /metrics, for modules that add their own families.
  prometheus::Registry& registry() { return *registry_; }
  // Points dropped, by reason: parse reasons (syntax, invalid_utf8, ...),
  // expired, duplicate_timestamp, queue_full, storage_error, quota.
  void dropped(const std::string& input, std::string_view reason, double n = 1);
  // Whole datagrams / messages dropped before their points were known:
  // payload_too_large, socket_overflow, internal_error, or the parse reason
  // of a payload rejected as a whole (e.g. a JSON syntax error).
  void payload_dropped(const std::string& input, std::string_view reason, double n = 1);
  void parse_error(const std::string& input, std::string_view reason, double n = 1);
  void observe_batch(size_t records, double write_seconds);
  // Time from a chunk's receipt by an input to its write_batch returning.
  void observe_ingest_latency(double seconds) { ingest_seconds_.Observe(seconds); }
  void write_error();
  void set_queue(size_t points, size_t bytes);
  void config_reload(bool ok);

  // Text exposition: the registry plus the engine's metrics (from `engine`,
  // may be null; engine_metrics_text) and process RSS and heap.
  std::string serialize(Engine* engine) const;

  // Totals for the periodic status line.
  double total_points_received() const;
  double total_records_stored() const;
  double total_dropped() const;

 private:
  std::mutex inputs_mu_;
  std::map<std::string, InputMetrics> inputs_;  // guarded by inputs_mu_; values never move
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& messages_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& points_;
  prometheus::Family<prometheus::Counter>& records_stored_;
  prometheus::Family<prometheus::Counter>& bytes_stored_;
  prometheus::Family<prometheus::Counter>& dropped_;
  prometheus::Family<prometheus::Counter>& payloads_dropped_;
  prometheus::Family<prometheus::Counter>& parse_errors_;
  prometheus::Histogram& batch_records_;
  prometheus::Histogram& write_seconds_;
  prometheus::Histogram& ingest_seconds_;
  prometheus::Counter& write_errors_;
  prometheus::Gauge& queue_points_;
  prometheus::Gauge& queue_bytes_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Gauge>& build_info_;
};

// The reasons an input's counters are exported with (at 0) from the start.
std::span<const std::string_view> point_drop_reasons();
std::span<const std::string_view> payload_drop_reasons();

// The flowdb_engine_* families (Prometheus text) of one stats() snapshot:
// the engine's counters and gauges, and its latencies as histograms in
// seconds. The only place these metrics are defined.
std::string engine_metrics_text(const EngineStats& s);

// Resident set size of this process in bytes (from /proc/self/statm).
uint64_t process_rss_bytes();
// Heap bytes this process has allocated and not freed (glibc mallinfo2), or
// 0 where the C library does not tell. Unlike RSS, it falls when memory is
// freed and does not count pages the allocator keeps cached.
uint64_t process_heap_bytes();

}  // namespace flowdb::agent
