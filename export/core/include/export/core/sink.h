// Sink: one upstream an export delivers to (InfluxDB line protocol over HTTP,
// Prometheus remote write, MQTT). The exporter core (export/core/exporter.h)
// reads the engine's change feed, batches, rate-limits, retries and splits;
// a sink only encodes one batch and reports how the upstream answered.
//
// Thread-safety: a sink is used by one exporter thread at a time; send() may
// be called again after any result (including after a network failure).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "agent/core/config_schema.h"
#include "ingest/point.h"
#include "ingest/series_key.h"

namespace flowdb::exporter {

// One stored sample, decoded from an engine record: series (measurement, sorted
// tags, field), typed value and timestamp in microseconds.
struct Sample {
  ingest::SeriesKeyParts series;
  ingest::FieldValue value;
  int64_t ts_us = 0;
};

enum class SendStatus : uint8_t {
  kOk,      // the upstream accepted the batch (minus `unsupported`, see below)
  kRetry,   // transient: network error, timeout, 5xx, 429; resend the same batch later
  kReject,  // the upstream refuses the content (4xx other than 429): split to isolate
};

struct SendResult {
  SendStatus status = SendStatus::kOk;
  // kRetry: the upstream's Retry-After, if it sent one.
  std::optional<std::chrono::milliseconds> retry_after;
  // HTTP status (0 if none / not HTTP) and a short reason for logs. Never
  // contains credentials.
  int http_status = 0;
  std::string message;
  // Bytes put on the wire for this attempt (after compression).
  uint64_t bytes_sent = 0;
  // kOk: samples the sink could not represent and skipped (e.g. strings for
  // remote write). The core counts them as rejected with reason "unsupported".
  uint64_t unsupported = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Encodes `batch` and delivers it, waiting for the upstream's answer (bounded
  // by the sink's timeout). kOk means the upstream acknowledged every sample
  // it was sent. Never throws: library and network errors become kRetry,
  // refused content kReject.
  // REQUIRES: !batch.empty().
  virtual SendResult send(std::span<const Sample> batch) = 0;
  // "influx_http", "prometheus_remote_write", "mqtt".
  virtual std::string_view type() const = 0;
};

// One sink plugin: its `type:` name, its own config keys (after the common
// export keys) and its factory. The registry (agent/registry.cc) lists every
// SinkType.
struct SinkType {
  std::string_view name;
  std::span<const agent::KeySpec> (*keys)();
  // Throws agent::ConfigError for bad values in the table.
  std::unique_ptr<Sink> (*make)(const agent::ParsedTable& table);
};

}  // namespace flowdb::exporter
