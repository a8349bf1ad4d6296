// flowdb-agent as a process against a real mosquitto with a TLS listener and a
// password file: certificates are made with the openssl CLI at test time, the
// broker's password file with mosquitto_passwd. Covers the password from
// password_file and from password_env, mutual TLS, a wrong password (never
// logged), an untrusted CA, a host-name mismatch and tls.verify: false.
#include <mqtt/async_client.h>

#include <catch2/catch.hpp>

#include "agent_util.h"

using namespace flowdb::testing;
using Catch::Matchers::Contains;

namespace {

constexpr const char* kAgentUser = "flowdb";
constexpr const char* kAgentPassword = "Agent-pw-7d1e9c";  // what the broker expects
constexpr const char* kPublisherUser = "publisher";
constexpr const char* kPublisherPassword = "Pub-pw-30a8f2";

// One PKI for the whole run (key generation is the slow part).
const TestPki& pki() {
  static TempDir dir;
  static TestPki p(dir.path());
  return p;
}

BrokerOptions tls_broker(bool require_certificate = false,
                         const std::string& cert = pki().server_cert,
                         const std::string& key = pki().server_key) {
  BrokerOptions o;
  o.ca_file = pki().ca;
  o.cert_file = cert;
  o.key_file = key;
  o.require_certificate = require_certificate;
  o.users = {{kAgentUser, kAgentPassword}, {kPublisherUser, kPublisherPassword}};
  return o;
}

// flowdb-agent with MQTT inputs only, storing into its own temp dir; the
// agent's password is in its environment as FLOWDB_TEST_MQTT_PASSWORD.
struct Agent {
  TempDir dir;
  AgentProcess proc{FLOWDB_AGENT_BIN, dir.path()};

  // `inputs`: YAML list items under inputs.mqtt (each starting "    - ").
  void start(const std::string& inputs) {
    proc.start("storage:\n  data_dir: " + (dir / "data") +
                   "\n  batch_window: 2ms\ninputs:\n  udp: []\n  mqtt:\n" + inputs +
                   "http:\n  listen: 127.0.0.1:" + std::to_string(proc.http_port()) +
                   "\nlog:\n  level: debug\n",
               {"FLOWDB_TEST_MQTT_PASSWORD=" + std::string(kAgentPassword)});
  }
  double metric(const std::string& name) { return proc.metric(name); }
  std::string query(const std::string& params) {
    auto r = proc.get("/api/v1/export?" + params);
    REQUIRE(r.status == 200);
    return r.body;
  }
};

// An inputs.mqtt entry for `broker` with reconnects fast enough for a test.
std::string mqtt_input(const std::string& name, const std::string& broker,
                       const std::string& extra) {
  return "    - name: " + name + "\n      brokers: [\"" + broker +
         "\"]\n      topics: [\"tls/#\"]\n      qos: 1\n      client_id: " + name +
         "-agent\n      reconnect_min: 100ms\n      reconnect_max: 200ms\n"
         "      connect_timeout: 2s\n" +
         extra;
}

// username plus the password from the environment / from `file`.
std::string env_auth() {
  return "      username: " + std::string(kAgentUser) +
         "\n      password_env: FLOWDB_TEST_MQTT_PASSWORD\n";
}
std::string file_auth(const std::string& file) {
  return "      username: " + std::string(kAgentUser) + "\n      password_file: " + file + "\n";
}

// The tls: mapping; `more` adds keys (each "        key: value\n").
std::string tls_keys(const std::string& ca_file, const std::string& more = "") {
  return "      tls:\n        ca_file: " + ca_file + "\n" + more;
}

std::string connected_metric(const std::string& input, const Mosquitto& b) {
  return "flowdb_mqtt_connected{broker=\"" + b.uri() + "\",input=\"" + input + "\"}";
}
std::string connect_failures_metric(const std::string& input, const Mosquitto& b) {
  return "flowdb_mqtt_connect_failures_total{broker=\"" + b.uri() + "\",input=\"" + input + "\"}";
}

// Publishes over TLS as kPublisherUser, verifying the broker with the test CA.
void publish(const Mosquitto& b, const std::string& topic, const std::string& payload) {
  mqtt::async_client c(b.uri(), "flowdb-tls-test-pub", nullptr);
  mqtt::ssl_options ssl;
  ssl.set_trust_store(pki().ca);
  ssl.set_verify(false);  // the chain is checked; the host name is the agent's business
  ssl.set_key_store(pki().client_cert);  // needed when the broker requires one
  ssl.set_private_key(pki().client_key);
  mqtt::connect_options o;
  o.set_mqtt_version(MQTTVERSION_3_1_1);
  o.set_user_name(kPublisherUser);
  o.set_password(kPublisherPassword);
  o.set_ssl(std::move(ssl));
  c.connect(o)->wait();
  c.publish(topic, payload.data(), payload.size(), 1, false)->wait();
  c.disconnect()->wait();
}

// Publishes two points for `tag` and checks they are stored value for value.
void check_round_trip(Agent& a, const Mosquitto& b, const std::string& input,
                      const std::string& tag) {
  const std::string m = "tls,case=" + tag;
  publish(b, "tls/" + tag,
          m + " v=21.5,n=7i,s=\"ok\" 1700000000000000000\n" + m + " v=-0.25 1700000001000000000\n");
  REQUIRE(wait_until(
      [&] { return a.metric("flowdb_input_records_stored_total{input=\"" + input + "\"}") == 4; }));
  CHECK(a.query("series=" + m + "&format=lp") ==
        m + " n=7i 1700000000000000000\n" + m + " s=\"ok\" 1700000000000000000\n" + m +
            " v=21.5 1700000000000000000\n" + m + " v=-0.25 1700000001000000000\n");
}

// Starts input "m" with `keys` against `broker` and checks that it stays
// unconnected: the attempt fails, is logged and the retry counted.
void check_refused(Agent& a, const Mosquitto& broker, const std::string& keys) {
  a.start(mqtt_input("m", broker.uri(), keys));
  REQUIRE(wait_until([&] { return a.metric(connect_failures_metric("m", broker)) >= 1; }));
  CHECK(a.metric(connected_metric("m", broker)) == 0);
  // Never connected, so never reconnected: attempts are not reconnects.
  CHECK(a.metric("flowdb_mqtt_reconnects_total{broker=\"" + broker.uri() + "\",input=\"m\"}") == 0);
  auto ready = a.proc.get("/ready");
  CHECK(ready.status == 503);
  CHECK_THAT(ready.body, Contains("mqtt input m is not connected"));
  CHECK(a.proc.stop() == 0);
  CHECK_THAT(a.proc.log(),
             Contains("WARN mqtt: m: cannot connect to " + broker.uri() + " (attempt 1)"));
  CHECK_THAT(a.proc.log(), !Contains(kAgentPassword));
}

}  // namespace

TEST_CASE("MQTT over TLS with the password from password_file stores the published points",
          "[agent][mqtt][tls][integration]") {
  TempDir bdir;
  Mosquitto broker(bdir.path(), tls_broker());
  Agent a;
  write_file(a.dir / "mqtt.pw", std::string(kAgentPassword) + "\n");
  a.start(mqtt_input("m", broker.uri(), file_auth(a.dir / "mqtt.pw") + tls_keys(pki().ca)));
  REQUIRE(wait_until([&] { return a.proc.get("/ready").status == 200; }));
  CHECK(a.metric(connected_metric("m", broker)) == 1);
  check_round_trip(a, broker, "m", "file");
  CHECK(a.proc.stop() == 0);
  CHECK_THAT(a.proc.log(), Contains("m: connected to " + broker.uri()));
  CHECK_THAT(a.proc.log(), !Contains(kAgentPassword));
}

TEST_CASE("MQTT over TLS with the password from password_env stores the published points",
          "[agent][mqtt][tls][integration]") {
  TempDir bdir;
  Mosquitto broker(bdir.path(), tls_broker());
  Agent a;
  a.start(mqtt_input("m", broker.uri(), env_auth() + tls_keys(pki().ca)));
  REQUIRE(wait_until([&] { return a.metric(connected_metric("m", broker)) == 1; }));
  check_round_trip(a, broker, "m", "env");
  CHECK(a.proc.stop() == 0);
  CHECK_THAT(a.proc.log(), !Contains(kAgentPassword));
}

TEST_CASE("mutual TLS: the client certificate is required and cert_file - key_file provide it",
          "[agent][mqtt][tls][integration]") {
  TempDir bdir;
  Mosquitto broker(bdir.path(), tls_broker(/*require_certificate=*/true));
  Agent a;
  // Input "mtls" presents the client certificate; "nocert" does not.
  const std::string client_keys =
      "        cert_file: " + pki().client_cert + "\n        key_file: " + pki().client_key + "\n";
  a.start(mqtt_input("mtls", broker.uri(), env_auth() + tls_keys(pki().ca, client_keys)) +
          mqtt_input("nocert", broker.uri(), env_auth() + tls_keys(pki().ca)));
  REQUIRE(wait_until([&] { return a.metric(connected_metric("mtls", broker)) == 1; }));
  REQUIRE(wait_until([&] { return a.metric(connect_failures_metric("nocert", broker)) >= 1; }));
  CHECK(a.metric(connected_metric("nocert", broker)) == 0);
  CHECK(a.proc.get("/ready").status == 503);
  check_round_trip(a, broker, "mtls", "mtls");
  CHECK(a.metric("flowdb_input_records_stored_total{input=\"nocert\"}") <= 0);
  CHECK(a.proc.stop() == 0);
  CHECK_THAT(a.proc.log(), Contains("nocert: cannot connect to " + broker.uri()));
}

TEST_CASE("MQTT wrong password: not connected - logged and counted - the password is never logged",
          "[agent][mqtt][tls][integration]") {
  TempDir bdir;
  Mosquitto broker(bdir.path(), tls_broker());
  Agent a;
  const std::string wrong = "Wrong-pw-5c33b1";
  write_file(a.dir / "mqtt.pw", wrong + "\n");
  check_refused(a, broker, file_auth(a.dir / "mqtt.pw") + tls_keys(pki().ca));
  CHECK_THAT(a.proc.log(), Contains("not authorized (check username and password)"));
  CHECK_THAT(a.proc.log(), !Contains(wrong));
  CHECK_THAT(read_file(bdir / "mosquitto.log"), Contains("not authorised"));
}

TEST_CASE("MQTT over TLS with tls verify on refuses an untrusted or mismatched certificate",
          "[agent][mqtt][tls][integration]") {
  TempDir bdir;
  Agent a;
  SECTION("a CA that did not sign the broker certificate") {
    Mosquitto broker(bdir.path(), tls_broker());
    check_refused(a, broker, env_auth() + tls_keys(pki().other_ca));
    CHECK_THAT(a.proc.log(), Contains("TLS handshake / certificate check failed"));
    CHECK_THAT(read_file(bdir / "mosquitto.log"), Contains("unknown ca"));
  }
  SECTION("a certificate from the right CA for another host name") {
    Mosquitto broker(bdir.path(), tls_broker(false, pki().other_host_cert, pki().other_host_key));
    check_refused(a, broker, env_auth() + tls_keys(pki().ca));
  }
}

TEST_CASE("MQTT over TLS with tls verify false connects to an untrusted certificate",
          "[agent][mqtt][tls][integration]") {
  TempDir bdir;
  // Signed by a CA the agent is not given, for a host name that is not 127.0.0.1.
  Mosquitto broker(bdir.path(), tls_broker(false, pki().other_host_cert, pki().other_host_key));
  Agent a;
  a.start(mqtt_input("m", broker.uri(),
                     env_auth() + tls_keys(pki().other_ca, "        verify: false\n")));
  REQUIRE(wait_until([&] { return a.metric(connected_metric("m", broker)) == 1; }));
  check_round_trip(a, broker, "m", "noverify");
  CHECK(a.proc.stop() == 0);
}
