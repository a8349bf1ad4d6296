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
                            .Add({{"input", input}, {"broker", broker}})),
      inflight_(prometheus::BuildGauge()
                    .Name("flowdb_mqtt_inflight")
                    .Help("MQTT messages taken by the handler (acknowledged to the broker at QoS "
                          "1/2) whose points are not yet in the WAL")
                    .Register(registry)
                    .Add({{"input", input}, {"broker", broker}})),
      handler_(prometheus::BuildHistogram()
                   .Name("flowdb_mqtt_handler_seconds")
                   .Help("Time the MQTT message handler takes per message (parse, queue, and "
                         "any wait for room or for the WAL), on Paho's receive thread")
                   .Register(registry)
                   .Add({{"input", input}, {"broker", broker}},
                        prometheus::Histogram::BucketBoundaries{
                            0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})),
      gap_max_(prometheus::BuildGauge()
                   .Name("flowdb_mqtt_message_gap_max_seconds")
                   .Help("Longest time between the arrivals of two consecutive MQTT messages at "
                         "the handler since the connection was made")
                   .Register(registry)
                   .Add({{"input", input}, {"broker", broker}})) {
  up_.Set(0);
}

}  // namespace flowdb::ingest_mqtt
