#include "agent/core/metrics.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <array>
#include <cstdio>
#include <sstream>

#include "agent/core/prometheus_text.h"
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
                                      double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.gauge.value = value;
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
void Metrics::config_reload(bool ok) {
  reloads_.Add({{"result", ok ? "ok" : "rejected"}}).Increment();
}

double Metrics::total_points_received() const { return sum_family(points_); }
double Metrics::total_records_stored() const { return sum_family(records_stored_); }
double Metrics::total_dropped() const { return sum_family(dropped_); }

std::string Metrics::serialize(Engine* engine) const {
  std::vector<prometheus::MetricFamily> fams = registry_->Collect();
  fams.push_back(gauge_family("flowdb_process_resident_memory_bytes",
                              "Resident set size of the agent",
                              static_cast<double>(process_rss_bytes())));
  fams.push_back(gauge_family("flowdb_process_heap_bytes",
                              "Heap bytes allocated and not freed (0: not known)",
                              static_cast<double>(process_heap_bytes())));
  std::string text = prometheus::TextSerializer().Serialize(fams);
  if (engine != nullptr) text += engine_metrics_text(engine->stats());
  return text;
}

namespace {
// Histogram of a latency in seconds, over the engine's microsecond buckets.
void latency_histogram(PrometheusText* out, const std::string& name, std::string_view help,
                       const LatencyStats& l) {
  static constexpr double kBounds[] = {1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3,
                                       1e-2, 5e-2, 0.1,  0.5,  1,    5};
  out->family(name, "histogram", help);
  const std::string bucket = name + "_bucket";
  for (double bound : kBounds) {
    char le[48];
    std::snprintf(le, sizeof le, "le=\"%g\"", bound);
    out->sample(bucket, le,
                static_cast<double>(l.count_at_most(static_cast<uint64_t>(bound * 1e6))));
  }
  out->sample(bucket, "le=\"+Inf\"", static_cast<double>(l.count));
  out->sample(name + "_sum", {}, static_cast<double>(l.sum_us) / 1e6);
  out->sample(name + "_count", {}, static_cast<double>(l.count));
}
}  // namespace

std::string engine_metrics_text(const EngineStats& s) {
  PrometheusText out;
  auto gauge = [&](const char* name, const char* help, double v) {
    out.metric(name, "gauge", help, v);
  };
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out.metric(name, "counter", help, static_cast<double>(v));
  };
  gauge("flowdb_engine_memtable_bytes", "Bytes in the active memtable",
        static_cast<double>(s.memtable_bytes));
  gauge("flowdb_engine_memtable_records", "Records in the active memtable",
        static_cast<double>(s.memtable_records));
  gauge("flowdb_engine_frozen_memtables", "Memtables waiting for flush",
        static_cast<double>(s.frozen_memtable_count));
  gauge("flowdb_engine_sstables", "Live SST files", static_cast<double>(s.sstable_count));
  gauge("flowdb_engine_sstable_bytes", "Bytes of live SST files",
        static_cast<double>(s.sstable_bytes));
  gauge("flowdb_engine_buckets", "Time buckets holding at least one SST",
        static_cast<double>(s.time_index_buckets));
  gauge("flowdb_engine_wal_bytes", "Bytes of the active write-ahead log segment",
        static_cast<double>(s.wal_bytes));
  gauge("flowdb_engine_block_cache_bytes", "Bytes in the block cache",
        static_cast<double>(s.block_cache_bytes));
  gauge("flowdb_engine_block_cache_hit_ratio", "Block cache hit ratio of reads since open",
        s.block_cache_hit_rate);
  gauge("flowdb_engine_compression_ratio", "Uncompressed / stored bytes of live SST blocks",
        s.compression_ratio);
  gauge("flowdb_engine_uptime_seconds", "Seconds since the engine was opened",
        static_cast<double>(s.uptime_secs));
  gauge("flowdb_engine_background_error",
        "1 while a background error (e.g. a full disk) stops engine writes, else 0",
        s.background_error.severity == BackgroundError::Severity::None ? 0.0 : 1.0);
  counter("flowdb_engine_records_written_total", "Records written since open",
          s.total_records_written);
  counter("flowdb_engine_bytes_written_total", "Logical key and value bytes written since open",
          s.total_bytes_written);
  counter("flowdb_engine_records_read_total", "Records returned by reads since open",
          s.total_records_read);
  counter("flowdb_engine_records_expired_total", "Expired records skipped by reads since open",
          s.total_records_expired);
  counter("flowdb_engine_flushes_total", "Memtable flushes since open", s.total_flushes);
  counter("flowdb_engine_compactions_total", "Compaction runs since open", s.total_compaction_runs);
  counter("flowdb_engine_compaction_read_bytes_total", "Bytes read by compactions since open",
          s.compaction_bytes_in);
  counter("flowdb_engine_compaction_written_bytes_total", "Bytes written by compactions since open",
          s.compaction_bytes_out);
  counter("flowdb_engine_gc_runs_total", "GC runs since open", s.total_gc_runs);
  counter("flowdb_engine_gc_purged_records_total", "Records dropped by GC", s.records_purged_by_gc);
  counter("flowdb_engine_gc_purged_bytes_total", "Bytes dropped by GC", s.bytes_purged_by_gc);
  counter("flowdb_engine_wal_syncs_total", "WAL fsyncs", s.wal_syncs);
  counter("flowdb_engine_write_stalls_total", "Writers that waited for a flush", s.write_stalls);
  counter("flowdb_engine_sst_files_opened_by_reads_total", "SST files consulted by reads",
          s.files_opened_by_reads);
  counter("flowdb_engine_blocks_read_total", "Data blocks consulted by reads (cache or disk)",
          s.blocks_read);
  counter("flowdb_engine_blocks_read_from_disk_total", "Data blocks read from disk",
          s.blocks_read_from_disk);
  counter("flowdb_engine_background_errors_total", "Times a background error stopped writes",
          s.background_errors);
  latency_histogram(&out, "flowdb_engine_write_duration_seconds", "Latency of engine write calls",
                    s.write_latency);
  latency_histogram(&out, "flowdb_engine_read_duration_seconds", "Latency of engine point reads",
                    s.query_latency);
  latency_histogram(&out, "flowdb_engine_flush_duration_seconds", "Latency of memtable flushes",
                    s.flush_latency);
  return out.take();
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
