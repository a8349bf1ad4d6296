#include "export/core/exporter_config.h"

namespace flowdb::exporter {
namespace {

using agent::KeyKind;
using agent::KeySpec;

constexpr int64_t kMs = 1000;  // durations are parsed to microseconds

constexpr KeySpec kCommonKeys[] = {
    {.name = "type",
     .kind = KeyKind::kString,
     .doc = "Sink: influx_http, prometheus_remote_write or mqtt",
     .required = true},
    {.name = "name",
     .kind = KeyKind::kString,
     .doc = "Export name: metrics label and durable cursor name (default: the type and index)"},
    {.name = "batch_points",
     .kind = KeyKind::kInt,
     .default_value = "10000",
     .doc = "Most points per batch",
     .min = 1,
     .max = 1000000},
    {.name = "batch_bytes",
     .kind = KeyKind::kSize,
     .default_value = "4MiB",
     .doc = "Most stored bytes per batch",
     .min = 1024,
     .max = int64_t{1} << 30},
    {.name = "max_delay",
     .kind = KeyKind::kDuration,
     .default_value = "1s",
     .doc = "Longest a point waits for its batch to fill",
     .min = 1 * kMs,
     .max = 3600 * 1000 * kMs},
    {.name = "rate_limit",
     .kind = KeyKind::kInt,
     .default_value = "0",
     .doc = "Most points per second sent upstream (0: no limit)",
     .min = 0,
     .max = 100000000},
    {.name = "retry_min",
     .kind = KeyKind::kDuration,
     .default_value = "500ms",
     .doc = "First retry delay",
     .min = 1 * kMs,
     .max = 3600 * 1000 * kMs},
    {.name = "retry_max",
     .kind = KeyKind::kDuration,
     .default_value = "60s",
     .doc = "Longest retry delay (exponential backoff cap)",
     .min = 1 * kMs,
     .max = 24 * 3600 * 1000 * kMs},
    {.name = "measurements",
     .kind = KeyKind::kStringList,
     .default_value = "[]",
     .doc = "Export only these measurements (empty: all)"},
};

}  // namespace

std::span<const agent::KeySpec> common_export_keys() { return kCommonKeys; }

ExporterOptions exporter_options_from(const agent::ParsedTable& t,
                                      const std::string& default_name) {
  ExporterOptions o;
  o.name = t.str("name").empty() ? default_name : t.str("name");
  for (char c : o.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      t.fail("name", "'" + o.name + "' has '" + std::string(1, c) +
                         "'; expected letters, digits, '_', '-' or '.'");
    }
  }
  if (o.name.size() > 64) t.fail("name", "longer than 64 characters");
  o.batch_points = static_cast<size_t>(t.integer("batch_points"));
  o.batch_bytes = static_cast<size_t>(t.integer("batch_bytes"));
  o.max_delay = std::chrono::milliseconds(t.integer("max_delay") / kMs);
  o.rate_limit = static_cast<double>(t.integer("rate_limit"));
  o.retry_min = std::chrono::milliseconds(t.integer("retry_min") / kMs);
  o.retry_max = std::chrono::milliseconds(t.integer("retry_max") / kMs);
  if (o.retry_max < o.retry_min) t.fail("retry_max", "is below retry_min");
  o.measurements = t.list("measurements");
  return o;
}

}  // namespace flowdb::exporter
