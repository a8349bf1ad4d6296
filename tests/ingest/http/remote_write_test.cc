// Prometheus remote write 1.0 receive (POST /api/v1/write) of the HTTP input:
// hand-built WriteRequests, bad bodies, and the body the agent's own
// prometheus_remote_write export sends.
#include <snappy.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "agent/http_server.h"
#include "export/prometheus/remote_write_encoder.h"
#include "ingest/http/http_input.h"
#include "ingest/value_codec.h"
#include "net_fixture.h"
#include "prompb/remote.pb.h"

using namespace flowdb;
using namespace flowdb::testing;
using flowdb::ingest::FieldValue;

namespace {

struct Receiver {
  Pipeline p;
  agent::HttpServer http{"127.0.0.1:0", hooks()};
  std::unique_ptr<ingest_http::HttpInput> input;

  Receiver() {
    ingest_http::HttpInputConfig c;
    c.name = "prom";
    c.max_body_bytes = 1 << 16;
    agent::IngestContext ctx = p.ctx();
    ctx.http = &http;
    input = std::make_unique<ingest_http::HttpInput>(c, ctx);
    input->start();
  }
  ~Receiver() { input->stop(); }
  agent::HttpHooks hooks() {
    agent::HttpHooks h;
    h.metrics_text = [] { return std::string(); };
    h.ready = [](std::string*) { return true; };
    h.engine = p.engine.get();
    return h;
  }
  HttpResponse post(const std::string& body) {
    return http_request("POST", http.port(), "/api/v1/write", body,
                        "Content-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\n"
                        "X-Prometheus-Remote-Write-Version: 0.1.0\r\n");
  }
};

std::string compress(const prometheus::WriteRequest& req) {
  std::string raw, out;
  req.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

void label(prometheus::TimeSeries* ts, const std::string& name, const std::string& value) {
  auto* l = ts->add_labels();
  l->set_name(name);
  l->set_value(value);
}

void sample(prometheus::TimeSeries* ts, double v, int64_t ms) {
  auto* s = ts->add_samples();
  s->set_value(v);
  s->set_timestamp(ms);
}

}  // namespace

TEST_CASE("Remote write: samples become __name__ measurements with field value", "[http][net]") {
  Receiver r;
  prometheus::WriteRequest req;
  auto* up = req.add_timeseries();
  label(up, "__name__", "up");
  label(up, "empty", "");
  label(up, "instance", "b:9100");
  label(up, "job", "node");
  sample(up, 1, 1700000000123);
  sample(up, 0, 1700000001123);
  sample(up, -std::numeric_limits<double>::infinity(), 1700000002123);         // kept as sent
  sample(up, std::bit_cast<double>(ingest::kStaleMarkerBits), 1700000003123);  // StaleNaN
  auto* nameless = req.add_timeseries();
  label(nameless, "job", "x");
  sample(nameless, 5, 1700000000000);
  auto resp = r.post(compress(req));
  CHECK(resp.status == 204);
  const std::vector<ingest::Tag> tags = {{"instance", "b:9100"}, {"job", "node"}};
  CHECK(r.p.value("up", tags, "value", 1700000000123000) == FieldValue(1.0));
  CHECK(r.p.value("up", tags, "value", 1700000001123000) == FieldValue(0.0));
  // -Inf and the staleness marker are stored, as value types of their own
  // (no line-protocol field value), and read back as Prometheus samples.
  CHECK(r.p.count("up") == 4);
  auto inf = r.p.engine->get(ingest::series_key("up", tags, "value"), 1700000002123000);
  REQUIRE(inf);
  double d = 0;
  REQUIRE(ingest::prom_sample_value(inf->value, &d));
  CHECK(d == -std::numeric_limits<double>::infinity());
  auto stale = r.p.engine->get(ingest::series_key("up", tags, "value"), 1700000003123000);
  REQUIRE(stale);
  CHECK(ingest::is_stale_marker(stale->value));
  CHECK(r.p.metric(
            "flowdb_input_points_dropped_total{input=\"prom\",reason=\"missing_measurement\"}") ==
        1);
}

TEST_CASE("Remote write: bad snappy or protobuf is 400 - other encodings 415", "[http][net]") {
  Receiver r;
  CHECK(r.post("definitely not snappy").status == 400);
  std::string junk;
  const std::string bad_proto = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  snappy::Compress(bad_proto.data(), bad_proto.size(), &junk);
  auto resp = r.post(junk);
  CHECK(resp.status == 400);
  CHECK_THAT(resp.body, Catch::Matchers::Contains("protobuf"));
  CHECK(http_request("POST", r.http.port(), "/api/v1/write", "x", "Content-Encoding: gzip\r\n")
            .status == 415);
  CHECK(r.p.count("") == 0);
}

TEST_CASE("Remote write: what the prometheus_remote_write export sends is stored",
          "[http][net][export]") {
  Receiver r;
  std::vector<exporter::Sample> batch = {
      {{"cpu", {{"host", "a"}}, "usage"}, FieldValue(0.5), 1700000000123456},
      {{"cpu", {{"host", "a"}}, "usage"}, FieldValue(int64_t{2}), 1700000001000000},
  };
  export_prometheus::RemoteWriteEncoder enc;
  std::string body;
  REQUIRE(enc.encode(batch, &body).samples == 2);
  CHECK(r.post(body).status == 204);
  // The export names the metric <measurement>_<field>; the input stores it
  // as that measurement with field "value", at millisecond resolution.
  CHECK(r.p.value("cpu_usage", {{"host", "a"}}, "value", 1700000000123000) == FieldValue(0.5));
  CHECK(r.p.value("cpu_usage", {{"host", "a"}}, "value", 1700000001000000) == FieldValue(2.0));
}
