// MQTT input with protocol: 5 against a real mosquitto broker started by the
// test: user properties as tags, the session expiry of a persistent session.
#include <catch2/catch.hpp>

#include "mqtt_input_fixture.h"

using namespace flowdb;
using namespace flowdb::testing;
using flowdb::ingest::FieldValue;

namespace {
ingest_mqtt::MqttInputConfig config5(const Mosquitto& b, std::vector<std::string> topics) {
  auto c = config(b, std::move(topics), 1);
  c.protocol = 5;
  c.client_id += "-v5";
  return c;
}
}  // namespace

TEST_CASE("MQTT 5: selected user properties become tags of every point of the message",
          "[mqtt][mqtt5][net][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Pipeline p;
  auto c = config5(broker, {"up/#"});
  c.clean_session = true;
  c.session_expiry_s = 0;
  c.receive_maximum = 10;
  c.user_property_tags = {"site", "line"};
  c.topic_parsing = {{"up/ruled/+", "", "_/_/site"}};
  ingest_mqtt::MqttInput in(c, p.ctx());
  in.start();
  REQUIRE(wait_until([&] { return in.connected() == 1; }));
  Publisher pub(broker, "flowdb-test-pub5", MQTTVERSION_5);
  // Two points; a payload tag "site" is overridden by the user property;
  // "other" is not selected; of a repeated name the last wins.
  pub.pub("up/a", "m,dev=a,site=payload v=1 1000000000\nm,dev=b v=2 2000000000\n", 1,
          {{"site", "first"}, {"other", "x"}, {"line", "L2"}, {"site", "plant1"}});
  // An empty value cannot be a tag: skipped, the point is stored without it.
  pub.pub("up/a", "m,dev=c v=3 3000000000\n", 1, {{"site", ""}, {"line", "L3"}});
  // topic_parsing tags override user properties.
  pub.pub("up/ruled/topicsite", "m,dev=d v=4 4000000000\n", 1, {{"site", "prop"}});
  // No user properties at all.
  pub.pub("up/a", "m,dev=e v=5 5000000000\n", 1);
  REQUIRE(wait_until(
      [&] { return p.metric("flowdb_input_records_stored_total{input=\"mqtt\"}") == 5; }));
  CHECK(p.value("m", {{"dev", "a"}, {"line", "L2"}, {"site", "plant1"}}, "v", 1000000) ==
        FieldValue(1.0));
  CHECK(p.value("m", {{"dev", "b"}, {"line", "L2"}, {"site", "plant1"}}, "v", 2000000) ==
        FieldValue(2.0));
  CHECK(p.value("m", {{"dev", "c"}, {"line", "L3"}}, "v", 3000000) == FieldValue(3.0));
  CHECK(p.value("m", {{"dev", "d"}, {"site", "topicsite"}}, "v", 4000000) == FieldValue(4.0));
  CHECK(p.value("m", {{"dev", "e"}}, "v", 5000000) == FieldValue(5.0));
  CHECK(p.count("m") == 5);
  in.stop();
}

TEST_CASE("MQTT 5: user_property_tags true takes every user property as a tag",
          "[mqtt][mqtt5][net][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Pipeline p;
  auto c = config5(broker, {"all/#"});
  c.user_property_tags_all = true;
  c.session_expiry_s = 60;
  ingest_mqtt::MqttInput in(c, p.ctx());
  in.start();
  REQUIRE(wait_until([&] { return in.connected() == 1; }));
  Publisher pub(broker, "flowdb-test-pub5", MQTTVERSION_5);
  pub.pub("all/x", "m v=1 1000000000\n", 1, {{"a", "1"}, {"b", "two"}});
  REQUIRE(wait_until([&] { return p.count("m") == 1; }));
  CHECK(p.value("m", {{"a", "1"}, {"b", "two"}}, "v", 1000000) == FieldValue(1.0));
  in.stop();
}

TEST_CASE("MQTT 5: a persistent session outlives the agent for session_expiry - nothing lost",
          "[mqtt][mqtt5][net][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Pipeline p;
  auto c = config5(broker, {"away/#"});
  c.clean_session = false;
  c.session_expiry_s = 3600;
  Publisher pub(broker, "flowdb-test-pub5", MQTTVERSION_5);
  const int kN = 200;
  auto publish = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      pub.pub("away/x", "aw v=" + std::to_string(i) + "i " + std::to_string(1000000000LL * (i + 1)),
              1);
    }
  };
  {
    ingest_mqtt::MqttInput in(c, p.ctx());
    in.start();
    REQUIRE(wait_until([&] { return in.connected() == 1; }));
    publish(0, kN);
    REQUIRE(wait_until([&] { return p.count("aw") == kN; }));
    in.stop();
  }
  // The agent is away: the broker queues these in the session (expiry 1 h;
  // with a Session Expiry Interval of 0 it would have discarded the session).
  publish(kN, 2 * kN);
  ingest_mqtt::MqttInput again(c, p.ctx());
  again.start();
  REQUIRE(wait_until([&] { return p.count("aw") == 2 * kN; }));
  for (int i = 0; i < 2 * kN; ++i) {
    REQUIRE(p.value("aw", {}, "v", 1000000LL * (i + 1)) == FieldValue(int64_t{i}));
  }
  again.stop();
}
