// influx_http sink without a real InfluxDB: config validation (each error
// names its key), the request it sends (URL, headers, gzip body) and how it
// reports answers, against an in-process HTTP server.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "export/influx/influx_http_sink.h"
#include "servers.h"

using flowdb::export_influx::influx_http_config_keys;
using flowdb::export_influx::make_influx_http_sink;
using flowdb::exporter::Sample;
using flowdb::exporter::SendStatus;
using flowdb::testing::StubHttpServer;

namespace {

std::unique_ptr<flowdb::exporter::Sink> make_sink(const std::string& yaml) {
  return flowdb::testing::sink_from_yaml(influx_http_config_keys(), make_influx_http_sink, yaml);
}

std::string config_error(const std::string& yaml) {
  return flowdb::testing::config_error_of(influx_http_config_keys(), make_influx_http_sink, yaml);
}

// The body of a captured request (after the blank line).
std::string body_of(const std::string& request) {
  return request.substr(request.find("\r\n\r\n") + 4);
}

const std::vector<Sample> kBatch = {
    {{"cpu", {{"host", "gw1"}}, "usage"}, 0.5, 1700000000000001},
    {{"cpu", {{"host", "gw1"}}, "n"}, uint64_t{3}, 1700000000000001},
};

}  // namespace

TEST_CASE("influx_http config errors name the key", "[export][influx][config]") {
  CHECK_THAT(config_error("{}"), Catch::Contains("exports[0].url: missing; expected a string"));
  CHECK_THAT(config_error("{url: 'ftp://x', database: d}"),
             Catch::Contains("url: 'ftp://x' must start with http:// or https://"));
  CHECK_THAT(config_error("{url: 'http://x/?db=1', database: d}"),
             Catch::Contains("url: 'http://x/?db=1' must not have a query string"));
  CHECK_THAT(config_error("{url: 'http://x'}"), Catch::Contains("database: required for api v1"));
  CHECK_THAT(config_error("{url: 'http://x', api: v2}"),
             Catch::Contains("bucket: required for api v2"));
  CHECK_THAT(config_error("{url: 'http://x', api: v3}"),
             Catch::Contains("api: got 'v3'; expected one of v1, v2"));
  CHECK_THAT(config_error("{url: 'http://x', api: v2, bucket: b, database: d}"),
             Catch::Contains("database: is for api v1"));
  CHECK_THAT(config_error("{url: 'http://x', api: v2, bucket: b, password: p}"),
             Catch::Contains("password: is for api v1"));
  CHECK_THAT(config_error("{url: 'http://x', database: d, token: t}"),
             Catch::Contains("token: is for api v2"));
  CHECK_THAT(config_error("{url: 'http://x', database: d, org: o}"),
             Catch::Contains("org: is for api v2"));
  CHECK_THAT(config_error("{url: 'http://x', database: d, password: p}"),
             Catch::Contains("username: required with a password"));
  CHECK_THAT(config_error("{url: 'http://x', database: d, username: u, password: p, "
                          "password_env: P}"),
             Catch::Contains("password_file: give only one of password"));
  CHECK_THAT(config_error("{url: 'http://x', database: d, timeout: 0s}"),
             Catch::Contains("timeout: got '0s'"));
  CHECK_THAT(config_error("{url: 'http://x', database: d, tls: {ca_file: /nonexistent.pem}}"),
             Catch::Contains("ca_file: cannot read '/nonexistent.pem'"));
  CHECK_NOTHROW(make_sink("{url: 'https://x/prefix/', database: d}"));
}

TEST_CASE("influx_http v1 posts gzip line protocol to /write with basic auth", "[export][influx]") {
  StubHttpServer server;
  ::setenv("FLOWDB_TEST_INFLUX_PW", "s3cret", 1);
  auto sink = make_sink("{url: '" + server.url() +
                        "/', database: 'my db', retention_policy: rp1, username: u, "
                        "password_env: FLOWDB_TEST_INFLUX_PW}");
  CHECK(sink->type() == "influx_http");
  const auto r = sink->send(kBatch);
  CHECK(r.status == SendStatus::kOk);
  CHECK(r.http_status == 204);
  CHECK(r.unsupported == 0);
  const std::string req = server.last_request();
  CHECK(req.rfind("POST /write?db=my%20db&rp=rp1&precision=u HTTP/1.1\r\n", 0) == 0);
  CHECK(req.find("\r\nAuthorization: Basic dTpzM2NyZXQ=\r\n") != std::string::npos);  // u:s3cret
  CHECK(req.find("\r\nContent-Encoding: gzip\r\n") != std::string::npos);
  CHECK(req.find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  const std::string body = body_of(req);
  CHECK(r.bytes_sent == body.size());
  // gzip magic; the content itself is checked against real servers.
  REQUIRE(body.size() > 2);
  CHECK(static_cast<unsigned char>(body[0]) == 0x1f);
}

TEST_CASE("influx_http v2 posts to /api/v2/write with a token, uints as u", "[export][influx]") {
  StubHttpServer server;
  auto sink = make_sink("{url: '" + server.url() +
                        "', api: v2, org: 'o&1', bucket: b, token: tok, gzip: false}");
  const auto r = sink->send(kBatch);
  CHECK(r.status == SendStatus::kOk);
  const std::string req = server.last_request();
  CHECK(req.rfind("POST /api/v2/write?org=o%261&bucket=b&precision=us HTTP/1.1\r\n", 0) == 0);
  CHECK(req.find("\r\nAuthorization: Token tok\r\n") != std::string::npos);
  CHECK(req.find("Content-Encoding") == std::string::npos);
  CHECK(body_of(req) == "cpu,host=gw1 usage=0.5,n=3u 1700000000000001\n");
}

TEST_CASE("influx_http v1 writes uints as integers unless uint_support is set",
          "[export][influx]") {
  StubHttpServer server;
  make_sink("{url: '" + server.url() + "', database: d, gzip: false}")->send(kBatch);
  CHECK(body_of(server.last_request()) == "cpu,host=gw1 usage=0.5,n=3i 1700000000000001\n");
  make_sink("{url: '" + server.url() + "', database: d, gzip: false, uint_support: true}")
      ->send(kBatch);
  CHECK(body_of(server.last_request()) == "cpu,host=gw1 usage=0.5,n=3u 1700000000000001\n");
}

TEST_CASE("influx_http reports 503 and 429 as kRetry with Retry-After", "[export][influx]") {
  StubHttpServer server;
  auto sink = make_sink("{url: '" + server.url() + "', database: d}");
  server.respond_with(503, "Retry-After: 17\r\n", "{\"error\":\"hinted handoff queue not empty\"}");
  auto r = sink->send(kBatch);
  CHECK(r.status == SendStatus::kRetry);
  CHECK(r.http_status == 503);
  CHECK(r.retry_after == std::optional<std::chrono::milliseconds>(17000));
  CHECK_THAT(r.message, Catch::Contains("hinted handoff queue not empty"));
  server.respond_with(429, "Retry-After: 2\r\n", "");
  r = sink->send(kBatch);
  CHECK(r.status == SendStatus::kRetry);
  CHECK(r.retry_after == std::optional<std::chrono::milliseconds>(2000));
  server.respond_with(204, "", "");
  CHECK(sink->send(kBatch).status == SendStatus::kOk);
  CHECK(server.requests() == 3);
}

TEST_CASE("influx_http to a closed port is kRetry", "[export][influx]") {
  const int port = flowdb::testing::free_port();
  auto sink = make_sink("{url: 'http://127.0.0.1:" + std::to_string(port) + "', database: d}");
  const auto r = sink->send(kBatch);
  CHECK(r.status == SendStatus::kRetry);
  CHECK(r.http_status == 0);
  CHECK_THAT(r.message, Catch::Contains("Couldn't connect"));
}

TEST_CASE("influx_http sends nothing when no sample is representable", "[export][influx]") {
  StubHttpServer server;
  auto sink = make_sink("{url: '" + server.url() + "', database: d}");
  const std::vector<Sample> bad = {{{"m", {}, "f"}, std::string("a\nb"), 1}};
  const auto r = sink->send(bad);
  CHECK(r.status == SendStatus::kOk);
  CHECK(r.unsupported == 1);
  CHECK(r.bytes_sent == 0);
  CHECK(server.requests() == 0);
}
