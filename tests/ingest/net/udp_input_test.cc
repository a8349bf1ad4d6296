// UDP input over real loopback sockets (IPv4 and IPv6).
#include "ingest/udp/udp_input.h"

#include <catch2/catch.hpp>

#include "net_fixture.h"
#include "stderr_capture.h"

using namespace flowdb;
using namespace flowdb::testing;
using flowdb::ingest::FieldValue;

namespace {
ingest_udp::UdpInputConfig config(std::vector<std::string> listen) {
  ingest_udp::UdpInputConfig c;
  c.name = "udp";
  c.listen = std::move(listen);
  c.max_datagram = 4096;
  c.payload.lp.max_line_bytes = 4096;
  return c;
}
}  // namespace

TEST_CASE("UDP: many lines per datagram - bad lines dropped - IPv4 and IPv6", "[udp][net]") {
  Pipeline p;
  ingest_udp::UdpInput in(config({"127.0.0.1:0", "[::1]:0"}), p.ctx());
  in.start();
  auto ports = in.bound_ports();
  REQUIRE(ports.size() == 2);
  send_udp(ports[0],
           "w,site=a t=1.5 1000000000\n"
           "w,site=a t=NaN 2000000000\n"
           "w,site=\xff h=1 3000000000\n"
           "w,site=b t=2i,s=\"x\" 1000000000\n"
           "w,site=c t=9 99999999999999999999999\n");
  send_udp(ports[1], "w,site=v6 t=6u 1000000000\n", /*v6=*/true);
  REQUIRE(wait_until(
      [&] { return p.metric("flowdb_input_records_stored_total{input=\"udp\"}") == 4; }));
  CHECK(p.value("w", {{"site", "a"}}, "t", 1000000) == FieldValue(1.5));
  CHECK(p.value("w", {{"site", "b"}}, "t", 1000000) == FieldValue(int64_t{2}));
  CHECK(p.value("w", {{"site", "b"}}, "s", 1000000) == FieldValue(std::string("x")));
  CHECK(p.value("w", {{"site", "v6"}}, "t", 1000000) == FieldValue(uint64_t{6}));
  CHECK(p.count("w") == 4);
  CHECK(p.metric("flowdb_input_parse_errors_total{input=\"udp\",reason=\"nan_or_inf\"}") == 1);
  CHECK(p.metric("flowdb_input_parse_errors_total{input=\"udp\",reason=\"invalid_utf8\"}") == 1);
  CHECK(p.metric(
            "flowdb_input_parse_errors_total{input=\"udp\",reason=\"timestamp_out_of_range\"}") ==
        1);
  CHECK(p.metric("flowdb_input_messages_received_total{input=\"udp\"}") == 2);
  in.stop();
}

TEST_CASE("UDP: oversized datagram counted - the next one still works", "[udp][net]") {
  Pipeline p;
  ingest_udp::UdpInput in(config({"127.0.0.1:0"}), p.ctx());
  in.start();
  int port = in.bound_ports()[0];
  send_udp(port, std::string(5000, 'x'));
  send_udp(port, "ok v=1 1000000000\n");
  REQUIRE(wait_until(
      [&] { return p.metric("flowdb_input_records_stored_total{input=\"udp\"}") == 1; }));
  // A datagram, not a point: its points are unknown.
  CHECK(
      p.metric("flowdb_input_payloads_dropped_total{input=\"udp\",reason=\"payload_too_large\"}") ==
      1);
  CHECK(p.metric("flowdb_input_points_dropped_total{input=\"udp\",reason=\"payload_too_large\"}") <=
        0);  // not a point reason
}

TEST_CASE("UDP: bind failure names the address - stop is prompt", "[udp][net]") {
  Pipeline p;
  ingest_udp::UdpInput a(config({"127.0.0.1:0"}), p.ctx());
  a.start();
  ingest_udp::UdpInput b(config({"127.0.0.1:" + std::to_string(a.bound_ports()[0])}), p.ctx());
  CHECK_THROWS_WITH(b.start(), Catch::Matchers::Contains("cannot bind 127.0.0.1:"));
  auto t0 = std::chrono::steady_clock::now();
  a.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
}

TEST_CASE("UDP: sustained load - every point stored or counted", "[udp][net]") {
  Pipeline p;
  ingest_udp::UdpInput in(config({"127.0.0.1:0"}), p.ctx());
  in.start();
  int port = in.bound_ports()[0];
  const int kDatagrams = 2000, kLines = 25;
  for (int i = 0; i < kDatagrams; ++i) {
    std::string d;
    for (int k = 0; k < kLines; ++k) {
      d += "s,id=" + std::to_string(k) + " v=" + std::to_string(i) + "i " +
           std::to_string(1000000000LL * (i + 1)) + "\n";
    }
    send_udp(port, d);
  }
  auto total = [&] {
    return p.metric("flowdb_input_records_stored_total{input=\"udp\"}") +
           std::max(0.0, p.metric("flowdb_input_payloads_dropped_total{input=\"udp\",reason="
                                  "\"socket_overflow\"}")) *
               kLines +
           std::max(
               0.0,
               p.metric("flowdb_input_points_dropped_total{input=\"udp\",reason=\"queue_full\"}"));
  };
  REQUIRE(wait_until([&] { return total() >= kDatagrams * kLines; }));
  CHECK(p.count("s") ==
        static_cast<size_t>(p.metric("flowdb_input_records_stored_total{input=\"udp\"}")));
}

TEST_CASE("UDP: a full queue drops whole points and counts them in points", "[udp][net]") {
  auto o = Pipeline::fast_batches();
  o.queue_max_records = 4;
  Pipeline p(o, /*start_batcher=*/false);  // nothing leaves the queue yet
  ingest_udp::UdpInput in(config({"127.0.0.1:0"}), p.ctx());
  in.start();
  int port = in.bound_ports()[0];
  // 3 points of 2 fields: 6 records, admitted since the queue is empty.
  send_udp(port,
           "q,id=1 a=1,b=2 1000000000\nq,id=2 a=3,b=4 1000000000\nq,id=3 a=5,b=6 1000000000\n");
  REQUIRE(wait_until([&] { return p.batcher->queued_records() == 6; }));
  // 2 more points (4 records) find no room: 2 points dropped, not 4 records.
  send_udp(port, "q,id=4 a=7,b=8 1000000000\nq,id=5 a=9,b=10 1000000000\n");
  REQUIRE(wait_until([&] {
    return p.metric("flowdb_input_points_dropped_total{input=\"udp\",reason=\"queue_full\"}") == 2;
  }));
  p.batcher->start();
  REQUIRE(wait_until(
      [&] { return p.metric("flowdb_input_records_stored_total{input=\"udp\"}") == 6; }));
  CHECK(p.value("q", {{"id", "3"}}, "b", 1000000) == FieldValue(6.0));
  CHECK(p.count("q") == 6);
  CHECK(p.metric("flowdb_input_points_received_total{input=\"udp\"}") == 5);
  in.stop();
}

TEST_CASE("UDP: expired and colliding points are dropped - logged with the peer address",
          "[udp][net]") {
  Pipeline p;
  p.ttl.set(ingest::TtlRules({}, 30u * 86400));
  ingest_udp::UdpInput in(config({"127.0.0.1:0"}), p.ctx());
  in.start();
  StderrCapture err;
  const int64_t now_ns = agent::now_us() * 1000;
  const int64_t day_ns = 86400LL * 1000000000;
  const int64_t recent_us = (now_ns - day_ns) / 1000;
  const std::string recent = std::to_string(recent_us);  // + 3 ns digits: same microsecond
  send_udp(in.bound_ports()[0], "e v=1 " + std::to_string(now_ns - 31 * day_ns) +
                                    "\ne v=2 1\ne v=3 -1\n" + "e v=4 " + recent + "001\ne v=5 " +
                                    recent + "999\n");
  REQUIRE(wait_until([&] {
    return p.metric("flowdb_input_points_dropped_total{input=\"udp\",reason=\"expired\"}") == 3;
  }));
  REQUIRE(wait_until(
      [&] { return p.metric("flowdb_input_records_stored_total{input=\"udp\"}") == 1; }));
  CHECK(
      p.metric("flowdb_input_points_dropped_total{input=\"udp\",reason=\"duplicate_timestamp\"}") ==
      1);
  CHECK(p.count("e") == 1);  // records_stored is what can be read back
  CHECK(p.metric("flowdb_input_points_received_total{input=\"udp\"}") == 5);
  CHECK_THAT(err.text(), Catch::Matchers::Contains("(expired) from 127.0.0.1:"));
  in.stop();
}
