// MQTT input against a real mosquitto broker started by the test.
#include "ingest/mqtt/mqtt_input.h"

#include <catch2/catch.hpp>
#include <deque>

#include "mqtt_input_fixture.h"

using namespace flowdb;
using namespace flowdb::testing;
using flowdb::ingest::FieldValue;

TEST_CASE("MQTT: QoS 0 - 1 and 2 line protocol read back value for value",
          "[mqtt][net][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  for (int qos = 0; qos <= 2; ++qos) {
    DYNAMIC_SECTION("qos " << qos) {
      Pipeline p;
      ingest_mqtt::MqttInput in(config(broker, {"lp/+/data"}, qos), p.ctx());
      in.start();
      REQUIRE(wait_until([&] { return in.connected() == 1; }));
      Publisher pub(broker);
      pub.pub("lp/dev1/data",
              "m,q=" + std::to_string(qos) +
                  " a=1.25,b=-3i,c=\"s\",d=false 1000000000\n"
                  "m,q=" +
                  std::to_string(qos) + " a=2.5 2000000000\nbroken\n",
              qos);
      pub.pub("other/topic", "m,q=x a=1 1000000000\n", qos);  // not subscribed
      REQUIRE(wait_until(
          [&] { return p.metric("flowdb_input_records_stored_total{input=\"mqtt\"}") == 5; }));
      std::vector<ingest::Tag> tags{{"q", std::to_string(qos)}};
      CHECK(p.value("m", tags, "a", 1000000) == FieldValue(1.25));
      CHECK(p.value("m", tags, "b", 1000000) == FieldValue(int64_t{-3}));
      CHECK(p.value("m", tags, "c", 1000000) == FieldValue(std::string("s")));
      CHECK(p.value("m", tags, "d", 1000000) == FieldValue(false));
      CHECK(p.value("m", tags, "a", 2000000) == FieldValue(2.5));
      CHECK(p.metric("flowdb_input_parse_errors_total{input=\"mqtt\",reason=\"no_fields\"}") == 1);
      CHECK(p.count("m") == 5);
      in.stop();
    }
  }
}

TEST_CASE("MQTT: JSON arrays with topic parsing - bad payloads counted - never fatal",
          "[mqtt][net][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Pipeline p;
  auto c = config(broker, {"sensors/#"}, 1);
  c.payload.format = agent::PayloadOptions::Format::kJson;
  c.payload.json.measurement = "sensor";
  c.payload.json.tag_keys = {"dev"};
  c.payload.json.timestamp_field = "ts";
  c.payload.json.ts_format = ingest::JsonFormat::unix_ms;
  c.topic_parsing = {{"sensors/+/+", "_/measurement/_", "_/_/site"}};
  c.max_payload = 1000;
  ingest_mqtt::MqttInput in(c, p.ctx());
  in.start();
  REQUIRE(wait_until([&] { return in.connected() == 1; }));
  Publisher pub(broker);
  pub.pub(
      "sensors/temp/plant1",
      R"([{"dev":"d1","v":21.5,"ts":1000},{"dev":"d2","v":"x","ts":2000},{"dev":"d3","v":1,"ts":"bad"}])",
      1);
  pub.pub("sensors/temp/plant1", "{not json", 1);
  pub.pub("sensors/temp/plant1", std::string("{\"v\":\"\xc3\x28\"}"), 1);
  pub.pub("sensors/temp/plant1", std::string(2000, '['), 1);
  pub.pub("sensors/hum/plant2", R"({"dev":"d9","v":40,"ts":5000})", 1);
  REQUIRE(wait_until(
      [&] { return p.metric("flowdb_input_records_stored_total{input=\"mqtt\"}") == 3; }));
  CHECK(p.value("temp", {{"dev", "d1"}, {"site", "plant1"}}, "v", 1000000) == FieldValue(21.5));
  CHECK(p.value("temp", {{"dev", "d2"}, {"site", "plant1"}}, "v", 2000000) ==
        FieldValue(std::string("x")));
  CHECK(p.value("hum", {{"dev", "d9"}, {"site", "plant2"}}, "v", 5000000) == FieldValue(40.0));
  CHECK(p.metric("flowdb_input_parse_errors_total{input=\"mqtt\",reason=\"bad_timestamp\"}") == 1);
  CHECK(p.metric("flowdb_input_parse_errors_total{input=\"mqtt\",reason=\"syntax\"}") == 1);
  CHECK(p.metric("flowdb_input_parse_errors_total{input=\"mqtt\",reason=\"invalid_utf8\"}") == 1);
  CHECK(p.metric(
            "flowdb_input_payloads_dropped_total{input=\"mqtt\",reason=\"payload_too_large\"}") ==
        1);
  CHECK(
      p.metric("flowdb_input_points_dropped_total{input=\"mqtt\",reason=\"payload_too_large\"}") <=
      0);  // not a point reason
}

TEST_CASE("MQTT: broker restart mid-stream - QoS 1 persistent session loses nothing",
          "[mqtt][net][integration][slow]") {
  TempDir dir;
  auto broker = std::make_unique<Mosquitto>(dir.path());
  // One client, or three on a shared subscription: each has its own session.
  for (int connections : {1, 3}) {
    DYNAMIC_SECTION("connections " << connections) {
      Pipeline p;
      auto c = config(*broker, {"stream/#"}, 1);
      c.clean_session = false;
      c.connections = connections;
      if (connections > 1) c.share_group = "restart";
      c.client_id += "-c" + std::to_string(connections);
      ingest_mqtt::MqttInput in(c, p.ctx());
      in.start();
      const size_t all = static_cast<size_t>(connections);
      REQUIRE(wait_until([&] { return in.connected() == all; }));
      const int kPerPhase = 500;
      auto publish_phase = [&](int phase) {
        Publisher pub(*broker, "flowdb-test-pub-" + std::to_string(phase));
        for (int i = 0; i < kPerPhase; ++i) {
          int n = phase * kPerPhase + i;
          pub.pub("stream/x",
                  "st v=" + std::to_string(n) + "i " + std::to_string(1000000000LL * (n + 1)), 1);
        }
      };
      publish_phase(0);
      // Restart the broker (persistence keeps the sessions and subscriptions).
      broker->stop();
      REQUIRE(wait_until([&] { return in.connected() == 0; }));
      broker->start();
      REQUIRE(wait_until([&] { return in.connected() == all; }, std::chrono::seconds(30)));
      publish_phase(1);
      REQUIRE(wait_until([&] { return p.count("st") == 2 * kPerPhase; }));
      for (int n = 0; n < 2 * kPerPhase; ++n) {
        REQUIRE(p.value("st", {}, "v", 1000000LL * (n + 1)) == FieldValue(int64_t{n}));
      }
      // One loss and one reconnect per client; the attempts while the broker
      // was down are failures.
      const std::string labels = "{broker=\"" + broker->uri() + "\",input=\"mqtt\"}";
      CHECK(p.metric("flowdb_mqtt_reconnects_total" + labels) == connections);
      CHECK(p.metric("flowdb_mqtt_connected" + labels) == connections);
      in.stop();
      CHECK(p.metric("flowdb_mqtt_connected" + labels) == 0);
    }
  }
}

TEST_CASE("MQTT: no broker: start returns - reconnects quietly - connects when it appears",
          "[mqtt][net][integration]") {
  TempDir dir;
  Pipeline p;
  int port = free_port();
  ingest_mqtt::MqttInputConfig c;
  c.name = "late";
  c.brokers = {"tcp://127.0.0.1:" + std::to_string(port)};
  c.topics = {"#"};
  c.client_id = "flowdb-test-late";
  c.reconnect_min_ms = 50;
  c.reconnect_max_ms = 200;
  ingest_mqtt::MqttInput in(c, p.ctx());
  in.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  CHECK(in.connected() == 0);
  // Bring a broker up on that port.
  write_file(dir / "m.conf",
             "listener " + std::to_string(port) + " 127.0.0.1\nallow_anonymous true\n");
  Process mosq({"mosquitto", "-c", dir / "m.conf"}, dir / "m.log");
  REQUIRE(wait_until([&] { return in.connected() == 1; }));
  const std::string labels = "{broker=\"" + c.brokers[0] + "\",input=\"late\"}";
  CHECK(p.metric("flowdb_mqtt_connect_failures_total" + labels) >= 1);
  CHECK(p.metric("flowdb_mqtt_reconnects_total" + labels) == 0);  // never lost, never reconnected
  auto t0 = std::chrono::steady_clock::now();
  in.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
}

TEST_CASE("MQTT: stop returns promptly while a connect attempt waits for a silent broker",
          "[mqtt][net][integration]") {
  // Completes the TCP handshake but never answers the CONNECT: the attempt
  // would only end after connect_timeout.
  SilentListener broker;
  Pipeline p;
  ingest_mqtt::MqttInputConfig c;
  c.name = "silent";
  c.brokers = {"tcp://127.0.0.1:" + std::to_string(broker.port())};
  c.topics = {"#"};
  c.client_id = "flowdb-test-silent";
  c.connect_timeout_s = 30;
  ingest_mqtt::MqttInput in(c, p.ctx());
  in.start();
  REQUIRE(broker.has_pending());  // the client's connection waits in the backlog
  CHECK(in.connected() == 0);
  auto t0 = std::chrono::steady_clock::now();
  in.stop();
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("MQTT: a stock mosquitto at a fixed rate - nothing lost while the agent keeps up",
          "[mqtt][net][integration]") {
  TempDir dir;
  BrokerOptions stock;
  stock.stock = true;  // max_queued_messages 1000: a slow consumer would lose messages
  Mosquitto broker(dir.path(), stock);
  for (int qos = 1; qos <= 2; ++qos) {
    DYNAMIC_SECTION("qos " << qos) {
      Pipeline p;  // the agent's default batch window and max_unstored
      auto c = config(broker, {"rate/#"}, qos);
      c.clean_session = false;
      ingest_mqtt::MqttInput in(c, p.ctx());
      in.start();
      REQUIRE(wait_until([&] { return in.connected() == 1; }));
      // 3000 messages at 3000/s, each publish acknowledged by the broker
      // before the next is paced: the rate the agent must keep up with.
      const int kN = 3000;
      Publisher pub(broker, "flowdb-rate-pub-" + std::to_string(qos));
      std::deque<mqtt::delivery_token_ptr> window;
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kN; ++i) {
        std::this_thread::sleep_until(t0 + std::chrono::microseconds(333 * i));  // pacing
        window.push_back(pub.client.publish(
            "rate/x", "r v=" + std::to_string(i) + "i " + std::to_string(1000000000LL * (i + 1)),
            qos, false));
        if (window.size() > 10) {
          window.front()->wait();
          window.pop_front();
        }
      }
      for (auto& t : window) t->wait();
      REQUIRE(wait_until([&] { return p.count("r") == kN; }));
      for (int i = 0; i < kN; ++i) {
        REQUIRE(p.value("r", {}, "v", 1000000LL * (i + 1)) == FieldValue(int64_t{i}));
      }
      const std::string labels = "{broker=\"" + broker.uri() + "\",input=\"mqtt\"}";
      CHECK(wait_until([&] { return p.metric("flowdb_mqtt_inflight" + labels) == 0; }));
      CHECK(p.metric("flowdb_mqtt_handler_seconds_count" + labels) == kN);
      CHECK(p.metric("flowdb_mqtt_message_gap_max_seconds" + labels) > 0);
      in.stop();
    }
  }
}
