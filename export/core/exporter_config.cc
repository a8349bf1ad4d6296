#include "export/core/exporter_config.h"

namespace flowdb::exporter {
namespace {

using agent::KeyKind;
using agent::KeySpec;

constexpr int64_t kMs = 1000;  // durations are parsed to microseconds

constexpr KeySpec kCommonKeys[] = {
    {"type",
     KeyKind::kString,
     "",
     "Sink: influx_http, prometheus_remote_write or mqtt",
     {},
     {},
     true},
    {"name", KeyKind::kString, "",
     "Export name: metrics label and durable cursor name (default: the type and index)"},
    {"batch_points", KeyKind::kInt, "10000", "Most points per batch", {}, {}, false, 1, 1000000},
    {"batch_bytes",
     KeyKind::kSize,
     "4MiB",
     "Most stored bytes per batch",
     {},
     {},
     false,
     1024,
     int64_t{1} << 30},
    {"max_delay",
     KeyKind::kDuration,
     "1s",
     "Longest a point waits for its batch to fill",
     {},
     {},
     false,
     1 * kMs,
     3600 * 1000 * kMs},
    {"rate_limit",
     KeyKind::kInt,
     "0",
     "Most points per second sent upstream (0: no limit)",
     {},
     {},
     false,
     0,
     100000000},
    {"retry_min",
     KeyKind::kDuration,
     "500ms",
     "First retry delay",
     {},
     {},
     false,
     1 * kMs,
     3600 * 1000 * kMs},
    {"retry_max",
     KeyKind::kDuration,
     "60s",
     "Longest retry delay (exponential backoff cap)",
     {},
     {},
     false,
     1 * kMs,
     24 * 3600 * 1000 * kMs},
    {"measurements", KeyKind::kStringList, "[]", "Export only these measurements (empty: all)"},
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
