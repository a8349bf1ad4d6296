// prometheus_remote_write against real servers: Prometheus 2.x (values, ms
// timestamps and labels read back through the query API; an out-of-order
// sample is kReject; outage and restart) and VictoriaMetrics /api/v1/write.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <map>

#include "export/prometheus/remote_write_encoder.h"
#include "export/prometheus/remote_write_sink.h"
#include "servers.h"

using flowdb::exporter::Sample;
using flowdb::exporter::SendStatus;
using flowdb::ingest::FieldValue;
using flowdb::ingest::Tag;
using flowdb::testing::make_sample;
using flowdb::testing::Prometheus;
using flowdb::testing::TempDir;
using flowdb::testing::VictoriaMetrics;
namespace json = boost::json;

namespace {

std::unique_ptr<flowdb::exporter::Sink> make_sink(const std::string& url) {
  return flowdb::testing::sink_from_yaml(
      flowdb::export_prometheus::prometheus_remote_write_config_keys(),
      flowdb::export_prometheus::make_prometheus_remote_write_sink,
      "{url: '" + url + "', timeout: 5s}");
}

using Points = std::vector<std::pair<int64_t, double>>;  // (ms, value)

// The series of a Prometheus matrix answer: "k=v,..." (without __name__) -> points.
std::map<std::string, Points> prom_matrix(const std::string& body) {
  const json::value doc = json::parse(body);
  REQUIRE(json::value_to<std::string>(doc.at("status")) == "success");
  std::map<std::string, Points> out;
  for (const json::value& s : doc.at("data").at("result").as_array()) {
    std::string key;
    for (const auto& [k, v] : s.at("metric").as_object()) {
      if (k != "__name__") key += std::string(k) + "=" + json::value_to<std::string>(v) + ",";
    }
    Points& pts = out[key];
    for (const json::value& p : s.at("values").as_array()) {
      const double secs = p.at(0).to_number<double>();
      pts.emplace_back(std::llround(secs * 1000), std::stod(json::value_to<std::string>(p.at(1))));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("remote write to Prometheus stores values at millisecond timestamps",
          "[export][prometheus][promserver]") {
  TempDir dir;
  Prometheus prom(dir.path());
  auto sink = make_sink(prom.remote_write_url());
  const int64_t t0 = flowdb::testing::recent_ts_us();
  const std::vector<Tag> tags = {{"host", "gw 1"}, {"zone.id", "z"}};
  const std::vector<Sample> batch = {
      make_sample("env", tags, "temp", 21.5, t0 + 2000),
      make_sample("env", tags, "temp", 20.25, t0),  // out of order within the batch
      make_sample("env", tags, "temp", 21.0, t0 + 1000),
      make_sample("env", {{"host", "gw2"}}, "temp", -4.5, t0),
      make_sample("env", tags, "count", int64_t{42}, t0),
      make_sample("env", tags, "ok", true, t0 + 999),  // 999 µs: same millisecond as t0
      make_sample("env", tags, "name", std::string("x"), t0),
  };
  const auto r = sink->send(batch);
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  CHECK(r.http_status == 204);
  CHECK(r.unsupported == 1);
  const int64_t ms = t0 / 1000;
  CHECK(prom_matrix(prom.query("env_temp[1h]")) ==
        std::map<std::string, Points>{
            {"host=gw 1,zone_id=z,", {{ms, 20.25}, {ms + 1, 21.0}, {ms + 2, 21.5}}},
            {"host=gw2,", {{ms, -4.5}}}});
  CHECK(prom_matrix(prom.query("env_count[1h]")) ==
        std::map<std::string, Points>{{"host=gw 1,zone_id=z,", {{ms, 42}}}});
  CHECK(prom_matrix(prom.query("env_ok[1h]")) ==
        std::map<std::string, Points>{{"host=gw 1,zone_id=z,", {{ms, 1}}}});
}

TEST_CASE("Prometheus refuses an out-of-order sample: kReject",
          "[export][prometheus][promserver]") {
  TempDir dir;
  Prometheus prom(dir.path());
  auto sink = make_sink(prom.remote_write_url());
  const int64_t t0 = flowdb::testing::recent_ts_us();
  REQUIRE(sink->send(std::vector<Sample>{make_sample("m", {}, "f", 1.0, t0 + 5000)}).status ==
          SendStatus::kOk);
  const auto r = sink->send(std::vector<Sample>{make_sample("m", {}, "f", 2.0, t0)});
  CHECK(r.status == SendStatus::kReject);
  CHECK(r.http_status == 400);
  CHECK_THAT(r.message, Catch::Contains("out of order"));
}

TEST_CASE("remote write to a stopped Prometheus is kRetry and after a restart it is delivered",
          "[export][prometheus][promserver]") {
  TempDir dir;
  Prometheus prom(dir.path());
  auto sink = make_sink(prom.remote_write_url());
  const int64_t t0 = flowdb::testing::recent_ts_us();
  const std::vector<Sample> batch = {make_sample("up2", {}, "v", 1.0, t0)};
  REQUIRE(sink->send(batch).status == SendStatus::kOk);
  prom.stop();
  const std::vector<Sample> next = {make_sample("up2", {}, "v", 2.0, t0 + 1000)};
  const auto down = sink->send(next);
  CHECK(down.status == SendStatus::kRetry);
  CHECK(down.http_status == 0);
  prom.start();
  const auto up = sink->send(next);
  INFO(up.message);
  CHECK(up.status == SendStatus::kOk);
  CHECK(prom_matrix(prom.query("up2_v[1h]")) ==
        std::map<std::string, Points>{{"", {{t0 / 1000, 1.0}, {t0 / 1000 + 1, 2.0}}}});
}

TEST_CASE("remote write to VictoriaMetrics /api/v1/write", "[export][prometheus][vm]") {
  TempDir dir;
  VictoriaMetrics vm(dir.path());
  auto sink = make_sink(vm.url() + "/api/v1/write");
  const int64_t t0 = flowdb::testing::recent_ts_us();
  const std::vector<Sample> batch = {
      make_sample("rw", {{"k", "v"}}, "a", 1.5, t0),
      make_sample("rw", {{"k", "v"}}, "a", 2.5, t0 + 1000),
      make_sample("rw", {{"k", "v"}}, "b", uint64_t{7}, t0),
  };
  const auto r = sink->send(batch);
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  CHECK(r.http_status == 204);
  const auto got = vm.export_series("{__name__=~\"rw_.*\"}");
  const int64_t ms = t0 / 1000;
  CHECK(got == std::map<std::string, Points>{{"rw_a{k=v}", {{ms, 1.5}, {ms + 1, 2.5}}},
                                             {"rw_b{k=v}", {{ms, 7}}}});
}

TEST_CASE("remote write encoder and VictoriaMetrics send rate", "[.][bench]") {
  // 50,000 samples: 4 fields of 1,000 series (2 tags) at 12.5 timestamps each.
  std::vector<std::vector<Sample>> batches;
  int64_t ts = flowdb::testing::recent_ts_us() - 3'600'000'000;
  for (int b = 0; b < 20; ++b) {
    std::vector<Sample> batch;
    for (int i = 0; batch.size() < 50'000; ++i) {
      const std::vector<Tag> tags = {{"gateway", "gw" + std::to_string(i % 10)},
                                     {"sensor", "s" + std::to_string(i % 1000)}};
      for (int f = 0; f < 4; ++f) {
        batch.push_back(make_sample("environment", tags, "field" + std::to_string(f), 0.37 * i,
                                    ts + (i / 1000) * 1000));
      }
    }
    ts += 100'000'000;
    batches.push_back(std::move(batch));
  }
  flowdb::export_prometheus::RemoteWriteEncoder enc;
  std::string body;
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& b : batches) enc.encode(b, &body);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("remote write encode+snappy: %.2f M samples/s, %.1f B/sample\n",
              20 * 50'000 / s / 1e6, double(body.size()) / 50'000);
  TempDir dir;
  VictoriaMetrics vm(dir.path());
  auto sink = make_sink(vm.url() + "/api/v1/write");
  t0 = std::chrono::steady_clock::now();
  for (const auto& b : batches) REQUIRE(sink->send(b).status == SendStatus::kOk);
  s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("remote write to VictoriaMetrics, batches of 50000: %.0f samples/s\n",
              20 * 50'000 / s);
}
