// Helpers of the MQTT input tests: an input config for a test broker and a
// Paho publisher (MQTT 3.1.1, or 5 for user properties).
#pragma once

#include <mqtt/async_client.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ingest/mqtt/mqtt_input.h"
#include "net_fixture.h"

namespace flowdb::testing {

inline ingest_mqtt::MqttInputConfig config(const Mosquitto& b, std::vector<std::string> topics,
                                           int qos) {
  ingest_mqtt::MqttInputConfig c;
  c.name = "mqtt";
  c.brokers = {b.uri()};
  c.topics = std::move(topics);
  c.qos = qos;
  c.client_id = "flowdb-test-" + std::to_string(::getpid()) + "-" + std::to_string(qos);
  c.reconnect_min_ms = 100;
  c.reconnect_max_ms = 1000;
  c.connect_timeout_s = 5;
  return c;
}

struct Publisher {
  mqtt::async_client client;
  explicit Publisher(const Mosquitto& b, const std::string& id = "flowdb-test-pub",
                     int version = MQTTVERSION_3_1_1)
      : client(b.uri(), id, mqtt::create_options(version), nullptr) {
    mqtt::connect_options o;
    o.set_mqtt_version(version);
    if (version == MQTTVERSION_5) o.set_clean_start(true);
    client.connect(o)->wait();
  }
  ~Publisher() {
    try {
      client.disconnect()->wait();
    } catch (...) {
    }
  }
  void pub(const std::string& topic, const std::string& payload, int qos) {
    client.publish(topic, payload.data(), payload.size(), qos, false)->wait();
  }
  // MQTT 5: a PUBLISH with user properties (name, value), in this order.
  void pub(const std::string& topic, const std::string& payload, int qos,
           const std::vector<std::pair<std::string, std::string>>& user_properties) {
    mqtt::properties props;
    for (const auto& [k, v] : user_properties) {
      props.add(mqtt::property(mqtt::property::USER_PROPERTY, k, v));
    }
    client.publish(mqtt::message::create(topic, payload, qos, false, props))->wait();
  }
};

}  // namespace flowdb::testing
