// MQTT input with connections: N on a shared subscription against a real
// mosquitto broker started by the test: every message stored exactly once.
#include <catch2/catch.hpp>
#include <deque>

#include "mqtt_input_fixture.h"

using namespace flowdb;
using namespace flowdb::testing;
using flowdb::ingest::FieldValue;

TEST_CASE("MQTT: three connections on a shared subscription store every QoS 1 message once",
          "[mqtt][shared][net][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  for (int protocol : {4, 5}) {
    DYNAMIC_SECTION("protocol " << protocol) {
      Pipeline p;
      auto c = config(broker, {"fan/#"}, 1);
      c.protocol = protocol;
      c.connections = 3;
      c.share_group = "fan" + std::to_string(protocol);
      c.client_id += "-fan" + std::to_string(protocol);
      c.clean_session = false;
      if (protocol == 5) c.session_expiry_s = 600;
      ingest_mqtt::MqttInput in(c, p.ctx());
      in.start();
      REQUIRE(wait_until([&] { return in.connected() == 3; }));
      std::string why;
      CHECK(in.ready(&why));
      const std::string labels = "{broker=\"" + broker.uri() + "\",input=\"mqtt\"}";
      CHECK(p.metric("flowdb_mqtt_connected" + labels) == 3);
      const int kN = 3000;
      Publisher pub(broker, "flowdb-fan-pub-" + std::to_string(protocol));
      std::deque<mqtt::delivery_token_ptr> window;
      for (int i = 0; i < kN; ++i) {
        // Two lines per message: measurement f holds i, g holds -i.
        const std::string ts = std::to_string(1000000000LL * (i + 1));
        window.push_back(pub.client.publish(
            "fan/" + std::to_string(i % 7),
            "f v=" + std::to_string(i) + "i " + ts + "\ng v=" + std::to_string(-i) + "i " + ts, 1,
            false));
        if (window.size() > 50) {
          window.front()->wait();
          window.pop_front();
        }
      }
      for (auto& t : window) t->wait();
      REQUIRE(wait_until([&] { return p.count("f") == kN && p.count("g") == kN; }));
      for (int i = 0; i < kN; ++i) {
        REQUIRE(p.value("f", {}, "v", 1000000LL * (i + 1)) == FieldValue(int64_t{i}));
        REQUIRE(p.value("g", {}, "v", 1000000LL * (i + 1)) == FieldValue(int64_t{-i}));
      }
      // Exactly once: a message delivered to two members would be counted
      // twice here (its points would only overwrite themselves).
      CHECK(p.metric("flowdb_input_messages_received_total{input=\"mqtt\"}") == kN);
      CHECK(p.metric("flowdb_mqtt_handler_seconds_count" + labels) == kN);
      CHECK(wait_until([&] { return p.metric("flowdb_mqtt_inflight" + labels) == 0; }));
      in.stop();
    }
  }
}
