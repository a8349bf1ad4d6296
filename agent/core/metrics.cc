#include "agent/core/metrics.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <array>
#include <cstdio>
#include <sstream>

#include "flowdb/engine.h"
#include "ingest/parse_error.h"

#ifndef FLOWDB_VERSION
#define FLOWDB_VERSION "unknown"
#endif
#ifndef FLOWDB_REVISION
#define FLOWDB_REVISION "unknown"
#endif

namespace flowdb::agent {
namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

double sum_family(const prometheus::Family<prometheus::Counter>& f) {
  double total = 0;
  for (const auto& mf : f.Collect()) {
    for (const auto& m : mf.metric) total += m.counter.value;
  }
  return total;
}

prometheus::MetricFamily gauge_family(const std::string& name, const std::string& help,
                                      double value,
                                      prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}
constexpr int kParseReasons = static_cast<int>(ingest::ParseReason::missing_measurement) + 1;

template <size_t N>
std::array<std::string_view, N> with_parse_reasons(std::initializer_list<std::string_view> own) {
  std::array<std::string_view, N> out{};
  size_t i = 0;
  for (std::string_view r : own) out[i++] = r;
  for (int k = 0; k < kParseReasons; ++k) {
    out[i++] = ingest::reason_name(static_cast<ingest::ParseReason>(k));
  }
  return out;
}
}  // namespace

std::span<const std::string_view> point_drop_reasons() {
  static const auto kReasons = with_parse_reasons<5 + kParseReasons>(
      {"expired", "duplicate_timestamp", "queue_full", "storage_error", "quota"});
  return kReasons;
}
std::span<const std::string_view> payload_drop_reasons() {
  static const auto kReasons = with_parse_reasons<3 + kParseReasons>(
      {"payload_too_large", "socket_overflow", "internal_error"});
  return kReasons;
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      messages_(BuildCounter()
                    .Name("flowdb_input_messages_received_total")
                    .Help("Datagrams or MQTT messages received, per input")
                    .Register(*registry_)),
      bytes_(BuildCounter()
                 .Name("flowdb_input_bytes_received_total")
                 .Help("Payload bytes received, per input")
                 .Register(*registry_)),
      points_(BuildCounter()
                  .Name("flowdb_input_points_received_total")
                  .Help("Points parsed successfully, per input")
                  .Register(*registry_)),
      records_stored_(BuildCounter()
                          .Name("flowdb_input_records_stored_total")
                          .Help("Engine records (one per point field) written to the WAL")
                          .Register(*registry_)),
      bytes_stored_(BuildCounter()
                        .Name("flowdb_input_bytes_stored_total")
                        .Help("Key and value bytes written to the engine, per input")
                        .Register(*registry_)),
      dropped_(BuildCounter()
                   .Name("flowdb_input_points_dropped_total")
                   .Help("Points dropped, per input and reason")
                   .Register(*registry_)),
      payloads_dropped_(BuildCounter()
                            .Name("flowdb_input_payloads_dropped_total")
                            .Help("Datagrams or MQTT messages dropped as a whole (their points "
                                  "unknown), per input and reason")
                            .Register(*registry_)),
      parse_errors_(BuildCounter()
                        .Name("flowdb_input_parse_errors_total")
                        .Help("Rejected lines, JSON elements or payloads, per input and reason")
                        .Register(*registry_)),
      batch_records_(BuildHistogram()
                         .Name("flowdb_batch_records")
                         .Help("Records per engine write_batch call")
                         .Register(*registry_)
                         .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 100, 500, 1000,
                                                                          5000, 10000, 50000})),
      write_seconds_(
          BuildHistogram()
              .Name("flowdb_write_duration_seconds")
              .Help("Latency of engine write_batch calls")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                               0.05, 0.1, 0.5, 1, 5})),
      ingest_seconds_(
          BuildHistogram()
              .Name("flowdb_ingest_latency_seconds")
              .Help("Time from receipt by an input to the engine write returning (WAL written; "
                    "fsynced with sync: always)")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                               0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                               5})),
      write_errors_(BuildCounter()
                        .Name("flowdb_write_errors_total")
                        .Help("Engine write_batch calls that failed")
                        .Register(*registry_)
                        .Add({})),
      queue_points_(BuildGauge()
                        .Name("flowdb_queue_points")
                        .Help("Records waiting in the batcher queue")
                        .Register(*registry_)
                        .Add({})),
      queue_bytes_(BuildGauge()
                       .Name("flowdb_queue_bytes")
                       .Help("Bytes waiting in the batcher queue")
                       .Register(*registry_)
                       .Add({})),
      mqtt_up_(BuildGauge()
                   .Name("flowdb_mqtt_connected")
                   .Help("1 while the MQTT connection to the broker is up")
                   .Register(*registry_)),
      mqtt_reconnects_(BuildCounter()
                           .Name("flowdb_mqtt_reconnects_total")
                           .Help("MQTT connections re-established after a loss, per broker")
                           .Register(*registry_)),
      mqtt_connect_failures_(BuildCounter()
                                 .Name("flowdb_mqtt_connect_failures_total")
                                 .Help("Failed MQTT connect or subscribe attempts, per broker")
                                 .Register(*registry_)),
      reloads_(BuildCounter()
                   .Name("flowdb_config_reloads_total")
                   .Help("SIGHUP reloads by result (ok, rejected)")
                   .Register(*registry_)),
      build_info_(BuildGauge()
                      .Name("flowdb_build_info")
                      .Help("Always 1; the labels give the version and the git revision built")
                      .Register(*registry_)) {
  reloads_.Add({{"result", "ok"}});
  reloads_.Add({{"result", "rejected"}});
  build_info_.Add({{"version", FLOWDB_VERSION}, {"revision", FLOWDB_REVISION}}).Set(1);
}

InputMetrics& Metrics::input(const std::string& name) {
  // Family::Add returns the existing metric for known labels; the struct is
  // cached per name so the hot path does no label hashing.
  std::lock_guard lock(inputs_mu_);
  InputMetrics& m = inputs_[name];
  if (m.messages == nullptr) {
    prometheus::Labels l{{"input", name}};
    m.messages = &messages_.Add(l);
    m.bytes = &bytes_.Add(l);
    m.points = &points_.Add(l);
    m.records_stored = &records_stored_.Add(l);
    m.bytes_stored = &bytes_stored_.Add(l);
    // Exported at 0 from the start, so rate() and alerts see every series.
    for (std::string_view r : point_drop_reasons()) {
      dropped_.Add({{"input", name}, {"reason", std::string(r)}});
    }
    for (std::string_view r : payload_drop_reasons()) {
      payloads_dropped_.Add({{"input", name}, {"reason", std::string(r)}});
    }
    for (int k = 0; k < kParseReasons; ++k) {
      parse_errors_.Add(
          {{"input", name},
           {"reason", std::string(ingest::reason_name(static_cast<ingest::ParseReason>(k)))}});
    }
  }
  return m;
}

void Metrics::dropped(const std::string& input, std::string_view reason, double n) {
  dropped_.Add({{"input", input}, {"reason", std::string(reason)}}).Increment(n);
}
void Metrics::payload_dropped(const std::string& input, std::string_view reason, double n) {
  payloads_dropped_.Add({{"input", input}, {"reason", std::string(reason)}}).Increment(n);
}
void Metrics::parse_error(const std::string& input, std::string_view reason, double n) {
  parse_errors_.Add({{"input", input}, {"reason", std::string(reason)}}).Increment(n);
}
void Metrics::observe_batch(size_t records, double write_seconds) {
  batch_records_.Observe(static_cast<double>(records));
  write_seconds_.Observe(write_seconds);
}
void Metrics::write_error() { write_errors_.Increment(); }
void Metrics::set_queue(size_t points, size_t bytes) {
  queue_points_.Set(static_cast<double>(points));
  queue_bytes_.Set(static_cast<double>(bytes));
}
void Metrics::mqtt_connected(const std::string& input, const std::string& broker, bool up) {
  mqtt_up_.Add({{"input", input}, {"broker", broker}}).Set(up ? 1 : 0);
  mqtt_reconnects_.Add({{"input", input}, {"broker", broker}});  // exported at 0
  mqtt_connect_failures_.Add({{"input", input}, {"broker", broker}});
}
void Metrics::mqtt_reconnect(const std::string& input, const std::string& broker) {
  mqtt_reconnects_.Add({{"input", input}, {"broker", broker}}).Increment();
}
void Metrics::mqtt_connect_failure(const std::string& input, const std::string& broker) {
  mqtt_connect_failures_.Add({{"input", input}, {"broker", broker}}).Increment();
}
void Metrics::config_reload(bool ok) {
  reloads_.Add({{"result", ok ? "ok" : "rejected"}}).Increment();
}

double Metrics::total_points_received() const { return sum_family(points_); }
double Metrics::total_records_stored() const { return sum_family(records_stored_); }
double Metrics::total_dropped() const { return sum_family(dropped_); }

std::string Metrics::serialize(Engine* engine) const {
  std::vector<prometheus::MetricFamily> fams = registry_->Collect();
  using prometheus::MetricType;
  if (engine != nullptr) {
    EngineStats s = engine->stats();
    auto add = [&](const char* name, const char* help, double v, MetricType t = MetricType::Gauge) {
      fams.push_back(gauge_family(name, help, v, t));
    };
    add("flowdb_engine_memtable_bytes", "Bytes in the active memtable",
        static_cast<double>(s.memtable_bytes));
    add("flowdb_engine_memtable_records", "Records in the active memtable",
        static_cast<double>(s.memtable_records));
    add("flowdb_engine_frozen_memtables", "Memtables waiting for flush",
        static_cast<double>(s.frozen_memtable_count));
    add("flowdb_engine_sstables", "Live SST files", static_cast<double>(s.sstable_count));
    add("flowdb_engine_sstable_bytes", "Bytes of live SST files",
        static_cast<double>(s.sstable_bytes));
    add("flowdb_engine_buckets", "Time buckets holding at least one SST",
        static_cast<double>(s.time_index_buckets));
    add("flowdb_engine_wal_bytes", "Bytes of the write-ahead log",
        static_cast<double>(s.wal_bytes));
    add("flowdb_engine_block_cache_bytes", "Bytes in the block cache",
        static_cast<double>(s.block_cache_bytes));
    add("flowdb_engine_background_error",
        "1 while a background error (e.g. a full disk) stops engine writes, else 0",
        s.background_error.severity == BackgroundError::Severity::None ? 0.0 : 1.0);
    add("flowdb_engine_records_written_total", "Records written since open",
        static_cast<double>(s.total_records_written), MetricType::Counter);
    add("flowdb_engine_flushes_total", "Memtable flushes since open",
        static_cast<double>(s.total_flushes), MetricType::Counter);
    add("flowdb_engine_compactions_total", "Compaction runs since open",
        static_cast<double>(s.total_compaction_runs), MetricType::Counter);
    add("flowdb_engine_gc_runs_total", "GC runs since open", static_cast<double>(s.total_gc_runs),
        MetricType::Counter);
    add("flowdb_engine_gc_purged_bytes_total", "Bytes dropped by GC",
        static_cast<double>(s.bytes_purged_by_gc), MetricType::Counter);
    add("flowdb_engine_wal_syncs_total", "WAL fsyncs", static_cast<double>(s.wal_syncs),
        MetricType::Counter);
    add("flowdb_engine_write_stalls_total", "Writers that waited for a flush",
        static_cast<double>(s.write_stalls), MetricType::Counter);
  }
  fams.push_back(gauge_family("flowdb_process_resident_memory_bytes",
                              "Resident set size of the agent",
                              static_cast<double>(process_rss_bytes())));
  fams.push_back(gauge_family("flowdb_process_heap_bytes",
                              "Heap bytes allocated and not freed (0: not known)",
                              static_cast<double>(process_heap_bytes())));
  return prometheus::TextSerializer().Serialize(fams);
}

uint64_t process_rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, rss = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &rss);
  std::fclose(f);
  return n == 2 ? static_cast<uint64_t>(rss) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

uint64_t process_heap_bytes() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<uint64_t>(mi.uordblks) + static_cast<uint64_t>(mi.hblkhd);
#else
  return 0;
#endif
}

}  // namespace flowdb::agent
