// Throughput of the influx_http encoder (+gzip) and of whole sends to
// VictoriaMetrics. Hidden ([.]); run by hand:
//   build/http/tests/export/influx/export_influx_tests "[bench]"
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "export/http/http_client.h"
#include "export/influx/influx_http_sink.h"
#include "export/influx/influx_line_encoder.h"
#include "servers.h"

using flowdb::exporter::Sample;
using flowdb::exporter::SendStatus;

namespace {

// `n` samples: points of `fields_per_point` fields (float, int, float, ...)
// over 1000 series (2 tags), one point per series and timestamp.
std::vector<Sample> make_batch(size_t n, size_t fields_per_point, int64_t t0_us) {
  std::vector<Sample> batch;
  batch.reserve(n);
  for (size_t i = 0; batch.size() < n; ++i) {
    const std::vector<flowdb::ingest::Tag> tags = {{"gateway", "gw" + std::to_string(i % 10)},
                                                   {"sensor", "s" + std::to_string(i % 1000)}};
    for (size_t f = 0; f < fields_per_point && batch.size() < n; ++f) {
      flowdb::ingest::FieldValue v = f % 2 == 0 ? flowdb::ingest::FieldValue(20.0 + (i % 97) * 0.37)
                                                : flowdb::ingest::FieldValue(int64_t(i % 5000));
      batch.push_back({{"environment", tags, "field" + std::to_string(f)},
                       std::move(v),
                       t0_us + static_cast<int64_t>(i / 1000) * 1000});
    }
  }
  return batch;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("influx encoder and gzip throughput", "[.][bench]") {
  for (size_t fields : {1, 4}) {
    const std::vector<Sample> batch = make_batch(50'000, fields, now_us());
    flowdb::export_influx::InfluxLineEncoder enc(true);
    flowdb::export_http::GzipEncoder gz(1);
    std::string body, compressed;
    size_t samples = 0, raw_bytes = 0, gz_bytes = 0;
    double encode_s = 0, gzip_s = 0;
    while (encode_s + gzip_s < 2.0) {
      auto t0 = std::chrono::steady_clock::now();
      body.clear();
      enc.encode(batch, &body);
      encode_s += seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      REQUIRE(gz.compress(body, &compressed));
      gzip_s += seconds_since(t0);
      samples += batch.size();
      raw_bytes += body.size();
      gz_bytes += compressed.size();
    }
    std::printf(
        "%zu field(s)/point: encode %.2f M samples/s, gzip %.2f M samples/s, "
        "encode+gzip %.2f M samples/s; %.1f B/sample raw, %.1f B/sample gzip\n",
        fields, samples / encode_s / 1e6, samples / gzip_s / 1e6,
        samples / (encode_s + gzip_s) / 1e6, double(raw_bytes) / samples,
        double(gz_bytes) / samples);
  }
}

TEST_CASE("influx sends to VictoriaMetrics: end-to-end rate", "[.][bench]") {
  flowdb::testing::TempDir dir;
  flowdb::testing::VictoriaMetrics vm(dir.path());
  for (const char* api : {"v1", "v2"}) {
    for (size_t batch_size : {10'000, 50'000}) {
      const std::string target = std::string(api) == "v1" ? "database: d" : "bucket: b";
      auto t = flowdb::agent::parse_table(
          YAML::Load("{url: '" + vm.url() + "', api: " + api + ", " + target + "}"),
          flowdb::export_influx::influx_http_config_keys(), "bench", "options");
      auto sink = flowdb::export_influx::make_influx_http_sink(*t);
      const size_t total = 1'000'000;
      std::vector<std::vector<Sample>> batches;
      int64_t ts = now_us() - 3'600'000'000;
      for (size_t n = 0; n < total; n += batch_size) {
        batches.push_back(make_batch(batch_size, 4, ts));
        ts += 100'000'000;
      }
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& b : batches) REQUIRE(sink->send(b).status == SendStatus::kOk);
      const double s = seconds_since(t0);
      std::printf("%s gzip, batches of %zu: %.0f samples/s (%zu samples in %.2f s)\n", api,
                  batch_size, total / s, total, s);
    }
  }
}
