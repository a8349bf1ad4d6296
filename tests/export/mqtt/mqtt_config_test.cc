// mqtt export config: defaults, and every rejection names its key.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "agent_util.h"
#include "export/mqtt/mqtt_sink.h"
#include "mqtt_test_util.h"

using namespace flowdb;
using namespace flowdb::export_mqtt;
using namespace flowdb::export_mqtt_test;
using agent::ConfigError;

namespace {

// The ConfigError message of `yaml` (parsing the table or building the sink);
// fails the test if it is accepted.
std::string reject(const std::string& yaml) {
  try {
    make_mqtt_sink(*table(yaml));
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("accepted: " << yaml);
  return "";
}

}  // namespace

TEST_CASE("mqtt export config: defaults with only a broker", "[export][mqtt][config]") {
  MqttSinkConfig c = mqtt_sink_config_from(*table("broker: tcp://127.0.0.1:1883"));
  CHECK(c.broker == "tcp://127.0.0.1:1883");
  CHECK(c.client_id.starts_with("flowdb-export-"));
  CHECK(c.client_id.ends_with("-mqtt"));
  CHECK(c.topic.text() == "flowdb/{measurement}");
  CHECK(c.qos == 1);
  CHECK(c.mqtt_version == 5);
  CHECK(c.format == PayloadFormat::kLineProtocol);
  CHECK(c.compression == Compression::kNone);
  CHECK_FALSE(c.retain);
  CHECK(c.max_message_bytes == 256 * 1024);
  CHECK(c.username.empty());
  CHECK(c.password.empty());
  CHECK(c.keepalive == std::chrono::seconds(30));
  CHECK(c.timeout == std::chrono::seconds(10));
  CHECK_FALSE(c.tls);
  CHECK(c.tls_options.verify);
  CHECK(make_mqtt_sink(*table("broker: tcp://127.0.0.1:1883"))->type() == "mqtt");
}

TEST_CASE("mqtt export config: every key set", "[export][mqtt][config]") {
  ::setenv("FLOWDB_MQTT_EXPORT_TEST_PW", "s3cret", 1);
  auto t = table(R"(
broker: ssl://upstream.example:8883
client_id: gw-7
topic: site/{tag:site}/{measurement}/{field}
qos: 2
mqtt_version: "3.1.1"
format: json
compression: lz4
retain: true
max_message_bytes: 64KiB
username: gw
password_env: FLOWDB_MQTT_EXPORT_TEST_PW
keepalive: 1m
timeout: 1500ms
tls: {verify: false}
)");
  MqttSinkConfig c = mqtt_sink_config_from(*t);
  CHECK(c.broker == "ssl://upstream.example:8883");
  CHECK(c.client_id == "gw-7");
  CHECK(c.topic.text() == "site/{tag:site}/{measurement}/{field}");
  CHECK(c.qos == 2);
  CHECK(c.mqtt_version == 4);
  CHECK(c.format == PayloadFormat::kJson);
  CHECK(c.compression == Compression::kLz4);
  CHECK(c.retain);
  CHECK(c.max_message_bytes == 64 * 1024);
  CHECK(c.username == "gw");
  CHECK(c.password == "s3cret");
  CHECK(c.keepalive == std::chrono::seconds(60));
  CHECK(c.timeout == std::chrono::milliseconds(1500));
  CHECK(c.tls);
  CHECK_FALSE(c.tls_options.verify);
}

TEST_CASE("mqtt export config: the default client_id uses the export's name",
          "[export][mqtt][config]") {
  auto t = table("broker: tcp://127.0.0.1:1883");
  t->values["name"] = std::string("upstream1");
  CHECK(mqtt_sink_config_from(*t).client_id.ends_with("-upstream1"));
}

TEST_CASE("mqtt export config: password from a file", "[export][mqtt][config]") {
  testing::TempDir dir;
  testing::write_file(dir / "pw", "from-file\n");
  auto t = table("{broker: 'tcp://h:1', username: u, password_file: '" + (dir / "pw") + "'}");
  CHECK(mqtt_sink_config_from(*t).password == "from-file");
}

TEST_CASE("mqtt export config: bad values raise ConfigError naming the key",
          "[export][mqtt][config]") {
  ::unsetenv("FLOWDB_MQTT_EXPORT_TEST_UNSET");
  const std::pair<std::string, std::string> cases[] = {
      {"topic: a/b", "exports[0].broker: missing"},
      {"broker: http://h:1", "exports[0].broker: bad broker URI"},
      {"broker: h:1883", "exports[0].broker: bad broker URI"},
      {"broker: 'tcp://'", "exports[0].broker"},
      {"broker: 'tcp://:1883'", "exports[0].broker"},
      {"broker: 'tcp://u:pw@h:1883'", "exports[0].broker: credentials"},
      {"{broker: 'tcp://h:1', qos: 0}", "exports[0].qos"},
      {"{broker: 'tcp://h:1', qos: 3}", "exports[0].qos"},
      {"{broker: 'tcp://h:1', topic: 'a/+/b'}", "exports[0].topic: wildcard '+'"},
      {"{broker: 'tcp://h:1', topic: 'a/#'}", "exports[0].topic: wildcard '#'"},
      {"{broker: 'tcp://h:1', topic: 'a//{measurement}'}", "exports[0].topic: empty topic level"},
      {"{broker: 'tcp://h:1', topic: 'a/{measurement}/'}", "exports[0].topic: empty last"},
      {"{broker: 'tcp://h:1', topic: 'a/{host}'}", "exports[0].topic: unknown placeholder"},
      {"{broker: 'tcp://h:1', topic: 'a/{tag:host'}", "exports[0].topic"},
      {"{broker: 'tcp://h:1', topic: '$SYS/x'}", "exports[0].topic"},
      {"{broker: 'tcp://h:1', mqtt_version: 4}", "exports[0].mqtt_version"},
      {"{broker: 'tcp://h:1', format: csv}", "exports[0].format"},
      {"{broker: 'tcp://h:1', compression: zstd}", "exports[0].compression"},
      {"{broker: 'tcp://h:1', max_message_bytes: 10}", "exports[0].max_message_bytes"},
      {"{broker: 'tcp://h:1', max_message_bytes: lots}", "exports[0].max_message_bytes"},
      {"{broker: 'tcp://h:1', timeout: 0}", "exports[0].timeout"},
      {"{broker: 'tcp://h:1', keepalive: 10ms}", "exports[0].keepalive"},
      {"{broker: 'tcp://h:1', password: a, password_env: B}", "exports[0].password_file"},
      {"{broker: 'tcp://h:1', password_env: FLOWDB_MQTT_EXPORT_TEST_UNSET}",
       "exports[0].password_env"},
      {"{broker: 'tcp://h:1', password_file: /nonexistent/pw}", "exports[0].password_file"},
      {"{broker: 'tcp://h:1', mqtt_version: '3.1.1', password: p}", "exports[0].password"},
      {"{broker: 'ssl://h:1', tls: {ca_file: /nonexistent/ca.pem}}", "exports[0].tls.ca_file"},
      {"{broker: 'tcp://h:1', colour: red}", "exports[0].colour: unknown key"},
  };
  for (const auto& [yaml, want] : cases) {
    INFO(yaml);
    const std::string got = reject(yaml);
    INFO(got);
    CHECK(got.find(want) != std::string::npos);
  }
}
