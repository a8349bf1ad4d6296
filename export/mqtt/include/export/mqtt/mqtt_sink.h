// MQTT export sink: publishes batches of stored samples to an upstream broker
// with the Eclipse Paho MQTT C++ async client (QoS 1 by default).
//
// send(batch):
//  1. Renders every sample's topic (topic_template.h) and payload unit
//     (mqtt_payload.h: lp with ns timestamps, or JSON with us timestamps),
//     groups the samples by topic (topics in order of first appearance, samples
//     in batch order) and packs each topic's samples into messages of at most
//     max_message_bytes as published (after lz4). A sample the format cannot
//     represent, or whose topic would be longer than 65535 bytes, is skipped and
//     counted in SendResult::unsupported. A sample that alone exceeds
//     max_message_bytes makes the whole send kReject (nothing is published), so
//     the core splits the batch to isolate it.
//  2. Connects if there is no live connection: one attempt bounded by
//     `timeout`, clean session (MQTT 3.1.1) / clean start (MQTT 5); a failure
//     is kRetry. There is no background reconnect: the next send() tries again.
//  3. Publishes the messages (at most 64 unacknowledged at a time: Paho
//     refuses more than 100 queued publishes) and waits until the broker
//     acknowledged all of them (PUBACK at QoS 1, PUBCOMP at QoS 2), at most
//     `timeout` from the first publish to the last acknowledgement. kOk only
//     if every message was acknowledged. A timeout, a lost connection or a
//     failed publish is kRetry; the connection is then dropped (so Paho resends
//     no stale in-flight message later). A MQTT 5 reason code refusing the
//     content (0x87 not authorized, 0x90 topic name invalid, 0x95 packet too
//     large, 0x99 payload format invalid) is kReject; other reason codes are
//     kRetry.
//  So send() blocks at most about 2 x timeout (connect + deliveries), plus up
//  to one second to drop a failed connection.
//
// Paho C 1.3.11 (Debian 12) runs all clients of a process on shared threads
// and notices a new connection only at its next 1 s poll while another client
// of the process (e.g. an MQTT input of the agent) is connected: a connect can
// then take about 2 s. Keep `timeout` well above that (the default is 10s).
//
// Delivery is at least once: on kRetry the core resends the WHOLE batch, so
// the messages of that batch the broker had already accepted are published
// again (duplicates, limited to that batch; likewise the parts the core
// resends after a kReject from a reason code). Nothing is buffered across
// send() calls. With retain: true the broker keeps only the last message of
// each topic, i.e. a part of the last batch when a batch is split.
//
// MQTT 5 (mqtt_version: 5, the default): each message also carries the
// properties content-type ("text/plain; charset=utf-8" for lp,
// "application/json" for json) and, when compressed, the user property
// content-encoding=lz4. The lz4 frame header is there in either version.
//
// SendResult::bytes_sent counts the payload bytes (after compression) of the
// messages handed to the client in this attempt, acknowledged or not.
//
// Thread-safety: as exporter::Sink (one thread calls send() at a time); Paho's
// callbacks run on Paho's threads and only touch mutex-guarded state.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "agent/core/config_schema.h"
#include "agent/core/tls_options.h"
#include "export/core/sink.h"
#include "export/mqtt/mqtt_payload.h"
#include "export/mqtt/topic_template.h"

namespace flowdb::export_mqtt {

// The keys of an `mqtt` export table (see mqtt_export_config_keys() in
// mqtt_sink.cc for defaults and bounds).
std::span<const agent::KeySpec> mqtt_export_config_keys();

struct MqttSinkConfig {
  std::string broker;     // tcp://host:port or ssl://host:port
  std::string client_id;  // default flowdb-export-<hostname>-<name>
  TopicTemplate topic;
  int qos = 1;           // 1 or 2
  int mqtt_version = 5;  // 4 (= 3.1.1) or 5
  PayloadFormat format = PayloadFormat::kLineProtocol;
  Compression compression = Compression::kNone;
  bool retain = false;
  size_t max_message_bytes = 256 * 1024;
  std::string username;
  std::string password;  // resolved from password / password_file / password_env
  std::chrono::milliseconds keepalive{30000};
  std::chrono::milliseconds timeout{10000};
  bool tls = false;  // an ssl:// broker
  agent::TlsOptions tls_options;
};

// Builds the config from a table validated against mqtt_export_config_keys().
// The default client_id uses the table's `name` value if it has one (the
// export's name), else "mqtt". Throws agent::ConfigError naming the key: bad
// broker URI, bad topic template, password problems, unreadable TLS files.
MqttSinkConfig mqtt_sink_config_from(const agent::ParsedTable& t);

// The sink of `t` (see mqtt_sink_config_from). Does not connect yet.
std::unique_ptr<exporter::Sink> make_mqtt_sink(const agent::ParsedTable& t);
std::unique_ptr<exporter::Sink> make_mqtt_sink(MqttSinkConfig config);

}  // namespace flowdb::export_mqtt
