// mqtt export sink against a real mosquitto started by the test: a subscriber
// (mosquitto_sub, MQTT 5) receives exactly the published samples; topic
// templates, lz4, splitting, oversize samples, broker down / restarted /
// frozen, a server that never answers.
#include "export/mqtt/mqtt_sink.h"

#include <lz4.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <map>

#include "mqtt_sink_fixture.h"

using namespace flowdb;
using namespace flowdb::export_mqtt;
using namespace flowdb::export_mqtt_test;
using exporter::SendStatus;
using testing::Mosquitto;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

// A batch with every value type, escaping, and two measurements.
std::vector<Sample> mixed_batch(int64_t t0) {
  return {
      make_sample("cpu", {{"host", "gw 1"}, {"site", "north"}}, "usage", 0.5, t0),
      make_sample("cpu", {{"host", "gw 1"}, {"site", "north"}}, "procs", int64_t{87}, t0),
      make_sample("mem", {{"host", "gw,2"}}, "free", uint64_t{18446744073709551615u}, t0 + 1),
      make_sample("cpu", {{"host", "gw3"}}, "up", true, t0 + 2),
      make_sample("mem", {}, "note", std::string("a \"quoted\" = b"), t0 + 3),
      make_sample("cpu", {}, "neg", -1.25e-7, -5),
  };
}

}  // namespace

TEST_CASE("mqtt export lp: the subscriber receives exactly the batch - one topic per measurement",
          "[export][mqtt][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Subscriber sub(broker.port(), dir.path(), {"flowdb/#"});
  auto sink = make_mqtt_sink(*sink_table(broker.uri(), ""));
  const std::vector<Sample> batch = mixed_batch(1700000000000000);
  exporter::SendResult r = sink->send(batch);
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  CHECK(r.unsupported == 0);
  const auto msgs = sub.drain();
  REQUIRE(msgs.size() == 2);  // one message per topic
  std::map<std::string, std::vector<Sample>> by_topic;
  uint64_t bytes = 0;
  for (const auto& m : msgs) {
    CHECK(m.qos == 1);
    CHECK_FALSE(m.retained);
    CHECK(m.content_type == "text/plain; charset=utf-8");
    CHECK(m.user_property.empty());
    bytes += m.payload.size();
    by_topic[m.topic] = samples_from_lp(m.payload);
  }
  CHECK(r.bytes_sent == bytes);
  REQUIRE(by_topic.size() == 2);
  check_same(by_topic["flowdb/cpu"], {batch[0], batch[1], batch[3], batch[5]});
  check_same(by_topic["flowdb/mem"], {batch[2], batch[4]});
}

TEST_CASE("mqtt export json: arrays of objects with microsecond timestamps",
          "[export][mqtt][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Subscriber sub(broker.port(), dir.path(), {"j/#"});
  auto sink = make_mqtt_sink(*sink_table(broker.uri(), "format: json, topic: 'j/{measurement}'"));
  const std::vector<Sample> batch = mixed_batch(1700000000000000);
  exporter::SendResult r = sink->send(batch);
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  std::vector<Sample> got;
  for (const auto& m : sub.drain()) {
    CHECK(m.content_type == "application/json");
    for (Sample& s : samples_from_json(m.payload)) got.push_back(std::move(s));
  }
  check_same_set(got, batch);
}

TEST_CASE("mqtt export qos 2 and retain: a later subscriber gets each topic's last message",
          "[export][mqtt][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  auto sink = make_mqtt_sink(
      *sink_table(broker.uri(), "qos: 2, retain: true, topic: 'r/{measurement}', format: json"));
  REQUIRE(sink->send(mixed_batch(1)).status == SendStatus::kOk);
  const std::vector<Sample> last = counter_batch(3, 50);
  REQUIRE(sink->send(last).status == SendStatus::kOk);
  Subscriber sub(broker.port(), dir.path(), {"r/#"}, 2);
  std::map<std::string, Received> by_topic;
  for (Received& m : sub.drain()) by_topic[m.topic] = m;
  REQUIRE(by_topic.size() == 3);
  for (const auto& [topic, m] : by_topic) {
    CHECK(m.retained);
    CHECK(m.qos == 2);
  }
  check_same(samples_from_json(by_topic["r/counter"].payload), last);
  check_same_set(samples_from_json(by_topic["r/mem"].payload),
                 {mixed_batch(1)[2], mixed_batch(1)[4]});
}

TEST_CASE("mqtt export topic template: samples land on the topics of their tags and fields",
          "[export][mqtt][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Subscriber sub(broker.port(), dir.path(), {"plant/#"});
  auto sink =
      make_mqtt_sink(*sink_table(broker.uri(), "topic: 'plant/{tag:site}/{measurement}/{field}'"));
  const std::vector<Sample> batch = {
      make_sample("temp", {{"site", "a"}}, "c", 1.5, 10),
      make_sample("temp", {{"site", "b/c"}}, "c", 2.5, 11),
      make_sample("temp", {{"room", "1"}}, "c", 3.5, 12),
      make_sample("temp", {{"site", "a"}}, "f", 34.7, 13),
      make_sample("temp", {{"site", "a"}}, "c", 4.5, 14),
  };
  REQUIRE(sink->send(batch).status == SendStatus::kOk);
  std::map<std::string, std::vector<Sample>> by_topic;
  for (const auto& m : sub.drain()) {
    CHECK(by_topic.count(m.topic) == 0);
    by_topic[m.topic] = samples_from_lp(m.payload);
  }
  REQUIRE(by_topic.size() == 4);
  check_same(by_topic["plant/a/temp/c"], {batch[0], batch[4]});
  check_same(by_topic["plant/b_c/temp/c"], {batch[1]});
  check_same(by_topic["plant/_/temp/c"], {batch[2]});
  check_same(by_topic["plant/a/temp/f"], {batch[3]});
}

TEST_CASE("mqtt export lz4: FDZ1 frames decode to the uncompressed text - MQTT 3.1.1 too",
          "[export][mqtt][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Subscriber sub(broker.port(), dir.path(), {"plain/#", "z5/#", "z3/#"});
  std::vector<Sample> batch = mixed_batch(1700000000000000);
  for (const Sample& s : counter_batch(100, 1700000000000000)) batch.push_back(s);
  // One sink at a time (see Subscriber).
  for (std::string opts :
       {"topic: 'plain/{measurement}'", "topic: 'z5/{measurement}', compression: lz4",
        "topic: 'z3/{measurement}', compression: lz4, mqtt_version: '3.1.1'"}) {
    exporter::SendResult r = make_mqtt_sink(*sink_table(broker.uri(), opts))->send(batch);
    INFO(opts << ": " << r.message);
    REQUIRE(r.status == SendStatus::kOk);
  }
  std::map<std::string, std::string> text;  // topic -> (decoded) payload
  for (const auto& m : sub.drain()) {
    const std::string topic = m.topic;
    const std::string& p = m.payload;
    if (topic.starts_with("plain/")) {
      text[topic] = p;
      continue;
    }
    REQUIRE(p.size() >= 8);
    CHECK(p.substr(0, 4) == "FDZ1");
    const auto* b = reinterpret_cast<const unsigned char*>(p.data());
    const uint32_t len = b[4] | (b[5] << 8) | (b[6] << 16) | (uint32_t{b[7]} << 24);
    std::string decoded(len, '\0');
    CHECK(LZ4_decompress_safe(p.data() + 8, decoded.data(), static_cast<int>(p.size() - 8),
                              static_cast<int>(len)) == static_cast<int>(len));
    text[topic] = decoded;
    // MQTT 5 says so in a user property; MQTT 3.1.1 has only the header.
    CHECK(m.user_property == (topic.starts_with("z5/") ? "content-encoding:lz4" : ""));
  }
  REQUIRE(text.size() == 9);
  for (std::string m : {"cpu", "mem", "counter"}) {
    INFO(m);
    CHECK(text["z5/" + m] == text["plain/" + m]);
    CHECK(text["z3/" + m] == text["plain/" + m]);
  }
  CHECK(text["z5/counter"].size() > 100 * 20);
}

TEST_CASE("mqtt export max_message_bytes splits a batch into messages whose union is the batch",
          "[export][mqtt][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  const std::vector<Sample> batch = counter_batch(300, 1700000000000000);
  for (std::string opts : {"format: lp", "format: json, compression: lz4"}) {
    DYNAMIC_SECTION(opts) {
      Subscriber sub(broker.port(), dir.path(), {"split/#"});
      auto sink = make_mqtt_sink(*sink_table(
          broker.uri(), opts + ", topic: 'split/{measurement}', max_message_bytes: 1KiB"));
      exporter::SendResult r = sink->send(batch);
      INFO(r.message);
      REQUIRE(r.status == SendStatus::kOk);
      const auto msgs = sub.drain();
      CHECK(msgs.size() > 3);
      std::vector<Sample> got;
      uint64_t bytes = 0;
      for (const auto& m : msgs) {
        const std::string& p = m.payload;
        CHECK(p.size() <= 1024);
        bytes += p.size();
        if (opts == "format: lp") {
          for (Sample& s : samples_from_lp(p)) got.push_back(std::move(s));
          continue;
        }
        std::string text;
        REQUIRE(lz4_unframe(p, &text));
        for (Sample& s : samples_from_json(text)) got.push_back(std::move(s));
      }
      CHECK(r.bytes_sent == bytes);
      check_same(got, batch);  // in batch order, too
    }
  }
}

TEST_CASE("mqtt export: a sample larger than max_message_bytes rejects the batch unpublished",
          "[export][mqtt][integration]") {
  TempDir dir;
  Mosquitto broker(dir.path());
  Subscriber sub(broker.port(), dir.path(), {"flowdb/#"});
  auto sink = make_mqtt_sink(*sink_table(broker.uri(), "max_message_bytes: 256"));
  std::vector<Sample> batch = counter_batch(5, 1);
  batch.push_back(make_sample("big", {}, "s", std::string(300, 'x'), 9));
  exporter::SendResult r = sink->send(batch);
  CHECK(r.status == SendStatus::kReject);
  CHECK(r.bytes_sent == 0);
  CHECK(r.message.find("max_message_bytes is 256") != std::string::npos);
  CHECK(sub.drain().empty());
  // Unrepresentable samples are skipped and counted, the rest delivered.
  std::vector<Sample> ok = counter_batch(2, 1);
  ok.push_back(make_sample("bad", {}, "f", std::nan(""), 3));
  r = sink->send(ok);
  CHECK(r.status == SendStatus::kOk);
  CHECK(r.unsupported == 1);
  check_same(lp_samples(sub.drain()), counter_batch(2, 1));
}

TEST_CASE("mqtt export: broker down gives kRetry quickly - after a restart the next send succeeds",
          "[export][mqtt][integration]") {
  // Nothing listens: refused at once, well within the timeout.
  auto nowhere = make_mqtt_sink(
      *sink_table("tcp://127.0.0.1:" + std::to_string(testing::free_port()), "timeout: 3s"));
  auto t0 = Clock::now();
  exporter::SendResult r = nowhere->send(counter_batch(3, 1));
  CHECK(r.status == SendStatus::kRetry);
  CHECK(r.message.find("connect") != std::string::npos);
  CHECK(since(t0) < std::chrono::seconds(3));

  TempDir dir;
  Mosquitto broker(dir.path());
  auto sink = make_mqtt_sink(*sink_table(broker.uri(), "timeout: 3s"));
  REQUIRE(sink->send(counter_batch(3, 1)).status == SendStatus::kOk);
  broker.stop();
  t0 = Clock::now();
  r = sink->send(counter_batch(3, 100));
  CHECK(r.status == SendStatus::kRetry);
  CHECK(since(t0) < std::chrono::seconds(4));
  broker.start();
  Subscriber sub(broker.port(), dir.path(), {"flowdb/#"});
  r = sink->send(counter_batch(4, 200));
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  check_same(lp_samples(sub.drain()), counter_batch(4, 200));
}

TEST_CASE("mqtt export: a server that never answers CONNECT gives kRetry after the timeout",
          "[export][mqtt][integration]") {
  // A listening socket nobody accepts on: TCP connects, MQTT never answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto sink = make_mqtt_sink(
      *sink_table("tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port)), "timeout: 1s"));
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto t0 = Clock::now();
    exporter::SendResult r = sink->send(counter_batch(1, 1));
    CHECK(r.status == SendStatus::kRetry);
    CHECK(r.message.find("timed out") != std::string::npos);
    CHECK(since(t0) >= std::chrono::milliseconds(950));
    CHECK(since(t0) < std::chrono::milliseconds(3000));
  }
  ::close(fd);
}

TEST_CASE("mqtt export: a frozen broker (SIGSTOP) gives kRetry after the timeout - then recovers",
          "[export][mqtt][integration]") {
  TempDir dir;
  // Our own mosquitto, for its pid.
  const int port = testing::free_port();
  testing::write_file(dir / "m.conf",
                      "listener " + std::to_string(port) + " 127.0.0.1\nallow_anonymous true\n");
  testing::Process broker({"mosquitto", "-c", dir / "m.conf"}, dir / "m.log");
  REQUIRE(testing::wait_until([&] { return testing::tcp_accepts(port); }));
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
  Subscriber sub(port, dir.path(), {"flowdb/#"});
  // 3 s, not 1 s: Paho C 1.3's send thread can miss a wake-up and sit out its
  // 1 s poll (paho.mqtt.c #1039, #1457), so a healthy publish may take 1 s.
  auto sink = make_mqtt_sink(*sink_table(uri, "timeout: 3s"));
  exporter::SendResult r = sink->send(counter_batch(2, 1));
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  check_same(lp_samples(sub.drain()), counter_batch(2, 1));

  broker.signal(SIGSTOP);
  const auto t0 = Clock::now();
  r = sink->send(counter_batch(2, 100));
  broker.signal(SIGCONT);
  CHECK(r.status == SendStatus::kRetry);
  CHECK(r.message.find("unacknowledged") != std::string::npos);
  CHECK(since(t0) >= std::chrono::milliseconds(2950));
  CHECK(since(t0) < std::chrono::milliseconds(6000));

  r = sink->send(counter_batch(2, 200));
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  // The failed batch may have reached the broker after all (a duplicate when
  // the core resends it); the next batch is there in full.
  std::vector<Sample> next, failed;
  for (Sample& s : lp_samples(sub.drain())) (s.ts_us >= 200 ? next : failed).push_back(s);
  check_same(next, counter_batch(2, 200));
  if (!failed.empty()) check_same(failed, counter_batch(2, 100));
}
