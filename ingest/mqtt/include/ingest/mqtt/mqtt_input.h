// MQTT input (Eclipse Paho MQTT C++ async client), as Telegraf's
// mqtt_consumer / Fluent Bit's mqtt input.
//
// `connections` Paho clients per broker of the input (mqtt_connections.h);
// each subscribes to every topic filter at the configured QoS, as a shared
// subscription ($share/GROUP/FILTER) when there are several, so that the
// broker spreads the messages over them and each parses on its own thread. A manager thread per
// client (re)connects with capped exponential backoff plus jitter, and re-subscribes after each
// (re)connect. With clean_session: false and a fixed client_id the broker
// keeps the session (and queues QoS 1/2 messages) while the agent is away.
//
// Durability: Paho delivers each message by calling our handler on the
// client's receive thread. Paho C sends PUBACK (QoS 1) / PUBREC (QoS 2) when
// it reads the PUBLISH, *before* the handler runs (and PUBCOMP before
// delivering a QoS 2 message); the handler's return cannot delay the ack, and
// Paho reads no further packet until the handler returns. The handler parses
// the payload and queues the points (RecordSink::submit_async); a batcher
// callback releases the message once they are in the WAL. At most
// max_unstored messages per connection are queued and not yet written (the
// handler waits at the bound), so at any instant at most max_unstored + 1
// messages per connection are acknowledged but not in the WAL: with
// `connections: N` and B brokers, B x N x (max_unstored + 1) for the input. max_unstored 0: the
// handler waits in submit_wait for each message's write. See agent/README.md, "Durability".
//
// Thread-safety: start()/stop() from one controlling thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/core/config_schema.h"
#include "agent/core/ingest_context.h"
#include "agent/core/input.h"
#include "agent/core/payload.h"
#include "agent/core/tls_options.h"
#include "ingest/topic_parsing.h"

namespace flowdb::ingest_mqtt {

// The declarative table of the keys of one `inputs.mqtt[]` entry.
std::span<const agent::KeySpec> mqtt_config_keys();

struct MqttInputConfig : agent::InputSettings {
  std::vector<std::string> brokers;
  std::vector<std::string> topics;
  int qos = 1;
  std::string client_id;  // of connection 1 of 1; see connection_client_id()
  bool clean_session = false;
  // MQTT protocol level: 4 (3.1.1) or 5.
  int protocol = 4;
  // MQTT 5 only. Session Expiry Interval sent in CONNECT, seconds (resolved:
  // a day for a persistent session, 0 for a clean one, unless given).
  uint32_t session_expiry_s = 0;
  // MQTT 5 Receive Maximum sent in CONNECT; 0: not sent (65535 by the spec).
  int receive_maximum = 0;
  // MQTT 5: PUBLISH user properties that become tags of the message's points;
  // every one with user_property_tags_all.
  std::vector<std::string> user_property_tags;
  bool user_property_tags_all = false;
  // Clients per broker; with more than one (or a share_group) every filter
  // is subscribed as $share/<share_group>/<filter>.
  int connections = 1;
  std::string share_group;  // "" with connections 1: plain subscriptions
  std::string username;
  std::string password;  // resolved by agent::resolve_secret; never logged
  bool tls = false;      // some broker is ssl://, mqtts:// or wss://
  agent::TlsOptions tls_options;
  int keepalive_s = 30;
  int connect_timeout_s = 10;
  int64_t reconnect_min_ms = 500, reconnect_max_ms = 30000;
  std::string will_topic, will_payload;
  int will_qos = 0;
  bool will_retain = false;
  agent::PayloadOptions payload;
  std::vector<ingest::TopicParsingRule> topic_parsing;
  std::string topic_tag;  // tag holding the topic ("" = none)
  size_t max_payload = 1u << 20;
  // Messages taken by the handler, not yet in the WAL, per connection; 0:
  // the handler waits for each write (RecordSink::submit_wait).
  size_t max_unstored = 256;
  // Not a config key: filters that a persistent session (clean_session:
  // false) of this client still holds from before a reload but that
  // subscription_filters() no longer lists (as subscribed: with $share/G/). Unsubscribed after each
  // connect, so the broker stops queueing and sending what was removed.
  std::vector<std::string> unsubscribe;
};

// Builds the config from a validated table: checks broker URIs, topic filters,
// topic_parsing rules, reads the password file / environment variable.
// Throws agent::ConfigError.
MqttInputConfig mqtt_config_from(const agent::ParsedTable& t, const std::string& default_name);

// The `mqtt` input type, for the registry (agent/inputs.cc). On a reload it
// sets `unsubscribe` of a new persistent-session input from the inputs it
// replaces (removed_filters()).
const agent::InputType& mqtt_input_type();

// The filters a persistent session of `c`'s client still holds from the
// `retired` inputs (or from `c.unsubscribe`) but `c` no longer subscribes to.
std::vector<std::string> removed_filters(std::span<const agent::InputSettings* const> retired,
                                         const MqttInputConfig& c);

class MqttInput : public agent::Input {
 public:
  MqttInput(MqttInputConfig config, agent::IngestContext ctx);
  ~MqttInput() override;  // stop()s
  MqttInput(const MqttInput&) = delete;
  MqttInput& operator=(const MqttInput&) = delete;

  // Starts `connections` clients per broker; connecting happens in the background (a
  // missing broker is retried quietly). Throws std::runtime_error for a bad
  // client setup.
  void start() override;
  // Disconnects every client (bounded wait) and joins the manager threads.
  void stop() override;
  const agent::InputSettings& settings() const override { return config_; }
  // Ready when connected and subscribed to every broker.
  bool ready(std::string* why) const override;
  const MqttInputConfig& config() const { return config_; }
  // Number of clients currently connected and subscribed (at most
  // brokers x connections).
  size_t connected() const;

 private:
  class Connection;
  MqttInputConfig config_;
  agent::IngestContext ctx_;
  std::shared_ptr<const ingest::TopicParser> topic_parser_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace flowdb::ingest_mqtt
