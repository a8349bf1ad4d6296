#include "ingest/mqtt/mqtt_input.h"

#include "ingest/mqtt/mqtt_connections.h"
#include "mqtt_connection.h"

namespace flowdb::ingest_mqtt {

const agent::InputType& mqtt_input_type() {
  static const agent::InputType type{
      .type = "mqtt",
      .doc = "MQTT inputs",
      .keys = mqtt_config_keys,
      .settings = [](const agent::ParsedTable& t, const std::string& default_name)
          -> std::shared_ptr<const agent::InputSettings> {
        return std::make_shared<MqttInputConfig>(mqtt_config_from(t, default_name));
      },
      .make = [](const agent::InputSettings& s, const agent::IngestContext& ctx,
                 std::span<const agent::InputSettings* const> retired)
          -> std::unique_ptr<agent::Input> {
        MqttInputConfig c = static_cast<const MqttInputConfig&>(s);
        c.unsubscribe = removed_filters(retired, c);
        return std::make_unique<MqttInput>(std::move(c), ctx);
      },
  };
  return type;
}

MqttInput::MqttInput(MqttInputConfig config, agent::IngestContext ctx)
    : config_(std::move(config)), ctx_(ctx) {
  if (!config_.topic_parsing.empty()) {
    std::string err;
    auto tp = ingest::TopicParser::create(config_.topic_parsing, &err);
    if (!tp) throw std::runtime_error("mqtt input " + config_.name + ": " + err);
    topic_parser_ = std::make_shared<const ingest::TopicParser>(std::move(*tp));
  }
}

MqttInput::~MqttInput() { stop(); }

void MqttInput::start() {
  try {
    for (const std::string& b : config_.brokers) {
      // One set of series per (input, broker), summed over its connections.
      auto metrics = std::make_shared<ConnectionMetrics>(ctx_.metrics->registry(), config_.name, b);
      for (int i = 0; i < config_.connections; ++i) {
        connections_.push_back(std::make_unique<Connection>(
            config_, b, connection_client_id(config_, i), metrics, ctx_, topic_parser_));
      }
    }
  } catch (const mqtt::exception& e) {
    connections_.clear();
    throw std::runtime_error("mqtt input " + config_.name + ": " + e.what());
  }
  for (auto& c : connections_) c->start();
}

void MqttInput::stop() {
  for (auto& c : connections_) c->stop();
  connections_.clear();
}

bool MqttInput::ready(std::string* why) const {
  if (connected() >= config_.brokers.size() * static_cast<size_t>(config_.connections)) {
    return true;
  }
  *why = "mqtt input " + config_.name + " is not connected to every broker";
  if (config_.connections > 1)
    *why += " with all " + std::to_string(config_.connections) + " connections";
  return false;
}

size_t MqttInput::connected() const {
  size_t n = 0;
  for (const auto& c : connections_) n += c->connected() ? 1 : 0;
  return n;
}

}  // namespace flowdb::ingest_mqtt
