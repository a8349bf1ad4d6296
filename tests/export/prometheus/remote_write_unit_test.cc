// prometheus_remote_write without a real server: name sanitizing, the
// WriteRequest the encoder builds (parsed back with the generated classes
// after snappy), config validation, and the request the sink sends.
#include <snappy.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "export/prometheus/remote_write_encoder.h"
#include "export/prometheus/remote_write_sink.h"
#include "servers.h"

using flowdb::export_prometheus::make_prometheus_remote_write_sink;
using flowdb::export_prometheus::prometheus_remote_write_config_keys;
using flowdb::export_prometheus::RemoteWriteEncoder;
using flowdb::export_prometheus::sanitize_label_name;
using flowdb::export_prometheus::sanitize_metric_name;
using flowdb::exporter::Sample;
using flowdb::exporter::SendStatus;
using flowdb::ingest::FieldValue;
using flowdb::ingest::Tag;
using flowdb::testing::make_sample;

namespace {

// Decodes a body: snappy, then the generated WriteRequest parser.
prometheus::WriteRequest decode(const std::string& body) {
  std::string raw;
  REQUIRE(snappy::Uncompress(body.data(), body.size(), &raw));
  prometheus::WriteRequest req;
  REQUIRE(req.ParseFromString(raw));
  return req;
}

// "name{k=v,...}" of a TimeSeries, labels in wire order.
std::string labels_of(const prometheus::TimeSeries& ts) {
  std::string s;
  for (const auto& l : ts.labels()) s += l.name() + "=" + l.value() + ",";
  return s;
}

std::vector<std::pair<int64_t, double>> samples_of(const prometheus::TimeSeries& ts) {
  std::vector<std::pair<int64_t, double>> out;
  for (const auto& s : ts.samples()) out.emplace_back(s.timestamp(), s.value());
  return out;
}

std::unique_ptr<flowdb::exporter::Sink> make_sink(const std::string& yaml) {
  return flowdb::testing::sink_from_yaml(prometheus_remote_write_config_keys(),
                                         make_prometheus_remote_write_sink, yaml);
}

std::string config_error(const std::string& yaml) {
  return flowdb::testing::config_error_of(prometheus_remote_write_config_keys(),
                                          make_prometheus_remote_write_sink, yaml);
}

}  // namespace

TEST_CASE("metric and label names are sanitized", "[export][prometheus]") {
  CHECK(sanitize_metric_name("cpu", "usage") == "cpu_usage");
  CHECK(sanitize_metric_name("cpu.load", "1m") == "cpu_load_1m");
  CHECK(sanitize_metric_name("1wire", "temp") == "_1wire_temp");
  CHECK(sanitize_metric_name("a:b", "c-d e") == "a:b_c_d_e");
  CHECK(sanitize_metric_name("température", "°C") == "temp_rature__C");  // one '_' per character
  CHECK(sanitize_label_name("host") == "host");
  CHECK(sanitize_label_name("a:b") == "a_b");
  CHECK(sanitize_label_name("9lives") == "_9lives");
  CHECK(sanitize_label_name("Zone-ID") == "Zone_ID");
}

TEST_CASE("samples become one time series per series, in timestamp order", "[export][prometheus]") {
  const std::vector<Tag> gw1 = {{"host", "gw1"}, {"room", "r 1"}};
  const std::vector<Sample> batch = {
      make_sample("cpu", gw1, "usage", 0.5, 1700000000003999),
      make_sample("cpu", {{"host", "gw2"}}, "usage", 0.7, 1700000000001000),
      make_sample("cpu", gw1, "usage", 0.25, 1700000000001000),  // earlier: goes first
      make_sample("cpu", gw1, "procs", int64_t{-87}, 1700000000002000),
      make_sample("cpu", gw1, "big", uint64_t{1} << 53, 1700000000002000),
      make_sample("cpu", gw1, "up", true, 1700000000002000),
      make_sample("cpu", gw1, "down", false, 1700000000002000),
      make_sample("cpu", gw1, "note", std::string("text"), 1700000000002000),
      make_sample("neg", {}, "t", 1.0, -1),  // before 1970: floor to -1 ms
  };
  RemoteWriteEncoder enc;
  std::string body;
  const RemoteWriteEncoder::Stats st = enc.encode(batch, &body);
  CHECK(st.series == 7);
  CHECK(st.samples == 8);
  CHECK(st.unsupported == 1);  // the string
  const prometheus::WriteRequest req = decode(body);
  std::map<std::string, std::vector<std::pair<int64_t, double>>> got;
  for (const auto& ts : req.timeseries()) got[labels_of(ts)] = samples_of(ts);
  using S = std::vector<std::pair<int64_t, double>>;
  CHECK(got == std::map<std::string, S>{
                   {"__name__=cpu_usage,host=gw1,room=r 1,",
                    {{1700000000001, 0.25}, {1700000000003, 0.5}}},
                   {"__name__=cpu_usage,host=gw2,", {{1700000000001, 0.7}}},
                   {"__name__=cpu_procs,host=gw1,room=r 1,", {{1700000000002, -87}}},
                   {"__name__=cpu_big,host=gw1,room=r 1,", {{1700000000002, 9007199254740992.0}}},
                   {"__name__=cpu_up,host=gw1,room=r 1,", {{1700000000002, 1}}},
                   {"__name__=cpu_down,host=gw1,room=r 1,", {{1700000000002, 0}}},
                   {"__name__=neg_t,", {{-1, 1}}},
               });
}

TEST_CASE("labels are sorted bytewise with sanitized names", "[export][prometheus]") {
  RemoteWriteEncoder enc;
  std::string body;
  enc.encode(std::vector<Sample>{make_sample(
                 "m", {{"Zone", "z"}, {"a.b", "1"}, {"empty", ""}, {"zz", "2"}}, "f", 1.0, 0)},
             &body);
  const prometheus::WriteRequest req = decode(body);
  REQUIRE(req.timeseries_size() == 1);
  // 'Z' < '_' < 'a': __name__ is first unless a name starts upper-case.
  // Empty values are left out (Prometheus treats them as absent).
  CHECK(labels_of(req.timeseries(0)) == "Zone=z,__name__=m_f,a_b=1,zz=2,");
}

TEST_CASE("two samples in one millisecond keep the later one", "[export][prometheus]") {
  RemoteWriteEncoder enc;
  std::string body;
  const auto st = enc.encode(std::vector<Sample>{make_sample("m", {}, "f", 3.0, 5999),
                                                 make_sample("m", {}, "f", 1.0, 5000),
                                                 make_sample("m", {}, "f", 2.0, 5500),
                                                 make_sample("m", {}, "f", 4.0, 6000)},
                             &body);
  CHECK(st.samples == 2);
  CHECK(st.unsupported == 2);
  const auto req = decode(body);
  REQUIRE(req.timeseries_size() == 1);
  CHECK(samples_of(req.timeseries(0)) ==
        std::vector<std::pair<int64_t, double>>{{5, 3.0}, {6, 4.0}});
}

TEST_CASE("series whose label names collide are skipped", "[export][prometheus]") {
  RemoteWriteEncoder enc;
  std::string body;
  const auto st =
      enc.encode(std::vector<Sample>{make_sample("m", {{"a-b", "1"}, {"a.b", "2"}}, "f", 1.0, 1000),
                                     make_sample("m", {{"a-b", "1"}, {"a.b", "2"}}, "f", 2.0, 2000),
                                     make_sample("m", {{"__name__", "x"}}, "f", 1.0, 1000),
                                     make_sample("m", {{"a-b", "1"}}, "f", 1.0, 1000)},
                 &body);
  CHECK(st.unsupported == 3);
  CHECK(st.series == 1);
  const auto req = decode(body);
  REQUIRE(req.timeseries_size() == 1);
  CHECK(labels_of(req.timeseries(0)) == "__name__=m_f,a_b=1,");
}

TEST_CASE("a batch of strings only encodes to nothing", "[export][prometheus]") {
  RemoteWriteEncoder enc;
  std::string body = "stale";
  const auto st =
      enc.encode(std::vector<Sample>{make_sample("m", {}, "s", std::string("x"), 1)}, &body);
  CHECK(st.unsupported == 1);
  CHECK(st.samples == 0);
  CHECK(body.empty());
}

TEST_CASE("the encoder is reusable across batches", "[export][prometheus]") {
  RemoteWriteEncoder enc;
  std::string body;
  for (int i = 0; i < 3; ++i) {
    std::vector<Sample> batch;
    for (int s = 0; s <= i; ++s)
      batch.push_back(make_sample("m", {}, "f" + std::to_string(s), 1.0 * i, 1000 * i));
    enc.encode(batch, &body);
    const auto req = decode(body);
    CHECK(req.timeseries_size() == i + 1);
    CHECK(req.timeseries(0).samples_size() == 1);
    CHECK(req.timeseries(0).samples(0).value() == 1.0 * i);
    CHECK(req.timeseries(0).labels_size() == 1);
  }
}

TEST_CASE("prometheus_remote_write config errors name the key", "[export][prometheus][config]") {
  CHECK_THAT(config_error("{}"), Catch::Contains("exports[0].url: missing"));
  CHECK_THAT(config_error("{url: 'tcp://x'}"),
             Catch::Contains("url: 'tcp://x' must start with http:// or https://"));
  CHECK_THAT(config_error("{url: 'http://x', password: p}"),
             Catch::Contains("username: required with a password"));
  CHECK_THAT(config_error("{url: 'http://x', username: u, password: p, bearer_token: t}"),
             Catch::Contains("bearer_token: give either username/password or a token"));
  CHECK_THAT(config_error("{url: 'http://x', bearer_token_file: /nonexistent}"),
             Catch::Contains("bearer_token_file: cannot read '/nonexistent'"));
  CHECK_THAT(config_error("{url: 'http://x', tls: {cert_file: /etc/hostname}}"),
             Catch::Contains("tls.key_file: cert_file and key_file go together"));
  CHECK_NOTHROW(make_sink("{url: 'http://x/api/v1/write?extra_label=a=b'}"));
}

TEST_CASE("prometheus_remote_write sends the remote-write headers and body",
          "[export][prometheus]") {
  flowdb::testing::StubHttpServer server;
  flowdb::testing::TempDir dir;
  flowdb::testing::write_file(dir / "token", "tok123\n");
  auto sink = make_sink("{url: '" + server.url() + "/api/v1/write', bearer_token_file: '" +
                        (dir / "token") + "'}");
  CHECK(sink->type() == "prometheus_remote_write");
  const std::vector<Sample> batch = {make_sample("m", {}, "f", 1.5, 1700000000000000),
                                     make_sample("m", {}, "s", std::string("x"), 1)};
  const auto r = sink->send(batch);
  CHECK(r.status == SendStatus::kOk);
  CHECK(r.unsupported == 1);
  const std::string req = server.last_request();
  CHECK(req.rfind("POST /api/v1/write HTTP/1.1\r\n", 0) == 0);
  for (const char* h : {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
                        "X-Prometheus-Remote-Write-Version: 0.1.0", "User-Agent: flowdb",
                        "Authorization: Bearer tok123"}) {
    CHECK(req.find(std::string("\r\n") + h + "\r\n") != std::string::npos);
  }
  const std::string body = req.substr(req.find("\r\n\r\n") + 4);
  CHECK(r.bytes_sent == body.size());
  const auto wr = decode(body);
  REQUIRE(wr.timeseries_size() == 1);
  CHECK(samples_of(wr.timeseries(0)) ==
        std::vector<std::pair<int64_t, double>>{{1700000000000, 1.5}});

  server.respond_with(429, "Retry-After: 9\r\n", "slow down");
  const auto busy = sink->send(batch);
  CHECK(busy.status == SendStatus::kRetry);
  CHECK(busy.retry_after == std::optional<std::chrono::milliseconds>(9000));
  const int before = server.requests();
  const auto strings = sink->send(std::vector<Sample>{batch[1]});
  CHECK(strings.status == SendStatus::kOk);
  CHECK(strings.unsupported == 1);
  CHECK(server.requests() == before);  // nothing to send
}

TEST_CASE("series with colliding hashes are still told apart", "[export][prometheus]") {
  RemoteWriteEncoder enc([](const flowdb::ingest::SeriesKeyParts&) -> uint64_t { return 7; });
  std::string body;
  const auto st = enc.encode(std::vector<Sample>{make_sample("b", {}, "f", 1.0, 3000),
                                                 make_sample("a", {}, "f", 2.0, 2000),
                                                 make_sample("b", {}, "f", 3.0, 1000),
                                                 make_sample("a", {{"t", "1"}}, "f", 4.0, 1000),
                                                 make_sample("a", {}, "f", 5.0, 1000)},
                             &body);
  CHECK(st.series == 3);
  CHECK(st.samples == 5);
  const prometheus::WriteRequest req = decode(body);
  std::map<std::string, std::vector<std::pair<int64_t, double>>> got;
  for (const auto& ts : req.timeseries()) got[labels_of(ts)] = samples_of(ts);
  CHECK(got == std::map<std::string, std::vector<std::pair<int64_t, double>>>{
                   {"__name__=a_f,", {{1, 5.0}, {2, 2.0}}},
                   {"__name__=a_f,t=1,", {{1, 4.0}}},
                   {"__name__=b_f,", {{1, 3.0}, {3, 1.0}}}});
}
