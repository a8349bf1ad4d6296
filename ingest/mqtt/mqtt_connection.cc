#include "mqtt_connection.h"

#include <algorithm>
#include <random>

#include "ingest/mqtt/mqtt_connections.h"
#include "ingest/utf8.h"

namespace flowdb::ingest_mqtt {
namespace {

bool is_tls_uri(const std::string& uri) {
  for (const char* scheme : {"ssl://", "mqtts://", "wss://"}) {
    if (uri.rfind(scheme, 0) == 0) return true;
  }
  return false;
}

// Paho reports a refused CONNECT as "MQTT error [N]: CONNACK return code";
// say what N means (MQTT 3.1.1, section 3.2.2.3).
std::string connack_meaning(int rc) {
  switch (rc) {
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "client identifier rejected";
    case 3:
      return "server unavailable";
    case 4:
      return "bad user name or password";
    case 5:
      return "not authorized (check username and password)";
    default:
      return "";
  }
}

}  // namespace

MqttInput::Connection::Connection(const MqttInputConfig& cfg, std::string broker,
                                  std::string client_id, std::shared_ptr<ConnectionMetrics> metrics,
                                  agent::IngestContext ctx,
                                  std::shared_ptr<const ingest::TopicParser> tp)
    : cfg_(cfg),
      broker_(std::move(broker)),
      client_id_(std::move(client_id)),
      filters_(subscription_filters(cfg)),
      ctx_(ctx),
      topic_parser_(std::move(tp)),
      user_property_tags_(cfg),
      decoder_(cfg.payload),
      records_(ctx, cfg.name),
      im_(&ctx.metrics->input(cfg.name)),
      conn_metrics_(std::move(metrics)) {
  // An MQTT 5 CONNECT needs a client created for version 5.
  const mqtt::create_options create(cfg_.protocol == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
  client_ = std::make_unique<mqtt::async_client>(broker_, client_id_, create, nullptr);
  client_->set_message_callback([this](mqtt::const_message_ptr m) { on_message(m); });
  client_->set_connection_lost_handler([this](const std::string& cause) { lost(cause); });
  if (cfg_.protocol == 5) {
    client_->set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode rc) {
      lost("the broker disconnected: reason " + std::to_string(static_cast<int>(rc)));
    });
  }
}

void MqttInput::Connection::lost(const std::string& cause) {
  {
    std::lock_guard lock(mu_);
    connected_ = false;
  }
  set_up(false);
  agent::log_warn("mqtt", cfg_.name + ": " + client_id_ + " lost connection to " + broker_ +
                              (cause.empty() ? "" : ": " + cause));
  cv_.notify_all();
}

void MqttInput::Connection::set_up(bool up) {
  if (metric_up_.exchange(up) == up) return;
  up ? conn_metrics_->connection_up() : conn_metrics_->connection_down();
}

void MqttInput::Connection::start() {
  thread_ = std::thread([this] { manage(); });
}

void MqttInput::Connection::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Also when not connected: a connect still in progress is cancelled
  // (Paho throws "disconnected" when there is nothing to do).
  try {
    client_->disconnect(std::chrono::seconds(2))->wait_for(3000);
  } catch (const std::exception& e) {
    agent::log_debug("mqtt", cfg_.name + ": disconnect: " + e.what());
  }
  // A message handed over before the disconnect may still be in
  // on_message (waiting for its batch): the client must outlive it.
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return in_handler_ == 0; });
  lock.unlock();
  // The batcher's callbacks for queued messages refer to this connection.
  std::unique_lock slots(unstored_mu_);
  unstored_cv_.wait(slots, [&] { return unstored_ == 0; });
  slots.unlock();
  set_up(false);
}

bool MqttInput::Connection::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

mqtt::connect_options MqttInput::Connection::options() {
  mqtt::connect_options o;
  if (cfg_.protocol == 5) {
    o.set_mqtt_version(MQTTVERSION_5);
    // MQTT 5 splits clean_session into Clean Start and the Session Expiry
    // Interval (connect_properties); Paho C refuses cleansession with 5.
    o.set_clean_start(cfg_.clean_session);
    o.set_properties(connect_properties(cfg_));
  } else {
    // Only 3.1.1: Paho's default would retry every failed attempt with 3.1,
    // doubling the time (and the log lines) of each failure.
    o.set_mqtt_version(MQTTVERSION_3_1_1);
    o.set_clean_session(cfg_.clean_session);
  }
  o.set_keep_alive_interval(cfg_.keepalive_s);
  o.set_connect_timeout(cfg_.connect_timeout_s);
  o.set_automatic_reconnect(false);  // our manager thread owns reconnects
  if (!cfg_.username.empty()) o.set_user_name(cfg_.username);
  if (!cfg_.password.empty()) o.set_password(cfg_.password);
  if (is_tls_uri(broker_)) {
    mqtt::ssl_options ssl;
    if (!cfg_.tls_options.ca_file.empty()) ssl.set_trust_store(cfg_.tls_options.ca_file);
    if (!cfg_.tls_options.cert_file.empty()) ssl.set_key_store(cfg_.tls_options.cert_file);
    if (!cfg_.tls_options.key_file.empty()) ssl.set_private_key(cfg_.tls_options.key_file);
    ssl.set_enable_server_cert_auth(cfg_.tls_options.verify);
    ssl.set_verify(cfg_.tls_options.verify);  // host name / IP against the certificate
    // No ssl.set_error_handler(): Paho C++ 1.2 hands the C library a pointer
    // into the connect_options copy that async_client::connect() takes by
    // value, so the handler would run on a destroyed object (ASan:
    // stack-use-after-scope).
    o.set_ssl(std::move(ssl));
  }
  if (!cfg_.will_topic.empty()) {
    o.set_will(
        mqtt::will_options(cfg_.will_topic, cfg_.will_payload, cfg_.will_qos, cfg_.will_retain));
  }
  return o;
}

bool MqttInput::Connection::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

// Waits for `tok` in short slices so that stop() is not held up by a slow
// connect or subscribe. Returns true when it completed (throws if it
// failed), false on stop, on `give_up()`, or at `deadline`. Never holds
// mu_ while calling into Paho (Paho calls our handlers with its own lock
// held).
bool MqttInput::Connection::await(const mqtt::token_ptr& tok,
                                  std::chrono::steady_clock::time_point deadline,
                                  const std::function<bool()>& give_up) {
  while (!tok->wait_for(std::chrono::milliseconds(50))) {
    if (stopping() || (give_up && give_up()) || std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
  }
  return true;
}

// One connect + subscribe; "" on success, else why it failed.
std::string MqttInput::Connection::connect_once(const mqtt::connect_options& opts) {
  try {
    auto tok = client_->connect(opts);
    if (!await(tok, std::chrono::steady_clock::now() +
                        std::chrono::seconds(cfg_.connect_timeout_s + 1))) {
      return stopping() ? "stopping" : "connect timed out";
    }
    std::vector<int> qos(filters_.size(), cfg_.qos);
    auto st = client_->subscribe(mqtt::string_collection::create(filters_), qos);
    // With a persistent session the broker may flood queued messages
    // before the SUBACK; our handler paces them, so a slow SUBACK is not a
    // failed connection. Keep waiting while the link is up.
    if (!await(st, std::chrono::steady_clock::time_point::max(),
               [&] { return !client_->is_connected(); })) {
      return "subscribe did not complete";
    }
    if (!cfg_.unsubscribe.empty()) {
      auto un = client_->unsubscribe(mqtt::string_collection::create(cfg_.unsubscribe));
      if (!await(un, std::chrono::steady_clock::time_point::max(),
                 [&] { return !client_->is_connected(); })) {
        return "unsubscribe did not complete";
      }
    }
    return "";
  } catch (const mqtt::exception& e) {
    std::string why = e.what();
    std::string meaning = connack_meaning(e.get_return_code());
    if (!meaning.empty() && why.find("CONNACK") != std::string::npos) {
      why += " " + std::to_string(e.get_return_code()) + ": " + meaning;
    }
    if (e.get_return_code() == MQTTASYNC_FAILURE && is_tls_uri(broker_)) {
      // Paho does not say which; the broker's log usually does.
      why += " (broker down, or TLS handshake / certificate check failed)";
    }
    return why;
  } catch (const std::exception& e) {
    return e.what();
  }
}

// Connects, subscribes, waits for loss, backs off; until stop().
void MqttInput::Connection::manage() {
  std::mt19937 rng(std::random_device{}());
  int64_t backoff = cfg_.reconnect_min_ms;
  bool ever = false;
  uint64_t failures = 0;
  const mqtt::connect_options opts = options();
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    std::string error = connect_once(opts);
    if (error.empty()) {
      {
        std::lock_guard lock(mu_);
        connected_ = true;
        epoch_.fetch_add(1, std::memory_order_relaxed);
      }
      set_up(true);
      if (ever) conn_metrics_->reconnect();  // back after a loss
      agent::log_info("mqtt", cfg_.name + ": " + (ever ? "reconnected" : "connected") + " to " +
                                  broker_ + " as " + client_id_ + ", subscribed to " +
                                  std::to_string(filters_.size()) + " filter(s) at QoS " +
                                  std::to_string(cfg_.qos));
      ever = true;
      failures = 0;
      backoff = cfg_.reconnect_min_ms;
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !connected_; });
      if (stopping_) return;
      continue;  // lost: try again at once, then back off
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    ++failures;
    conn_metrics_->connect_failure();
    // Quiet while no broker is there: the first failure is a warning, then
    // one line per doubling of the failure count.
    if ((failures & (failures - 1)) == 0) {
      agent::log(failures == 1 ? agent::LogLevel::warn : agent::LogLevel::info, "mqtt",
                 cfg_.name + ": cannot connect to " + broker_ + " (attempt " +
                     std::to_string(failures) + "): " + error + "; retrying");
    }
    try {
      if (client_->is_connected()) client_->disconnect()->wait_for(1000);
    } catch (...) {
    }
    int64_t delay = backoff / 2 + std::uniform_int_distribution<int64_t>(0, backoff / 2)(rng);
    backoff = std::min(backoff * 2, cfg_.reconnect_max_ms);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(delay), [&] { return stopping_; });
  }
}

// On Paho's receive thread. Counted in in_handler_ so that stop() can wait
// for a message that is being stored.
void MqttInput::Connection::on_message(const mqtt::const_message_ptr& msg) {
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    ++in_handler_;
  }
  // Only between messages of one connection: not across a reconnect.
  const uint64_t epoch = epoch_.load(std::memory_order_relaxed);
  if (epoch == last_epoch_) {
    conn_metrics_->gap(std::chrono::duration<double>(t0 - last_arrival_).count());
  }
  last_arrival_ = t0;
  last_epoch_ = epoch;
  store(msg);
  conn_metrics_->handled(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::lock_guard lock(mu_);
  // Only stop() waits for in_handler_ (waking the manager thread for every
  // message cost a context switch per message); notified under the lock,
  // as stop() may destroy the connection once it sees 0.
  if (--in_handler_ == 0 && stopping_) cv_.notify_all();
}

// Takes one of the max_unstored slots, waiting (and asking the batcher to
// write at once) while all are taken. With max_unstored 0, counts only.
void MqttInput::Connection::acquire_slot() {
  std::unique_lock lock(unstored_mu_);
  if (cfg_.max_unstored > 0 && unstored_ >= cfg_.max_unstored) {
    ctx_.sink->expedite();
    unstored_cv_.wait(lock, [&] { return unstored_ < cfg_.max_unstored; });
  }
  ++unstored_;
  conn_metrics_->inflight_add(1);
}

// The points of a message are in the WAL, dropped, or were never queued.
void MqttInput::Connection::release_slot() {
  // Notified under the lock: once stop() sees 0 the connection may be
  // destroyed, and this runs on the batcher's thread.
  std::lock_guard lock(unstored_mu_);
  --unstored_;
  conn_metrics_->inflight_add(-1);
  unstored_cv_.notify_all();
}

// Hands the message's records to the batcher: returns once they are queued
// (max_unstored > 0; the slot is released when they are written) or
// written (max_unstored 0).
void MqttInput::Connection::submit(size_t points) {
  acquire_slot();
  try {
    if (cfg_.max_unstored == 0) {
      ctx_.sink->submit_wait(cfg_.name, records_.take(), points);
      release_slot();
      return;
    }
    auto r = ctx_.sink->submit_async(cfg_.name, records_.take(), points,
                                     [this](bool) { release_slot(); });
    if (r == agent::RecordSink::Result::kStopped) release_slot();
  } catch (...) {
    release_slot();  // not queued: no callback will come
    throw;
  }
}

// Parses, then submits the points.
void MqttInput::Connection::read_user_properties(const mqtt::const_message_ptr& msg,
                                                 const std::string& topic) {
  user_tags_.clear();
  if (!user_property_tags_.enabled()) return;
  std::string skipped_name;
  size_t skipped = user_property_tags_.extract(msg->get_properties(), &user_tags_, &skipped_name);
  if (skipped == 0) return;
  // The points are stored without those tags: nothing is dropped.
  ctx_.bad_input_log->log(agent::LogLevel::warn, cfg_.name, cfg_.name + "/user_property", [&] {
    return cfg_.name + ": topic " + topic + ": " + std::to_string(skipped) + " user propert" +
           (skipped == 1 ? "y" : "ies") + " (first '" + skipped_name +
           "') not stored as tags: empty or not UTF-8";
  });
}

void MqttInput::Connection::store(const mqtt::const_message_ptr& msg) {
  try {
    const std::string& topic = msg->get_topic();
    const mqtt::binary_ref& payload = msg->get_payload_ref();
    im_->messages->Increment();
    im_->bytes->Increment(static_cast<double>(payload.size()));
    const std::string label = "topic " + topic;
    const agent::Sender from{label};
    if (payload.size() > cfg_.max_payload) {
      ctx_.drop_payload(cfg_.name, "payload_too_large", from,
                        std::to_string(payload.size()) + "-byte message (max_payload " +
                            std::to_string(cfg_.max_payload) + ")");
      return;
    }
    const int64_t now = agent::now_us();
    records_.begin(ctx_.ttl->get(), now, from);
    bool topic_valid = ingest::valid_utf8(topic);
    read_user_properties(msg, topic);
    const bool retag =
        topic_parser_ || !user_tags_.empty() || (!cfg_.topic_tag.empty() && topic_valid);
    uint64_t points =
        decoder_
            .parse(
                std::string_view(payload.data(), payload.size()), now,
                [&](const ingest::Point& p) {
                  if (retag) {
                    scratch_ = p;
                    // payload tags < user properties < topic_parsing < topic_tag
                    for (const auto& [k, v] : user_tags_) ingest::upsert_tag(&scratch_.tags, k, v);
                    if (topic_parser_) topic_parser_->apply(topic, &scratch_);
                    if (!cfg_.topic_tag.empty() && topic_valid) {
                      ingest::upsert_tag(&scratch_.tags, cfg_.topic_tag, topic);
                    }
                    records_.add(scratch_);
                  } else {
                    records_.add(p);
                  }
                },
                [&](const ingest::ParseError& e) { ctx_.parse_error(cfg_.name, e, from); })
            .points;
    records_.end();
    im_->points->Increment(static_cast<double>(points));
    if (records_.empty()) return;
    // Blocks while the queue is full (flow control) or max_unstored are in
    // flight.
    submit(records_.points());
  } catch (const std::exception& e) {
    // Never let an exception unwind into Paho's C thread.
    records_.take();  // a half-built chunk must not join the next message's
    ctx_.metrics->payload_dropped(cfg_.name, "internal_error");
    ctx_.bad_input_log->log(agent::LogLevel::error, cfg_.name, cfg_.name + "/internal",
                            std::string("message handler failed: ") + e.what());
  }
}

}  // namespace flowdb::ingest_mqtt
