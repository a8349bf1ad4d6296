// The metrics of the MQTT connections of one (input, broker): up, reconnects,
// failed connect attempts, messages in flight between Paho's acknowledgement
// and the WAL, and the time the message handler takes. The MQTT input registers these families
// itself, on the agent's registry, so agent/core knows nothing about MQTT.
//
// With `connections: N` the N clients of one (input, broker) share one
// ConnectionMetrics, so every series is the sum over them (connected: how
// many are up; inflight: the sum of their unstored messages) and the
// histogram and gap cover all of their messages.
//
// Thread-safety: all methods are thread-safe (prometheus-cpp metrics are
// atomic; the gap maximum has a mutex). Several inputs or brokers may build
// one each: the registry merges re-registrations of a family with the same
// name and type.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <mutex>
#include <string>

namespace flowdb::ingest_mqtt {

class ConnectionMetrics {
 public:
  // Exports the series of (input, broker), at 0 and disconnected.
  ConnectionMetrics(prometheus::Registry& registry, const std::string& input,
                    const std::string& broker);

  // flowdb_mqtt_connected: the number of connections that are up; each
  // reports its own transitions (up, then down), never twice the same.
  void connection_up() { up_.Increment(); }
  void connection_down() { up_.Decrement(); }
  // A connection re-established after it was up and lost.
  void reconnect() { reconnects_.Increment(); }
  // A connect (or subscribe) attempt that failed.
  void connect_failure() { connect_failures_.Increment(); }
  // flowdb_mqtt_inflight: messages the handler has taken (acknowledged to the
  // broker by Paho at QoS 1/2) whose points are not yet in the WAL; +1 when
  // a connection takes one, -1 when it is written or dropped.
  void inflight_add(int delta) { inflight_.Increment(delta); }
  // One message handler call of `seconds` (flowdb_mqtt_handler_seconds).
  void handled(double seconds) { handler_.Observe(seconds); }
  // The time between the starts of two consecutive handler calls; the
  // longest so far is flowdb_mqtt_message_gap_max_seconds.
  void gap(double seconds) {
    std::lock_guard lock(gap_mu_);
    if (seconds > gap_max_.Value()) gap_max_.Set(seconds);
  }

 private:
  prometheus::Gauge& up_;
  prometheus::Counter& reconnects_;
  prometheus::Counter& connect_failures_;
  prometheus::Gauge& inflight_;
  prometheus::Histogram& handler_;
  std::mutex gap_mu_;
  prometheus::Gauge& gap_max_;  // set under gap_mu_
};

}  // namespace flowdb::ingest_mqtt
