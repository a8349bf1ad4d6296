#include "ingest/mqtt/mqtt_metrics.h"

#include <prometheus/family.h>

namespace flowdb::ingest_mqtt {

ConnectionMetrics::ConnectionMetrics(prometheus::Registry& registry, const std::string& input,
                                     const std::string& broker)
    : up_(prometheus::BuildGauge()
              .Name("flowdb_mqtt_connected")
              .Help("1 while the MQTT connection to the broker is up")
              .Register(registry)
              .Add({{"input", input}, {"broker", broker}})),
      reconnects_(prometheus::BuildCounter()
                      .Name("flowdb_mqtt_reconnects_total")
                      .Help("MQTT connections re-established after a loss, per broker")
                      .Register(registry)
                      .Add({{"input", input}, {"broker", broker}})),
      connect_failures_(prometheus::BuildCounter()
                            .Name("flowdb_mqtt_connect_failures_total")
                            .Help("Failed MQTT connect or subscribe attempts, per broker")
                            .Register(registry)
                            .Add({{"input", input}, {"broker", broker}})) {
  up_.Set(0);
}

}  // namespace flowdb::ingest_mqtt
