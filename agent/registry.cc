#include "agent/registry.h"

#include "export/core/exporter_config.h"
#include "export/influx/influx_http_sink.h"
#include "export/mqtt/mqtt_sink.h"
#include "ingest/http/http_input.h"
#include "ingest/mqtt/mqtt_input.h"
#include "ingest/udp/udp_input.h"
#ifdef FLOWDB_WITH_REMOTE_WRITE
#include "export/prometheus/remote_write_sink.h"
#endif

namespace flowdb::agent {
namespace {

const InputType* const kInputs[] = {
    &ingest_udp::udp_input_type(),
    &ingest_mqtt::mqtt_input_type(),
    &ingest_http::http_input_type(),
};

std::unique_ptr<exporter::Sink> make_mqtt(const ParsedTable& t) {
  return export_mqtt::make_mqtt_sink(t);
}

const exporter::SinkType kSinks[] = {
    {"influx_http", export_influx::influx_http_config_keys, export_influx::make_influx_http_sink},
#ifdef FLOWDB_WITH_REMOTE_WRITE
    {"prometheus_remote_write", export_prometheus::prometheus_remote_write_config_keys,
     export_prometheus::make_prometheus_remote_write_sink},
#endif
    {"mqtt", export_mqtt::mqtt_export_config_keys, make_mqtt},
};

}  // namespace

std::span<const InputType* const> input_types() { return kInputs; }

const InputType* find_input_type(std::string_view type) {
  for (const InputType* t : kInputs) {
    if (t->type == type) return t;
  }
  return nullptr;
}

std::span<const exporter::SinkType> sink_types() { return kSinks; }

const exporter::SinkType* find_sink_type(std::string_view name) {
  for (const exporter::SinkType& t : kSinks) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<KeySpec> export_keys(const exporter::SinkType& type) {
  return concat_keys(exporter::common_export_keys(), type.keys());
}

}  // namespace flowdb::agent
