// inputs.mqtt[]: the MQTT 5 keys (protocol, session_expiry, receive_maximum,
// user_property_tags) and the connection set (connections, share_group):
// what they build, and a clear error naming the key for every bad value.
#include <catch2/catch.hpp>

#include "agent/agent_config.h"
#include "ingest/mqtt/mqtt_connections.h"
#include "ingest/mqtt/mqtt_input.h"

using flowdb::agent::ConfigError;
using flowdb::agent::parse_config;
using flowdb::ingest_mqtt::MqttInputConfig;

namespace {
MqttInputConfig mqtt_input(const std::string& keys) {
  auto c = parse_config("inputs:\n  mqtt:\n    - name: m\n" + keys, "t.yaml");
  auto inputs = flowdb::agent::inputs_of<MqttInputConfig>(c, "mqtt");
  REQUIRE(inputs.size() == 1);
  return *inputs[0];
}

std::string reject(const std::string& keys) {
  try {
    parse_config("inputs:\n  mqtt:\n    - name: m\n" + keys, "t.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("accepted: " << keys);
  return "";
}
}  // namespace

TEST_CASE("MQTT protocol defaults to 3.1.1 and accepts 4 and 5", "[config][mqtt]") {
  CHECK(mqtt_input("").protocol == 4);
  CHECK(mqtt_input("      protocol: 3.1.1\n").protocol == 4);
  CHECK(mqtt_input("      protocol: 4\n").protocol == 4);
  CHECK(mqtt_input("      protocol: 5\n").protocol == 5);
}

TEST_CASE("MQTT 5 session expiry is a day for a persistent session and 0 for a clean one",
          "[config][mqtt]") {
  CHECK(mqtt_input("      protocol: 5\n").session_expiry_s == 86400);
  CHECK(mqtt_input("      protocol: 5\n      clean_session: true\n").session_expiry_s == 0);
  CHECK(mqtt_input("      protocol: 5\n      session_expiry: 2h\n").session_expiry_s == 7200);
  CHECK(mqtt_input("      protocol: 5\n      clean_session: true\n      session_expiry: 30s\n")
            .session_expiry_s == 30);
}

TEST_CASE("MQTT 5 receive maximum and user property tags are read", "[config][mqtt]") {
  auto c = mqtt_input("      protocol: 5\n      receive_maximum: 100\n");
  CHECK(c.receive_maximum == 100);
  CHECK(mqtt_input("      protocol: 5\n").receive_maximum == 0);  // not sent
  c = mqtt_input("      protocol: 5\n      user_property_tags: [site, line]\n");
  CHECK(c.user_property_tags == std::vector<std::string>{"site", "line"});
  CHECK_FALSE(c.user_property_tags_all);
  c = mqtt_input("      protocol: 5\n      user_property_tags: true\n");
  CHECK(c.user_property_tags_all);
  CHECK(c.user_property_tags.empty());
  c = mqtt_input("      protocol: 5\n      user_property_tags: false\n");
  CHECK_FALSE(c.user_property_tags_all);
  CHECK(c.user_property_tags.empty());
}

TEST_CASE("MQTT connections get distinct client ids and a shared subscription", "[config][mqtt]") {
  auto one = mqtt_input("      client_id: dev\n      topics: [\"a/#\"]\n");
  CHECK(one.connections == 1);
  CHECK(one.share_group.empty());
  CHECK(flowdb::ingest_mqtt::connection_client_id(one, 0) == "dev");  // a kept session
  CHECK(flowdb::ingest_mqtt::subscription_filters(one) == std::vector<std::string>{"a/#"});

  auto three =
      mqtt_input("      client_id: dev\n      topics: [\"a/#\", b]\n      connections: 3\n");
  CHECK(three.share_group == "flowdb-m");
  CHECK(flowdb::ingest_mqtt::connection_client_id(three, 0) == "dev-1");
  CHECK(flowdb::ingest_mqtt::connection_client_id(three, 2) == "dev-3");
  CHECK(flowdb::ingest_mqtt::subscription_filters(three) ==
        std::vector<std::string>{"$share/flowdb-m/a/#", "$share/flowdb-m/b"});

  // An explicit group also shares a single connection (e.g. with another agent).
  auto shared = mqtt_input("      topics: [x]\n      share_group: agents\n");
  CHECK(flowdb::ingest_mqtt::subscription_filters(shared) ==
        std::vector<std::string>{"$share/agents/x"});
}

TEST_CASE("every bad MQTT 5 or connections value names its key", "[config][mqtt]") {
  using Catch::Matchers::Contains;
  struct Case {
    const char* keys;
    const char* where;
    const char* what;
  };
  const Case cases[] = {
      {"      protocol: 6\n", "t.yaml:4:17: inputs.mqtt[0].protocol",
       "got '6'; expected one of 3.1.1, 4, 5"},
      {"      protocol: 3.1\n", "inputs.mqtt[0].protocol", "expected one of 3.1.1, 4, 5"},
      {"      session_expiry: 1h\n", "inputs.mqtt[0].session_expiry", "expected protocol: 5"},
      {"      receive_maximum: 10\n", "inputs.mqtt[0].receive_maximum", "expected protocol: 5"},
      {"      protocol: 4\n      user_property_tags: [a]\n", "inputs.mqtt[0].user_property_tags",
       "expected protocol: 5"},
      {"      protocol: 5\n      session_expiry: 1500ms\n", "inputs.mqtt[0].session_expiry",
       "whole number of seconds"},
      {"      protocol: 5\n      session_expiry: 0s\n", "inputs.mqtt[0].session_expiry",
       "0 ends the session at every disconnect"},
      {"      protocol: 5\n      session_expiry: soon\n", "inputs.mqtt[0].session_expiry",
       "expected a duration"},
      {"      protocol: 5\n      session_expiry: 8000w\n", "inputs.mqtt[0].session_expiry",
       "out of range"},
      {"      protocol: 5\n      receive_maximum: 0\n", "inputs.mqtt[0].receive_maximum",
       "in [1, 65535]"},
      {"      protocol: 5\n      receive_maximum: 65536\n", "inputs.mqtt[0].receive_maximum",
       "in [1, 65535]"},
      {"      protocol: 5\n      user_property_tags: [a, a]\n", "inputs.mqtt[0].user_property_tags",
       "duplicate name 'a'"},
      {"      protocol: 5\n      user_property_tags: [\"\"]\n", "inputs.mqtt[0].user_property_tags",
       "bad tag name ''"},
      {"      connections: 0\n", "inputs.mqtt[0].connections", "in [1, 16]"},
      {"      connections: 17\n", "inputs.mqtt[0].connections", "in [1, 16]"},
      {"      connections: two\n", "inputs.mqtt[0].connections", "expected an integer"},
      {"      share_group: a/b\n", "inputs.mqtt[0].share_group", "bad group name 'a/b'"},
      {"      share_group: \"g+\"\n", "inputs.mqtt[0].share_group", "bad group name"},
      {"      share_group: \"\"\n", "inputs.mqtt[0].share_group", "bad group name ''"},
  };
  for (const Case& c : cases) {
    INFO(c.keys);
    std::string msg = reject(c.keys);
    CHECK_THAT(msg, Contains(c.where));
    CHECK_THAT(msg, Contains(c.what));
  }
}

TEST_CASE("a reload unsubscribes the old share group's filters of a kept session",
          "[config][mqtt]") {
  auto before = mqtt_input("      client_id: s\n      topics: [a, b]\n      share_group: g1\n");
  auto after = mqtt_input("      client_id: s\n      topics: [a]\n      share_group: g2\n");
  const flowdb::agent::InputSettings* retired[] = {&before};
  CHECK(flowdb::ingest_mqtt::removed_filters(retired, after) ==
        std::vector<std::string>{"$share/g1/a", "$share/g1/b"});
  // Another connection count means other client ids, hence other sessions.
  auto more = mqtt_input("      client_id: s\n      topics: [a]\n      connections: 2\n");
  CHECK(flowdb::ingest_mqtt::removed_filters(retired, more).empty());
}
