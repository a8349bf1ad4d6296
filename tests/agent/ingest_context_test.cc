// PayloadRecords: expired points and microsecond collisions are dropped at the
// input, counted and logged with the sender; nothing dropped counts as stored.
#include "agent/core/ingest_context.h"

#include <netinet/in.h>

#include <catch2/catch.hpp>

#include "agent/core/payload.h"
#include "agent_util.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"
#include "stderr_capture.h"

using namespace flowdb;
using namespace flowdb::agent;
using Catch::Matchers::Contains;

namespace {
constexpr int64_t kDay = 86400LL * 1000000;

struct Input {
  Metrics metrics;
  LiveTtlRules ttl;
  RateLimiter log{std::chrono::milliseconds(0)};
  IngestContext ctx{nullptr, &metrics, &ttl, &log};
  PayloadRecords records{ctx, "in"};
  PayloadDecoder decoder{PayloadOptions{}};  // line protocol, ns

  // Parses `lp` as one payload received at `now` from `from`.
  void payload(const std::string& lp, int64_t now, Sender from = {"test"}) {
    records.begin(ttl.get(), now, from);
    decoder.parse(
        lp, now, [&](const ingest::Point& p) { records.add(p); },
        [&](const ingest::ParseError& e) { ctx.parse_error("in", e, from); });
    records.end();
  }
  double metric(const std::string& name) {
    return testing::metric_value(metrics.serialize(nullptr), name);
  }
};
}  // namespace

TEST_CASE("points older than their TTL are dropped as expired - not stored", "[ingest_context]") {
  Input in;
  in.ttl.set(ingest::TtlRules({}, 30u * 86400));
  const int64_t now = 1000 * kDay;
  const std::string old31 = std::to_string((now - 31 * kDay) * 1000);
  const std::string new1 = std::to_string((now - 1 * kDay) * 1000);
  testing::StderrCapture err;
  in.payload("cpu v=1 " + old31 + "\ncpu v=2 1\ncpu v=3 -5000000000\ncpu v=4 " + new1 + "\n", now);
  CHECK(in.records.points() == 1);
  std::vector<Record> r = in.records.take();
  REQUIRE(r.size() == 1);
  CHECK(r[0].ts == now - kDay);
  CHECK(in.metric("flowdb_input_points_dropped_total{input=\"in\",reason=\"expired\"}") == 3);
  CHECK_THAT(err.text(), Contains("WARN in: dropped 3 point(s) (expired) from test"));
  // Without a TTL the same points are kept.
  Input keep;
  keep.payload("cpu v=1 " + old31 + "\ncpu v=2 1\n", now);
  CHECK(keep.records.take().size() == 2);
}

TEST_CASE("ns timestamps that collide in microseconds keep the last point - counted",
          "[ingest_context]") {
  Input in;
  testing::StderrCapture err;
  in.payload(
      "m,s=a v=1 1700000000000001001\nm,s=a v=2 1700000000000001002\n"
      "m,s=a v=3 1700000000000001999\nm,s=b v=9 1700000000000001001\n",
      0);
  CHECK(in.records.points() == 2);
  std::vector<Record> r = in.records.take();
  REQUIRE(r.size() == 2);  // what can be read back
  CHECK(r[0].ts == 1700000000000001);
  const std::vector<ingest::Tag> tags{{"s", "a"}};
  CHECK(r[0].key == ingest::series_key("m", tags, "v"));
  ingest::FieldValue v;
  REQUIRE(ingest::decode_value(r[0].value, &v));
  CHECK(v == ingest::FieldValue(3.0));  // the last of the three
  CHECK(in.metric(
            "flowdb_input_points_dropped_total{input=\"in\",reason=\"duplicate_timestamp\"}") == 2);
  CHECK_THAT(err.text(), Contains("(duplicate_timestamp) from test"));
  // A point whose fields are only partly overwritten is merged, not dropped.
  in.payload("p a=1,b=2 5000\np a=3 5000\n", 0);
  CHECK(in.records.points() == 2);
  CHECK(in.records.take().size() == 2);  // p.b of the first, p.a of the second
  CHECK(in.metric(
            "flowdb_input_points_dropped_total{input=\"in\",reason=\"duplicate_timestamp\"}") == 2);
}

TEST_CASE("the survivor of a collision is the later point's value", "[ingest_context]") {
  Input in;
  in.payload("m v=1 1001\nm v=2 1999\n", 0);
  std::vector<Record> r = in.records.take();
  REQUIRE(r.size() == 1);
  Input other;
  other.payload("m v=2 1999\n", 0);
  CHECK(r[0].value == other.records.take()[0].value);
}

TEST_CASE("drop warnings name the sender: UDP peer address or MQTT topic", "[ingest_context]") {
  sockaddr_storage v4{}, v6{};
  auto* a = reinterpret_cast<sockaddr_in*>(&v4);
  a->sin_family = AF_INET;
  a->sin_port = htons(5000);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto* b = reinterpret_cast<sockaddr_in6*>(&v6);
  b->sin6_family = AF_INET6;
  b->sin6_port = htons(6000);
  b->sin6_addr = in6addr_loopback;
  CHECK(Sender{"", &v4}.str() == "127.0.0.1:5000");
  CHECK(Sender{"", &v6}.str() == "[::1]:6000");
  CHECK(Sender{"topic a/b"}.str() == "topic a/b");
  Input in;
  testing::StderrCapture err;
  in.payload("broken\n", 0, Sender{"", &v4});
  in.ctx.drop_payload("in", "payload_too_large", Sender{"topic a/b"}, "too big");
  CHECK_THAT(err.text(), Contains("dropped bad input (no_fields) from 127.0.0.1:5000 line 1"));
  CHECK_THAT(err.text(), Contains("dropped a payload (payload_too_large) from topic a/b: too big"));
  CHECK(in.metric(
            "flowdb_input_payloads_dropped_total{input=\"in\",reason=\"payload_too_large\"}") == 1);
}
