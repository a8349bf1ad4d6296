// The metrics of one MQTT connection (input × broker): up, reconnects and
// failed connect attempts. The MQTT input registers these families itself, on
// the agent's registry, so agent/core knows nothing about MQTT.
//
// Thread-safety: all methods are thread-safe (prometheus-cpp metrics are
// atomic). Several connections may build one each: the registry merges
// re-registrations of a family with the same name and type.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>

namespace flowdb::ingest_mqtt {

class ConnectionMetrics {
 public:
  // Exports the three series of (input, broker), at 0 and disconnected.
  ConnectionMetrics(prometheus::Registry& registry, const std::string& input,
                    const std::string& broker);

  // flowdb_mqtt_connected: 1 while the connection is up.
  void connected(bool up) { up_.Set(up ? 1 : 0); }
  // A connection re-established after it was up and lost.
  void reconnect() { reconnects_.Increment(); }
  // A connect (or subscribe) attempt that failed.
  void connect_failure() { connect_failures_.Increment(); }

 private:
  prometheus::Gauge& up_;
  prometheus::Counter& reconnects_;
  prometheus::Counter& connect_failures_;
};

}  // namespace flowdb::ingest_mqtt
