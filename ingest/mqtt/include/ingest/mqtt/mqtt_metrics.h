// The metrics of one MQTT connection (input × broker): up, reconnects,
// failed connect attempts, messages in flight between Paho's acknowledgement
// and the WAL, and the time the message handler takes. The MQTT input registers these families
// itself, on the agent's registry, so agent/core knows nothing about MQTT.
//
// Thread-safety: all methods are thread-safe (prometheus-cpp metrics are
// atomic). Several connections may build one each: the registry merges
// re-registrations of a family with the same name and type.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace flowdb::ingest_mqtt {

class ConnectionMetrics {
 public:
  // Exports the series of (input, broker), at 0 and disconnected.
  ConnectionMetrics(prometheus::Registry& registry, const std::string& input,
                    const std::string& broker);

  // flowdb_mqtt_connected: 1 while the connection is up.
  void connected(bool up) { up_.Set(up ? 1 : 0); }
  // A connection re-established after it was up and lost.
  void reconnect() { reconnects_.Increment(); }
  // A connect (or subscribe) attempt that failed.
  void connect_failure() { connect_failures_.Increment(); }
  // flowdb_mqtt_inflight: messages the handler has taken (acknowledged to the
  // broker by Paho at QoS 1/2) whose points are not yet in the WAL.
  void inflight(size_t n) { inflight_.Set(static_cast<double>(n)); }
  // One message handler call of `seconds` (flowdb_mqtt_handler_seconds).
  void handled(double seconds) { handler_.Observe(seconds); }
  // The time between the starts of two consecutive handler calls; the
  // longest so far is flowdb_mqtt_message_gap_max_seconds.
  void gap(double seconds) {
    if (seconds > gap_max_.Value()) gap_max_.Set(seconds);
  }

 private:
  prometheus::Gauge& up_;
  prometheus::Counter& reconnects_;
  prometheus::Counter& connect_failures_;
  prometheus::Gauge& inflight_;
  prometheus::Histogram& handler_;
  prometheus::Gauge& gap_max_;  // set by the receive thread only
};

}  // namespace flowdb::ingest_mqtt
