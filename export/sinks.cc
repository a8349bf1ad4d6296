#include "export/sinks.h"

#include "export/core/exporter_config.h"
#include "export/influx/influx_http_sink.h"
#include "export/mqtt/mqtt_sink.h"
#ifdef FLOWDB_WITH_REMOTE_WRITE
#include "export/prometheus/remote_write_sink.h"
#endif

namespace flowdb::exporter {
namespace {

std::unique_ptr<Sink> make_mqtt(const agent::ParsedTable& t) {
  return export_mqtt::make_mqtt_sink(t);
}

const SinkType kTypes[] = {
    {"influx_http", export_influx::influx_http_config_keys, export_influx::make_influx_http_sink},
#ifdef FLOWDB_WITH_REMOTE_WRITE
    {"prometheus_remote_write", export_prometheus::prometheus_remote_write_config_keys,
     export_prometheus::make_prometheus_remote_write_sink},
#endif
    {"mqtt", export_mqtt::mqtt_export_config_keys, make_mqtt},
};

}  // namespace

std::span<const SinkType> sink_types() { return kTypes; }

const SinkType* find_sink_type(std::string_view name) {
  for (const SinkType& t : kTypes) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<agent::KeySpec> export_keys(const SinkType& type) {
  std::vector<agent::KeySpec> keys(common_export_keys().begin(), common_export_keys().end());
  for (const agent::KeySpec& k : type.keys()) keys.push_back(k);
  return keys;
}

}  // namespace flowdb::exporter
