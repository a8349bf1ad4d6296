// inputs.mqtt[]: the key table (KeySpec rows) and the config it builds.
#include <unistd.h>

#include <algorithm>
#include <set>

#include "ingest/mqtt/mqtt_connections.h"
#include "ingest/mqtt/mqtt_input.h"
#include "ingest/utf8.h"

namespace flowdb::ingest_mqtt {
namespace {

using agent::KeyKind;
using agent::KeySpec;

constexpr std::string_view kProtocols[] = {"3.1.1", "4", "5"};
constexpr int64_t kSecond = 1000000;  // durations are in microseconds

constexpr KeySpec kWillKeys[] = {
    {.name = "topic", .kind = KeyKind::kString, .doc = "Last-will topic (empty: no will)"},
    {.name = "payload",
     .kind = KeyKind::kString,
     .default_value = "offline",
     .doc = "Last-will payload"},
    {.name = "qos",
     .kind = KeyKind::kInt,
     .default_value = "0",
     .doc = "Last-will QoS",
     .min = 0,
     .max = 2},
    {.name = "retain",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .doc = "Retain the last-will message"},
};
constexpr KeySpec kTopicParsingKeys[] = {
    {.name = "topic",
     .kind = KeyKind::kString,
     .doc = "Topic filter the rule applies to",
     .required = true},
    {.name = "measurement", .kind = KeyKind::kString, .doc = "Template, e.g. _/measurement/_"},
    {.name = "tags", .kind = KeyKind::kString, .doc = "Template, e.g. _/_/site"},
};
// Not constexpr: the tls table comes from agent_core.
const KeySpec kMqttKeys[] = {
    {.name = "name",
     .kind = KeyKind::kString,
     .doc = "Input name used in metrics and logs (default mqttN)"},
    {.name = "brokers",
     .kind = KeyKind::kStringList,
     .default_value = "[\"tcp://127.0.0.1:1883\"]",
     .doc = "Broker URIs (tcp://, ssl://, ws://, wss://); one client per broker"},
    {.name = "topics",
     .kind = KeyKind::kStringList,
     .default_value = "[\"#\"]",
     .doc = "Topic filters to subscribe to (+ and # wildcards)"},
    {.name = "qos",
     .kind = KeyKind::kInt,
     .default_value = "1",
     .doc = "Subscription QoS (0, 1, 2)",
     .min = 0,
     .max = 2},
    {.name = "client_id",
     .kind = KeyKind::kString,
     .doc = "Client id; fixed for persistent sessions (default flowdb-<host>-<name>)"},
    {.name = "clean_session",
     .kind = KeyKind::kBool,
     .default_value = "false",
     .doc =
         "false: persistent session, the broker queues QoS 1/2 messages while the agent is away"},
    {.name = "protocol",
     .kind = KeyKind::kEnum,
     .default_value = "3.1.1",
     .doc = "MQTT protocol version: 3.1.1 (also spelled 4) or 5",
     .choices = kProtocols},
    {.name = "session_expiry",
     .kind = KeyKind::kDuration,
     .doc = "protocol 5: Session Expiry Interval, how long the broker keeps the session (and "
            "queues messages) after a disconnect, whole seconds (default 1d with clean_session "
            "false, 0 with clean_session true)",
     .min = 0,
     .max = 4294967295LL * kSecond},
    {.name = "receive_maximum",
     .kind = KeyKind::kInt,
     .doc = "protocol 5: Receive Maximum sent in CONNECT, the most QoS 1/2 messages the broker "
            "sends this client before their acks (default: not sent, 65535); per connection",
     .min = 1,
     .max = 65535},
    {
        .name = "user_property_tags",
        .kind = KeyKind::kStringList,
        .doc = "protocol 5: PUBLISH user properties stored as tags of the message's points (true: "
               "all of them); they override payload tags, topic_parsing tags override them",
    },
    {.name = "connections",
     .kind = KeyKind::kInt,
     .default_value = "1",
     .doc = "Clients per broker, sharing one shared subscription ($share/share_group/filter) so "
            "that messages are parsed on that many threads; client ids get -1..-N when above 1",
     .min = 1,
     .max = 16},
    {.name = "share_group",
     .kind = KeyKind::kString,
     .doc = "Shared-subscription group (default flowdb-<name> with connections above 1; set it "
            "to share with other clients, e.g. several agents)"},
    {.name = "username", .kind = KeyKind::kString, .doc = "User name"},
    {.name = "password",
     .kind = KeyKind::kSecret,
     .doc = "Password (or password_file / password_env)"},
    {.name = "password_file",
     .kind = KeyKind::kString,
     .doc = "File holding the password (trailing newline removed)"},
    {.name = "password_env",
     .kind = KeyKind::kString,
     .doc = "Environment variable holding the password"},
    {.name = "tls",
     .kind = KeyKind::kTable,
     .doc = "TLS settings (used with ssl:// brokers)",
     .children = agent::tls_config_keys()},
    {.name = "keepalive",
     .kind = KeyKind::kDuration,
     .default_value = "30s",
     .doc = "MQTT keep-alive interval",
     .min = 1000000,
     .max = 65535000000},
    {.name = "connect_timeout",
     .kind = KeyKind::kDuration,
     .default_value = "10s",
     .doc = "Time allowed for one connect attempt",
     .min = 1000000,
     .max = 600000000},
    {.name = "reconnect_min",
     .kind = KeyKind::kDuration,
     .default_value = "500ms",
     .doc = "First reconnect delay",
     .min = 10000,
     .max = 3600000000},
    {.name = "reconnect_max",
     .kind = KeyKind::kDuration,
     .default_value = "30s",
     .doc = "Cap of the exponential reconnect delay",
     .min = 10000,
     .max = 3600000000},
    {.name = "will",
     .kind = KeyKind::kTable,
     .doc = "Optional last-will message",
     .children = kWillKeys},
    {.name = "topic_parsing",
     .kind = KeyKind::kTableList,
     .doc = "Telegraf-style topic_parsing rules",
     .children = kTopicParsingKeys},
    {.name = "topic_tag",
     .kind = KeyKind::kString,
     .doc = "Tag that receives the topic name (empty: none)"},
    {.name = "max_unstored",
     .kind = KeyKind::kInt,
     .default_value = "256",
     .doc = "Messages per broker connection that the handler has taken (Paho has already "
            "acknowledged them) and the WAL does not hold yet; at the bound the handler waits. "
            "A kill -9 loses at most this many plus one. 0: the handler waits for each "
            "message's write (at most one lost, but a slow consumer)",
     .min = 0,
     .max = 100000},
    {.name = "max_payload",
     .kind = KeyKind::kSize,
     .default_value = "1MiB",
     .doc = "Larger messages are dropped (payload_too_large)",
     .min = 16,
     .max = 256LL << 20},
};

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "host";
  return buf;
}

// protocol and the keys that only MQTT 5 has.
void mqtt5_config_from(const agent::ParsedTable& t, MqttInputConfig* c) {
  c->protocol = t.str("protocol") == "5" ? 5 : 4;
  if (c->protocol != 5) {
    for (const char* key : {"session_expiry", "receive_maximum", "user_property_tags"}) {
      if (t.has(key)) t.fail(key, "is an MQTT 5 property; expected protocol: 5 with it");
    }
    return;
  }
  if (t.has("session_expiry")) {
    int64_t us = t.integer("session_expiry");
    if (us % kSecond != 0) t.fail("session_expiry", "expected a whole number of seconds");
    if (us == 0 && !c->clean_session) {
      t.fail("session_expiry",
             "0 ends the session at every disconnect, so clean_session: false would keep "
             "nothing; expected a positive duration, or clean_session: true");
    }
    c->session_expiry_s = static_cast<uint32_t>(us / kSecond);
  } else {
    c->session_expiry_s = c->clean_session ? 0 : 86400;
  }
  if (t.has("receive_maximum")) c->receive_maximum = static_cast<int>(t.integer("receive_maximum"));
  if (t.has("user_property_tags")) {
    const std::vector<std::string>& names = t.list("user_property_tags");
    if (names.size() == 1 && names[0] == "true") {
      c->user_property_tags_all = true;
    } else if (!(names.size() == 1 && names[0] == "false")) {
      std::set<std::string> seen;
      for (const std::string& n : names) {
        if (n.empty() || !ingest::valid_utf8(n)) {
          t.fail("user_property_tags", "bad tag name '" + n + "'; expected non-empty UTF-8");
        }
        if (!seen.insert(n).second) t.fail("user_property_tags", "duplicate name '" + n + "'");
      }
      c->user_property_tags = names;
    }
  }
}

}  // namespace

std::span<const KeySpec> mqtt_config_keys() {
  static const std::vector<KeySpec> keys =
      agent::concat_keys(kMqttKeys, agent::payload_format_keys());
  return keys;
}

MqttInputConfig mqtt_config_from(const agent::ParsedTable& t, const std::string& default_name) {
  MqttInputConfig c;
  c.name = t.str("name").empty() ? default_name : t.str("name");
  c.brokers = t.list("brokers");
  if (c.brokers.empty()) t.fail("brokers", "empty; expected at least one broker URI");
  bool any_ssl = false;
  for (const std::string& b : c.brokers) {
    size_t sep = b.find("://");
    std::string scheme = sep == std::string::npos ? "" : b.substr(0, sep);
    if (scheme != "tcp" && scheme != "mqtt" && scheme != "ssl" && scheme != "mqtts" &&
        scheme != "ws" && scheme != "wss") {
      t.fail("brokers", "bad broker URI '" + b + "'; expected tcp://host:port or ssl://host:port");
    }
    if (b.size() <= sep + 3) t.fail("brokers", "broker URI '" + b + "' has no host");
    any_ssl |= scheme == "ssl" || scheme == "mqtts" || scheme == "wss";
  }
  c.topics = t.list("topics");
  if (c.topics.empty()) t.fail("topics", "empty; expected at least one topic filter");
  for (const std::string& f : c.topics) {
    if (!ingest::valid_topic_filter(f)) {
      t.fail("topics", "bad topic filter '" + f +
                           "'; expected levels separated by '/', '+' as a whole level, '#' last");
    }
  }
  c.qos = static_cast<int>(t.integer("qos"));
  c.clean_session = t.boolean("clean_session");
  c.client_id = t.str("client_id");
  if (c.client_id.empty()) c.client_id = "flowdb-" + hostname() + "-" + c.name;
  mqtt5_config_from(t, &c);
  c.connections = static_cast<int>(t.integer("connections"));
  c.share_group = t.str("share_group");
  if (t.has("share_group") && !valid_share_group(c.share_group)) {
    t.fail("share_group", "bad group name '" + c.share_group +
                              "'; expected a non-empty name without '/', '+' or '#'");
  }
  if (c.share_group.empty() && c.connections > 1) c.share_group = default_share_group(c.name);
  c.username = t.str("username");
  c.password = agent::resolve_secret(t, "password");
  c.tls = any_ssl;
  c.tls_options = agent::tls_options_from(t);
  c.keepalive_s = static_cast<int>(t.integer("keepalive") / 1000000);
  c.connect_timeout_s = static_cast<int>(t.integer("connect_timeout") / 1000000);
  c.reconnect_min_ms = t.integer("reconnect_min") / 1000;
  c.reconnect_max_ms = t.integer("reconnect_max") / 1000;
  if (c.reconnect_max_ms < c.reconnect_min_ms) {
    t.fail("reconnect_max", "smaller than reconnect_min");
  }
  if (const agent::ParsedTable* w = t.table("will")) {
    c.will_topic = w->str("topic");
    c.will_payload = w->str("payload");
    c.will_qos = static_cast<int>(w->integer("qos"));
    c.will_retain = w->boolean("retain");
    if (!c.will_topic.empty() && !ingest::valid_topic_name(c.will_topic)) {
      w->fail("topic", "bad topic name '" + c.will_topic + "'; expected no wildcards");
    }
  }
  for (const auto& r : t.tables("topic_parsing")) {
    c.topic_parsing.push_back({r->str("topic"), r->str("measurement"), r->str("tags")});
  }
  std::string err;
  if (!ingest::TopicParser::create(c.topic_parsing, &err)) t.fail("topic_parsing", err);
  c.topic_tag = t.str("topic_tag");
  c.payload = agent::payload_options_from(t);
  c.max_payload = static_cast<size_t>(t.integer("max_payload"));
  c.max_unstored = static_cast<size_t>(t.integer("max_unstored"));
  // A changed password file or variable changes the fingerprint too.
  c.fingerprint = agent::fingerprint(t) + "password=" + c.password;
  return c;
}

std::vector<std::string> removed_filters(std::span<const agent::InputSettings* const> retired,
                                         const MqttInputConfig& c) {
  if (c.clean_session) return {};  // a clean session starts with no subscriptions
  // Compared as subscribed ($share/GROUP/ prefix included): a changed
  // share_group leaves the old group's subscriptions to remove.
  const std::vector<std::string> now = subscription_filters(c);
  std::set<std::string> out;
  auto removed = [&](const std::vector<std::string>& list) {
    for (const std::string& t : list) {
      if (std::find(now.begin(), now.end(), t) == now.end()) out.insert(t);
    }
  };
  removed(c.unsubscribe);  // an input restored after a failed reload keeps its list
  for (const agent::InputSettings* s : retired) {
    const auto& r = static_cast<const MqttInputConfig&>(*s);
    // Other client ids (another connection count) are other sessions.
    if (r.client_id != c.client_id || r.brokers != c.brokers || r.clean_session ||
        r.connections != c.connections) {
      continue;
    }
    removed(subscription_filters(r));
    removed(r.unsubscribe);
  }
  return {out.begin(), out.end()};
}

}  // namespace flowdb::ingest_mqtt
