// One client of an MQTT input: a Paho async client plus its manager thread,
// for one broker and one client id (an input has `connections` of them per
// broker). Private to ingest/mqtt.
//
// Thread-safety: the message handler runs on Paho's receive thread and owns
// decoder_/records_/scratch_/user_tags_ and the arrival times; connection
// state is guarded by mu_; unstored_ by unstored_mu_ (the batcher's writer
// thread releases slots through the submit_async callback). start()/stop()
// from the input's controlling thread.
#pragma once

#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/mqtt/mqtt_input.h"
#include "ingest/mqtt/mqtt_metrics.h"
#include "mqtt_v5.h"

namespace flowdb::ingest_mqtt {

class MqttInput::Connection {
 public:
  // `metrics` is shared by the connections of one (input, broker).
  Connection(const MqttInputConfig& cfg, std::string broker, std::string client_id,
             std::shared_ptr<ConnectionMetrics> metrics, agent::IngestContext ctx,
             std::shared_ptr<const ingest::TopicParser> tp);
  ~Connection() { stop(); }

  void start();
  // Disconnects (bounded wait), joins the manager thread, waits until no
  // handler call runs and no queued message refers to this connection.
  void stop();
  bool connected() const;

 private:
  mqtt::connect_options options();
  bool stopping() const;
  bool await(const mqtt::token_ptr& tok, std::chrono::steady_clock::time_point deadline,
             const std::function<bool()>& give_up = {});
  std::string connect_once(const mqtt::connect_options& opts);
  void manage();
  // Paho's connection-lost (or, MQTT 5, server DISCONNECT) callback.
  void lost(const std::string& cause);
  // flowdb_mqtt_connected counts this connection iff `up`.
  void set_up(bool up);
  void on_message(const mqtt::const_message_ptr& msg);
  void acquire_slot();
  void release_slot();
  void submit(size_t points);
  void store(const mqtt::const_message_ptr& msg);
  // The selected user properties of `msg` into user_tags_ (MQTT 5).
  void read_user_properties(const mqtt::const_message_ptr& msg, const std::string& topic);

  const MqttInputConfig& cfg_;
  const std::string broker_;
  const std::string client_id_;
  const std::vector<std::string> filters_;  // as subscribed ($share/G/ prefix)
  agent::IngestContext ctx_;
  std::shared_ptr<const ingest::TopicParser> topic_parser_;
  const UserPropertyTags user_property_tags_;
  std::unique_ptr<mqtt::async_client> client_;
  // Receive-thread state.
  agent::PayloadDecoder decoder_;
  agent::PayloadRecords records_;
  ingest::Point scratch_;
  std::vector<ingest::Tag> user_tags_;
  agent::InputMetrics* im_;
  std::shared_ptr<ConnectionMetrics> conn_metrics_;
  std::atomic<bool> metric_up_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool connected_ = false;          // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  int in_handler_ = 0;              // guarded by mu_: on_message calls running
  std::atomic<uint64_t> epoch_{1};  // incremented at each (re)connect
  // Receive thread only: the previous message's arrival and epoch.
  std::chrono::steady_clock::time_point last_arrival_;
  uint64_t last_epoch_ = 0;

  std::mutex unstored_mu_;
  std::condition_variable unstored_cv_;
  size_t unstored_ = 0;  // guarded by unstored_mu_: taken, not yet written or dropped
  std::thread thread_;
};

}  // namespace flowdb::ingest_mqtt
