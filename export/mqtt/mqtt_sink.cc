#include "export/mqtt/mqtt_sink.h"

#include <mqtt/async_client.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace flowdb::export_mqtt {
namespace {

using agent::KeyKind;
using agent::KeySpec;
using exporter::SendResult;
using exporter::SendStatus;

constexpr std::string_view kVersions[] = {"3.1.1", "5"};
constexpr std::string_view kFormats[] = {"lp", "json"};
constexpr std::string_view kCompressions[] = {"none", "lz4"};
constexpr int64_t kSec = 1000000;
// Most messages of a batch published but not yet acknowledged.
constexpr size_t kMaxOutstanding = 64;

std::string hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "host";
  return buf;
}

// PUBACK/PUBREC reason codes (MQTT 5) that refuse the content itself.
bool refuses_content(int reason) {
  return reason == 0x87 || reason == 0x90 || reason == 0x95 || reason == 0x99;
}

SendResult result(SendStatus status, std::string message, uint64_t bytes_sent = 0) {
  SendResult r;
  r.status = status;
  r.message = std::move(message);
  r.bytes_sent = bytes_sent;
  return r;
}

}  // namespace

std::span<const KeySpec> mqtt_export_config_keys() {
  static const std::vector<KeySpec> keys = {
      {.name = "broker",
       .kind = KeyKind::kString,
       .doc = "Broker URI: tcp://host:port or ssl://host:port",
       .required = true},
      {.name = "client_id",
       .kind = KeyKind::kString,
       .doc = "Client id (default flowdb-export-<host>-<name>)"},
      {.name = "topic",
       .kind = KeyKind::kString,
       .default_value = "flowdb/{measurement}",
       .doc = "Topic template: {measurement}, {field}, {tag:NAME} (missing or empty: _)"},
      {.name = "qos",
       .kind = KeyKind::kInt,
       .default_value = "1",
       .doc = "Publish QoS; send() waits for every PUBACK (1) / PUBCOMP (2)",
       .min = 1,
       .max = 2},
      {.name = "mqtt_version",
       .kind = KeyKind::kEnum,
       .default_value = "5",
       .doc = "Protocol version; 5 adds content-type and content-encoding properties",
       .choices = kVersions},
      {.name = "format",
       .kind = KeyKind::kEnum,
       .default_value = "lp",
       .doc =
           "Payload: lp (line protocol, ns timestamps) or json (array of objects, us timestamps)",
       .choices = kFormats},
      {.name = "compression",
       .kind = KeyKind::kEnum,
       .default_value = "none",
       .doc = "lz4: payload = \"FDZ1\" + uint32 LE length + LZ4 block",
       .choices = kCompressions},
      {.name = "retain",
       .kind = KeyKind::kBool,
       .default_value = "false",
       .doc = "Publish with the retain flag"},
      {.name = "max_message_bytes",
       .kind = KeyKind::kSize,
       .default_value = "256KiB",
       .doc = "Largest payload as published; a batch is split into several messages per topic",
       .min = 64,
       .max = 128LL << 20},
      {.name = "username", .kind = KeyKind::kString, .doc = "User name"},
      {.name = "password",
       .kind = KeyKind::kSecret,
       .doc = "Password (or password_file / password_env)"},
      {.name = "password_file", .kind = KeyKind::kString, .doc = "File holding the password"},
      {.name = "password_env",
       .kind = KeyKind::kString,
       .doc = "Environment variable holding the password"},
      {.name = "keepalive",
       .kind = KeyKind::kDuration,
       .default_value = "30s",
       .doc = "MQTT keep-alive interval",
       .min = kSec,
       .max = 65535 * kSec},
      {.name = "timeout",
       .kind = KeyKind::kDuration,
       .default_value = "10s",
       .doc = "Bound of one connect attempt, and of the wait for a batch's acknowledgements "
              "(keep it above 2s: Paho C can add 1s to a healthy publish)",
       .min = 100000,
       .max = 600 * kSec},
      {.name = "tls",
       .kind = KeyKind::kTable,
       .doc = "TLS settings (used with ssl:// brokers)",
       .children = agent::tls_config_keys()},
  };
  return keys;
}

MqttSinkConfig mqtt_sink_config_from(const agent::ParsedTable& t) {
  MqttSinkConfig c;
  c.broker = t.str("broker");
  const size_t sep = c.broker.find("://");
  const std::string scheme = sep == std::string::npos ? "" : c.broker.substr(0, sep);
  if (scheme != "tcp" && scheme != "ssl") {
    t.fail("broker",
           "bad broker URI '" + c.broker + "'; expected tcp://host:port or ssl://host:port");
  }
  if (c.broker.size() <= sep + 3 || c.broker[sep + 3] == ':' ||
      c.broker.find_first_of(" \t\n/", sep + 3) != std::string::npos) {
    t.fail("broker",
           "broker URI '" + c.broker + "' has no host; expected " + scheme + "://host:port");
  }
  if (c.broker.find('@') != std::string::npos) {
    t.fail("broker", "credentials in the broker URI; expected them in username and password");
  }
  c.tls = scheme == "ssl";
  c.client_id = t.str("client_id");
  if (c.client_id.empty()) {
    c.client_id =
        "flowdb-export-" + hostname() + "-" + (t.str("name").empty() ? "mqtt" : t.str("name"));
  }
  std::string error;
  std::optional<TopicTemplate> topic = TopicTemplate::parse(t.str("topic"), &error);
  if (!topic) {
    t.fail("topic", error +
                        "; expected '/'-separated levels of text and {measurement}, {field}, "
                        "{tag:NAME}, without + or #");
  }
  c.topic = std::move(*topic);
  c.qos = static_cast<int>(t.integer("qos"));
  if (c.qos != 1 && c.qos != 2) t.fail("qos", "must be 1 or 2");
  c.mqtt_version = t.str("mqtt_version") == "3.1.1" ? 4 : 5;
  c.format = t.str("format") == "json" ? PayloadFormat::kJson : PayloadFormat::kLineProtocol;
  c.compression = t.str("compression") == "lz4" ? Compression::kLz4 : Compression::kNone;
  c.retain = t.boolean("retain");
  c.max_message_bytes = static_cast<size_t>(t.integer("max_message_bytes"));
  c.username = t.str("username");
  c.password = agent::resolve_secret(t, "password");
  if (c.mqtt_version == 4 && !c.password.empty() && c.username.empty()) {
    t.fail("password", "MQTT 3.1.1 sends a password only with a user name; expected username");
  }
  c.keepalive = std::chrono::milliseconds(t.integer("keepalive") / 1000);
  c.timeout = std::chrono::milliseconds(t.integer("timeout") / 1000);
  c.tls_options = agent::tls_options_from(t);
  return c;
}

class MqttSink final : public exporter::Sink {
 public:
  explicit MqttSink(MqttSinkConfig config) : cfg_(std::move(config)) {
    const bool v5 = cfg_.mqtt_version == 5;
    opts_.set_mqtt_version(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    // No session state survives a failed send: a resend is the core's job.
    if (v5) {
      opts_.set_clean_session(false);
      opts_.set_clean_start(true);
    } else {
      opts_.set_clean_session(true);
    }
    opts_.set_keep_alive_interval(std::chrono::duration_cast<std::chrono::seconds>(cfg_.keepalive));
    const auto connect_s = std::chrono::ceil<std::chrono::seconds>(cfg_.timeout);
    opts_.set_connect_timeout(std::max(connect_s, std::chrono::seconds(1)));
    opts_.set_automatic_reconnect(false);
    if (!cfg_.username.empty()) opts_.set_user_name(cfg_.username);
    if (!cfg_.password.empty()) opts_.set_password(cfg_.password);
    if (cfg_.tls) {
      mqtt::ssl_options ssl;
      const agent::TlsOptions& t = cfg_.tls_options;
      if (!t.ca_file.empty()) ssl.set_trust_store(t.ca_file);
      if (!t.cert_file.empty()) ssl.set_key_store(t.cert_file);
      if (!t.key_file.empty()) ssl.set_private_key(t.key_file);
      ssl.set_enable_server_cert_auth(t.verify);
      ssl.set_verify(t.verify);
      opts_.set_ssl(std::move(ssl));
    }
  }

  ~MqttSink() override { drop_client(); }

  SendResult send(std::span<const exporter::Sample> batch) override {
    try {
      return send_or_throw(batch);
    } catch (const std::exception& e) {
      drop_client();
      return result(SendStatus::kRetry, std::string("mqtt: ") + e.what());
    } catch (...) {
      drop_client();
      return result(SendStatus::kRetry, "mqtt: unknown error");
    }
  }

  std::string_view type() const override { return "mqtt"; }

 private:
  // Forwards Paho's completion callbacks of publishes to the sink.
  class Listener final : public mqtt::iaction_listener {
   public:
    explicit Listener(MqttSink* sink) : sink_(sink) {}
    void on_success(const mqtt::token& tok) override { sink_->on_delivery(tok, true); }
    void on_failure(const mqtt::token& tok) override { sink_->on_delivery(tok, false); }

   private:
    MqttSink* sink_;
  };

  struct Message {
    std::string topic;
    std::string payload;
  };

  SendResult send_or_throw(std::span<const exporter::Sample> batch) {
    std::vector<Message> messages;
    uint64_t unsupported = 0;
    SendResult rejected;
    if (!render(batch, &messages, &unsupported, &rejected)) return rejected;
    if (messages.empty()) {
      SendResult r = result(SendStatus::kOk, "no sample could be represented");
      r.unsupported = unsupported;
      return r;
    }
    if (!connected()) {
      std::string error;
      if (!connect(&error)) return result(SendStatus::kRetry, error);
    }
    SendResult r = publish_all(&messages);
    if (r.status != SendStatus::kOk) drop_client();
    r.unsupported = unsupported;
    return r;
  }

  // Groups the samples by topic and packs them into messages. Returns false
  // with *rejected set if a single sample exceeds max_message_bytes.
  bool render(std::span<const exporter::Sample> batch, std::vector<Message>* messages,
              uint64_t* unsupported, SendResult* rejected) {
    std::unordered_map<std::string, size_t> index;  // topic -> its index in `topics`
    std::vector<std::string> topics;                // in order of first appearance
    std::vector<std::vector<std::string>> units;    // per topic
    std::vector<std::vector<size_t>> sample_of;     // per topic: batch index of each unit
    std::string topic;
    std::string unit;
    for (size_t i = 0; i < batch.size(); ++i) {
      unit.clear();
      if (!cfg_.topic.render(batch[i].series, &topic) ||
          !append_sample(cfg_.format, batch[i], &unit)) {
        ++*unsupported;
        continue;
      }
      auto [it, fresh] = index.try_emplace(topic, topics.size());
      if (fresh) {
        topics.push_back(topic);
        units.emplace_back();
        sample_of.emplace_back();
      }
      units[it->second].push_back(std::move(unit));
      sample_of[it->second].push_back(i);
      unit = std::string();
    }
    for (size_t t = 0; t < topics.size(); ++t) {
      PackResult packed =
          pack_payloads(units[t], cfg_.format, cfg_.compression, cfg_.max_message_bytes);
      if (packed.oversize) {
        const exporter::Sample& s = batch[sample_of[t][*packed.oversize]];
        *rejected = result(SendStatus::kReject, "mqtt: a sample of " + s.series.measurement +
                                                    " field " + s.series.field + " needs " +
                                                    std::to_string(packed.oversize_bytes) +
                                                    " bytes as one message; max_message_bytes is " +
                                                    std::to_string(cfg_.max_message_bytes));
        return false;
      }
      for (std::string& p : packed.payloads) messages->push_back({topics[t], std::move(p)});
    }
    return true;
  }

  bool connected() {
    if (!client_ || !client_->is_connected()) return false;
    std::lock_guard lock(mu_);
    return !lost_;
  }

  // One connect attempt bounded by cfg_.timeout, on a fresh client.
  bool connect(std::string* error) {
    drop_client();
    client_ = std::make_unique<mqtt::async_client>(cfg_.broker, cfg_.client_id,
                                                   mqtt::create_options(opts_.get_mqtt_version()));
    // Paho C's allocation tracking restarts with the first client of the
    // process and loses what was allocated before: the properties live only
    // as long as this client (made here, cleared in drop_client()).
    if (cfg_.mqtt_version == 5) add_message_properties();
    client_->set_connection_lost_handler([this](const std::string&) { mark_lost(); });
    client_->set_disconnected_handler(
        [this](const mqtt::properties&, mqtt::ReasonCode) { mark_lost(); });
    {
      std::lock_guard lock(mu_);
      lost_ = false;
    }
    try {
      if (client_->connect(opts_)->wait_for(cfg_.timeout)) return true;
      *error = "mqtt: connect to " + cfg_.broker + " timed out after " +
               std::to_string(cfg_.timeout.count()) + " ms";
    } catch (const mqtt::exception& e) {
      *error = "mqtt: connect to " + cfg_.broker + ": " + e.what();
    }
    drop_client();
    return false;
  }

  // The MQTT 5 properties of every message: content type, content encoding.
  void add_message_properties() {
    props_.add(mqtt::property(mqtt::property::CONTENT_TYPE,
                              cfg_.format == PayloadFormat::kJson
                                  ? std::string("application/json")
                                  : std::string("text/plain; charset=utf-8")));
    if (cfg_.compression == Compression::kLz4) {
      props_.add(mqtt::property(mqtt::property::USER_PROPERTY, std::string("content-encoding"),
                                std::string("lz4")));
    }
  }

  // Publishes every message, then waits for all acknowledgements.
  SendResult publish_all(std::vector<Message>* messages) {
    const size_t n = messages->size();
    uintptr_t gen;
    {
      std::lock_guard lock(mu_);
      gen = ++gen_;
      acked_ = 0;
      failed_ = false;
      fail_rc_ = 0;
      fail_reason_ = 0;
    }
    void* ctx = reinterpret_cast<void*>(gen);
    uint64_t bytes = 0;
    const auto deadline = std::chrono::steady_clock::now() + cfg_.timeout;
    // Stops waiting: all acknowledged (or, with `window`, room for one more
    // message), a failure, or a lost connection.
    auto settled = [&](size_t published, size_t window) {
      return published - acked_ < window || failed_ || lost_;
    };
    for (size_t i = 0; i < n; ++i) {
      {
        // Paho queues at most 100 unsent publishes (create_options'
        // max_buffered_messages) and refuses more: keep fewer outstanding.
        std::unique_lock lock(mu_);
        if (!cv_.wait_until(lock, deadline, [&] { return settled(i, kMaxOutstanding); }) ||
            failed_ || lost_) {
          break;
        }
      }
      Message& m = (*messages)[i];
      const size_t size = m.payload.size();
      mqtt::message_ptr msg =
          mqtt::make_message(std::move(m.topic), std::move(m.payload), cfg_.qos, cfg_.retain);
      if (cfg_.mqtt_version == 5) msg->set_properties(props_);
      try {
        client_->publish(msg, ctx, listener_);
      } catch (const mqtt::exception& e) {
        return result(SendStatus::kRetry, std::string("mqtt: publish: ") + e.what(), bytes);
      }
      bytes += size;
    }
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return settled(n, 1); });
    if (acked_ == n) return result(SendStatus::kOk, "", bytes);
    if (failed_) {
      const bool reject = refuses_content(fail_reason_);
      return result(reject ? SendStatus::kReject : SendStatus::kRetry,
                    "mqtt: broker refused a message (return code " + std::to_string(fail_rc_) +
                        ", reason code " + std::to_string(fail_reason_) + ")",
                    bytes);
    }
    return result(SendStatus::kRetry,
                  std::string("mqtt: ") + (lost_ ? "connection lost" : "timed out") + " with " +
                      std::to_string(n - acked_) + " of " + std::to_string(n) +
                      " messages unacknowledged",
                  bytes);
  }

  // On a Paho thread.
  void on_delivery(const mqtt::token& tok, bool ok) {
    const int reason = static_cast<int>(tok.get_reason_code());
    std::lock_guard lock(mu_);
    if (reinterpret_cast<uintptr_t>(tok.get_user_context()) != gen_) return;  // an old batch
    if (ok && reason < 0x80) {
      ++acked_;
    } else if (!failed_) {
      failed_ = true;
      fail_rc_ = tok.get_return_code();
      fail_reason_ = reason;
    }
    cv_.notify_all();
  }

  // On a Paho thread.
  void mark_lost() {
    std::lock_guard lock(mu_);
    lost_ = true;
    cv_.notify_all();
  }

  // Disconnects (briefly) and destroys the client; Paho drops its in-flight
  // messages with it. The next send() connects a new one.
  void drop_client() {
    if (!client_) return;
    try {
      if (client_->is_connected()) {
        client_->disconnect(0)->wait_for(
            std::min<std::chrono::milliseconds>(cfg_.timeout, std::chrono::milliseconds(1000)));
      }
    } catch (const std::exception&) {
      // Dropping anyway.
    }
    props_ = mqtt::properties();
    client_.reset();
  }

  const MqttSinkConfig cfg_;
  mqtt::connect_options opts_;
  mqtt::properties props_;  // MQTT 5 message properties, while client_ exists
  Listener listener_{this};

  std::mutex mu_;
  std::condition_variable cv_;
  uintptr_t gen_ = 0;    // guarded by mu_: the batch being delivered
  size_t acked_ = 0;     // guarded by mu_
  bool failed_ = false;  // guarded by mu_
  int fail_rc_ = 0;      // guarded by mu_
  int fail_reason_ = 0;  // guarded by mu_
  bool lost_ = false;    // guarded by mu_: the current client lost its connection

  // Last: destroyed first, while the listener and mutex still exist.
  std::unique_ptr<mqtt::async_client> client_;
};

std::unique_ptr<exporter::Sink> make_mqtt_sink(MqttSinkConfig config) {
  return std::make_unique<MqttSink>(std::move(config));
}

std::unique_ptr<exporter::Sink> make_mqtt_sink(const agent::ParsedTable& t) {
  return make_mqtt_sink(mqtt_sink_config_from(t));
}

}  // namespace flowdb::export_mqtt
