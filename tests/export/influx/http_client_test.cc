// export/http: status mapping, Retry-After, URL checks, gzip, and the client
// against an in-process HTTP server (headers, auth, Retry-After, timeout,
// connection refused).
#include "export/http/http_client.h"

#include <zlib.h>

#include <catch2/catch.hpp>

#include "servers.h"

using flowdb::export_http::GzipEncoder;
using flowdb::export_http::HttpClient;
using flowdb::export_http::HttpClientOptions;
using flowdb::export_http::HttpResponse;
using flowdb::export_http::to_send_result;
using flowdb::exporter::SendStatus;
using namespace std::chrono_literals;

namespace {

HttpResponse answer(int status, std::string body = "",
                    std::optional<std::chrono::milliseconds> ra = {}) {
  HttpResponse r;
  r.status = status;
  r.body_snippet = std::move(body);
  r.retry_after = ra;
  return r;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out;
  char buf[4096];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

}  // namespace

TEST_CASE("2xx answers are kOk", "[export][http]") {
  for (int s : {200, 201, 204}) {
    const auto r = to_send_result(answer(s), "w");
    CHECK(r.status == SendStatus::kOk);
    CHECK(r.http_status == s);
    CHECK(r.message.empty());
  }
}

TEST_CASE("429, 5xx and auth failures are kRetry with Retry-After", "[export][http]") {
  for (int s : {401, 403, 404, 405, 407, 408, 425, 429, 500, 502, 503, 504, 301, 100}) {
    CAPTURE(s);
    const auto r = to_send_result(answer(s, "busy\nnow", 7s), "influx write");
    CHECK(r.status == SendStatus::kRetry);
    CHECK(r.retry_after == std::optional<std::chrono::milliseconds>(7000));
    CHECK(r.http_status == s);
    CHECK(r.message.rfind("influx write: ", 0) == 0);
    CHECK(r.message.find("busy now") != std::string::npos);
  }
  CHECK(to_send_result(answer(401), "w").message == "w: authentication failed: HTTP 401");
  CHECK(to_send_result(answer(403), "w").message == "w: authentication failed: HTTP 403");
  CHECK(to_send_result(answer(503), "w").message == "w: HTTP 503");
}

TEST_CASE("other 4xx answers are kReject without Retry-After", "[export][http]") {
  for (int s : {400, 409, 413, 415, 422, 499}) {
    CAPTURE(s);
    const auto r = to_send_result(answer(s, "{\"error\":\"partial write\"}", 5s), "w");
    CHECK(r.status == SendStatus::kReject);
    CHECK(!r.retry_after);
    CHECK(r.message == "w: HTTP " + std::to_string(s) + ": {\"error\":\"partial write\"}");
  }
}

TEST_CASE("no answer is kRetry with the network error", "[export][http]") {
  HttpResponse r;
  r.error = "Couldn't connect to server";
  const auto s = to_send_result(r, "w");
  CHECK(s.status == SendStatus::kRetry);
  CHECK(s.http_status == 0);
  CHECK(s.message == "w: Couldn't connect to server");
}

TEST_CASE("Retry-After is read as seconds or as an HTTP date", "[export][http]") {
  using flowdb::export_http::parse_retry_after;
  // 07:27:00 GMT, a minute before the date below.
  const auto now = std::chrono::system_clock::from_time_t(1445412480 - 60);
  CHECK(parse_retry_after("120", now) == std::optional<std::chrono::milliseconds>(120'000));
  CHECK(parse_retry_after(" 0 ", now) == std::optional<std::chrono::milliseconds>(0));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) ==
        std::optional<std::chrono::milliseconds>(60'000));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) ==
        std::optional<std::chrono::milliseconds>(0));  // in the past
  CHECK(!parse_retry_after("", now));
  CHECK(!parse_retry_after("12x", now));
  CHECK(!parse_retry_after("soon", now));
}

TEST_CASE("query values are percent-encoded and URLs checked", "[export][http]") {
  using flowdb::export_http::check_url;
  using flowdb::export_http::query_escape;
  CHECK(query_escape("my db&x=1/ü") == "my%20db%26x%3D1%2F%C3%BC");
  CHECK(query_escape("a-b_c.d~") == "a-b_c.d~");
  CHECK(check_url("http://h:8086", false).empty());
  CHECK(check_url("https://h/prefix/", false).empty());
  CHECK(check_url("ftp://h", false) == "must start with http:// or https://");
  CHECK(check_url("http://", false) == "has no host");
  CHECK(check_url("http://h/write?db=x", false) == "must not have a query string");
  CHECK(check_url("http://h/api/v1/write?tenant=1", true).empty());
  CHECK(check_url("http://h/#x", true) == "must not have a fragment");
}

TEST_CASE("gzip output inflates back to the input, encoder reused", "[export][http]") {
  GzipEncoder gz;
  std::string out;
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "cpu,host=gw" + std::to_string(i % 7) + " v=1.5\n";
  REQUIRE(gz.compress(text, &out));
  CHECK(out.size() < text.size() / 10);
  CHECK(static_cast<unsigned char>(out[0]) == 0x1f);  // gzip magic
  CHECK(static_cast<unsigned char>(out[1]) == 0x8b);
  CHECK(gunzip(out) == text);
  REQUIRE(gz.compress("second", &out));
  CHECK(gunzip(out) == "second");
  REQUIRE(gz.compress("", &out));
  CHECK(gunzip(out).empty());
}

TEST_CASE("post sends headers, basic auth and body, reads status and Retry-After",
          "[export][http]") {
  flowdb::testing::StubHttpServer server;
  server.respond_with(503, "Retry-After: 3\r\n", "overloaded");
  HttpClientOptions o;
  o.username = "user";
  o.password = "pa:ss";
  o.headers = {"Content-Type: text/plain", "X-Test: 1"};
  HttpClient client(o);
  const HttpResponse r = client.post(server.url() + "/write?db=x", "line 1\nline 2\n");
  CHECK(r.status == 503);
  CHECK(r.error.empty());
  CHECK(r.retry_after == std::optional<std::chrono::milliseconds>(3000));
  CHECK(r.body_snippet == "overloaded");
  CHECK(r.bytes_sent == 14);
  const std::string req = server.last_request();
  CHECK(req.rfind("POST /write?db=x HTTP/1.1\r\n", 0) == 0);
  CHECK(req.find("\r\nAuthorization: Basic dXNlcjpwYTpzcw==\r\n") != std::string::npos);
  CHECK(req.find("\r\nContent-Type: text/plain\r\n") != std::string::npos);
  CHECK(req.find("\r\nX-Test: 1\r\n") != std::string::npos);
  CHECK(req.find("\r\nUser-Agent: flowdb\r\n") != std::string::npos);
  CHECK(req.find("Expect:") == std::string::npos);
  CHECK(req.substr(req.size() - 14) == "line 1\nline 2\n");

  server.respond_with(429, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "");
  const HttpResponse r2 = client.post(server.url() + "/write", "x");
  CHECK(r2.status == 429);
  CHECK(r2.retry_after == std::optional<std::chrono::milliseconds>(0));  // a past date
  CHECK(server.requests() == 2);
}

TEST_CASE("a long answer body is cut to the snippet size", "[export][http]") {
  flowdb::testing::StubHttpServer server;
  server.respond_with(400, "", std::string(10000, 'e'));
  HttpClient client({});
  const HttpResponse r = client.post(server.url(), "x");
  CHECK(r.status == 400);
  CHECK(r.body_snippet == std::string(HttpResponse::kBodySnippetBytes, 'e'));
}

TEST_CASE("connection refused and timeouts are answers with status 0", "[export][http]") {
  HttpClientOptions o;
  o.timeout = 300ms;
  HttpClient client(o);
  const int closed_port = flowdb::testing::free_port();
  const HttpResponse refused =
      client.post("http://127.0.0.1:" + std::to_string(closed_port) + "/write", "x");
  CHECK(refused.status == 0);
  CHECK(refused.error.find("Couldn't connect") != std::string::npos);

  flowdb::testing::StubHttpServer server;
  server.respond_with(204, "", "", 5s);
  const auto t0 = std::chrono::steady_clock::now();
  const HttpResponse slow = client.post(server.url(), "x");
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK(slow.status == 0);
  CHECK(slow.error.find("Timeout") != std::string::npos);
  CHECK(to_send_result(slow, "w").status == SendStatus::kRetry);
}
