// The HTTP server and query API in-process against a real engine: exact
// routes, HEAD, 405, truncation in every format, escaped tag values, relative
// times, order=desc, /api/v1/export/series and streaming in bounded pieces.
#include <catch2/catch.hpp>

#include "agent/core/ingest_context.h"
#include "agent/http_server.h"
#include "agent/query_format.h"
#include "agent_util.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"

using namespace flowdb::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using flowdb::agent::HttpHooks;
using flowdb::agent::HttpServer;

namespace {

struct Api {
  TempDir dir;
  std::unique_ptr<flowdb::Engine> engine;
  std::unique_ptr<HttpServer> http;
  int port = free_port();

  Api() {
    flowdb::Config c;
    c.data_dir = dir / "data";
    engine = flowdb::Engine::open(c);
    HttpHooks h;
    h.metrics_text = [] { return std::string("up 1\n"); };
    h.ready = [](std::string*) { return true; };
    h.engine = engine.get();
    h.query_max_points = 1000000;
    http = std::make_unique<HttpServer>("127.0.0.1:" + std::to_string(port), h);
  }
  void put(const std::string& m, std::vector<flowdb::ingest::Tag> tags, const std::string& field,
           int64_t ts, double v) {
    std::vector<flowdb::Record> b;
    b.emplace_back(flowdb::ingest::series_key(m, tags, field), ts,
                   flowdb::ingest::encode_value(flowdb::ingest::FieldValue(v)));
    engine->write_batch(std::move(b));
  }
  HttpResponse get(const std::string& path) { return http_get(port, path); }
};

size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("HTTP routes match exactly and case-sensitively - others are 404 JSON", "[agent][http]") {
  Api api;
  CHECK(api.get("/health").status == 200);
  CHECK_THAT(api.get("/health").body, Contains("\"status\":\"pass\""));  // as InfluxDB 2
  CHECK(api.get("/metrics").body == "up 1\n");
  for (const char* p : {"/api/v1/exportXYZ", "/API/V1/EXPORT", "/metricsfoo", "/healthz",
                        "/health/x", "/", "/nope"}) {
    INFO(p);
    auto r = api.get(p);
    CHECK(r.status == 404);
    CHECK_THAT(r.body, StartsWith("{\"error\":"));
  }
}

TEST_CASE("HEAD answers as GET without a body - other methods are 405 with Allow",
          "[agent][http]") {
  Api api;
  auto get = api.get("/health");
  auto head = http_request("HEAD", api.port, "/health");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("Content-Length") == std::to_string(get.body.size()));
  auto q = http_request("HEAD", api.port, "/api/v1/export");
  CHECK(q.status == 200);
  CHECK(q.body.empty());
  CHECK(q.header("X-Flowdb-Truncated") == "false");
  auto post = http_request("POST", api.port, "/metrics", "x");
  CHECK(post.status == 405);
  CHECK(post.header("Allow") == "GET, HEAD");
  CHECK_THAT(post.body, StartsWith("{\"error\":"));
  CHECK(http_request("DELETE", api.port, "/api/v1/export").status == 405);
}

TEST_CASE("Truncation is visible in every format, streamed or not", "[agent][http][query]") {
  Api api;
  for (int i = 0; i < 5; ++i) api.put("cpu", {{"host", "a"}}, "usage", 1000 + i, i);
  for (const char* f : {"json", "lp", "csv"}) {
    INFO(f);
    auto cut = api.get(std::string("/api/v1/export?limit=2&format=") + f);
    CHECK(cut.status == 200);
    CHECK(cut.header("X-Flowdb-Truncated") == "true");
    auto all = api.get(std::string("/api/v1/export?limit=5&format=") + f);
    CHECK(all.header("X-Flowdb-Truncated") == "false");
  }
  CHECK(lines(api.get("/api/v1/export?limit=2&format=lp").body) == 2);
  CHECK_THAT(api.get("/api/v1/export?limit=2").body, Contains("\"count\":2,\"truncated\":true"));
  // Larger than the first 64 KiB: the header comes from a counting pass.
  for (int i = 0; i < 3000; ++i) api.put("mem", {{"host", "a"}}, "free", 10000 + i, i);
  auto big = api.get("/api/v1/export?series=mem&limit=2500&format=lp");
  CHECK(big.header("X-Flowdb-Truncated") == "true");
  CHECK(big.header("Content-Length").empty());
  CHECK(lines(big.body) == 2500);
  auto whole = api.get("/api/v1/export?series=mem&limit=3000&format=lp");
  CHECK(whole.header("X-Flowdb-Truncated") == "false");
  CHECK(lines(whole.body) == 3000);
}

TEST_CASE("Tag values with escaped commas, spaces and = are queryable", "[agent][http][query]") {
  Api api;
  api.put("cpu", {{"host", "a,b c=d"}}, "usage", 1000, 1);
  api.put("cpu", {{"host", "a"}}, "usage", 1000, 2);
  std::string lp = api.get("/api/v1/export?format=lp&series=cpu,host=a%5C,b%5C%20c%5C=d").body;
  CHECK(lp == "cpu,host=a\\,b\\ c\\=d usage=1 1000000\n");
  CHECK(lines(api.get("/api/v1/export?format=lp&series=cpu,host=a").body) == 1);
  CHECK(api.get("/api/v1/export?series=cpu,host=a%5C,b=c").status == 400);
}

TEST_CASE("Relative times take several units and the now-1h form", "[agent][query]") {
  using flowdb::agent::parse_time_param;
  const int64_t now = 10'000'000'000'000;
  int64_t t = 0;
  CHECK((parse_time_param("-1h30m", now, &t) && t == now - 5'400'000'000));
  CHECK((parse_time_param("now-1h", now, &t) && t == now - 3'600'000'000));
  CHECK((parse_time_param("now+5m", now, &t) && t == now + 300'000'000));
  CHECK((parse_time_param("now-1d2h3m4s5ms", now, &t) && t == now - (93'784'000'000 + 5'000)));
  CHECK((parse_time_param("-15m", now, &t) && t == now - 900'000'000));
  CHECK((parse_time_param("-15", now, &t) && t == -15'000'000));
  for (const char* bad : {"-1h30", "now-", "now-x", "now1h", "-h", "nowish"}) {
    INFO(bad);
    CHECK_FALSE(parse_time_param(bad, now, &t));
  }
  Api api;
  const int64_t n = flowdb::agent::now_us();
  api.put("cpu", {}, "v", n - 7'200'000'000, 1);
  api.put("cpu", {}, "v", n - 4'200'000'000, 2);
  api.put("cpu", {}, "v", n - 600'000'000, 3);
  CHECK_THAT(api.get("/api/v1/export?start=-1h30m").body, Contains("\"count\":2"));
  CHECK_THAT(api.get("/api/v1/export?start=now-1h&end=now").body, Contains("\"count\":1"));
}

TEST_CASE("order=desc returns the newest points first across series", "[agent][http][query]") {
  Api api;
  for (int64_t ts : {1, 3, 5}) api.put("cpu", {{"host", "a"}}, "v", ts * 1'000'000, ts);
  for (int64_t ts : {2, 4, 6}) api.put("cpu", {{"host", "b"}}, "v", ts * 1'000'000, ts);
  CHECK(api.get("/api/v1/export?order=desc&limit=3&format=lp").body ==
        "cpu,host=b v=6 6000000000\ncpu,host=a v=5 5000000000\ncpu,host=b v=4 4000000000\n");
  CHECK(api.get("/api/v1/export?limit=1&format=lp").body == "cpu,host=a v=1 1000000000\n");
  CHECK(api.get("/api/v1/export?order=sideways").status == 400);
  // More points in one time window than it holds: the windows shrink.
  flowdb::agent::QueryRequest req;
  req.measurement = "mem";
  req.desc = true;
  req.limit = 1000000;
  for (int s = 0; s < 3; ++s) {
    std::vector<flowdb::Record> b;
    for (int i = 0; i < 5000; ++i) {
      const std::vector<flowdb::ingest::Tag> tags = {{"s", std::to_string(s)}};
      b.emplace_back(flowdb::ingest::series_key("mem", tags, "v"), 1'000'000 + i * 3 + s,
                     flowdb::ingest::encode_value(1.0));
    }
    api.engine->write_batch(std::move(b));
  }
  req.format = flowdb::agent::QueryRequest::Format::kCsv;
  auto res = flowdb::agent::run_query(*api.engine, req);
  CHECK(res.count == 15000);
  std::istringstream in(res.body);
  std::string line;
  std::getline(in, line);  // header
  int64_t prev = INT64_MAX, n = 0;
  bool ordered = true;
  while (std::getline(in, line)) {
    const int64_t ts = std::stoll(line.substr(line.find(',') + 1));
    ordered &= ts < prev;
    prev = ts;
    ++n;
  }
  CHECK(ordered);
  CHECK(n == 15000);
  CHECK(prev == 1'000'000);
}

TEST_CASE("/api/v1/export/series lists measurements, tag sets and fields", "[agent][http][query]") {
  Api api;
  for (int i = 0; i < 40; ++i) {  // many points per key: the listing seeks past them
    api.put("cpu", {{"host", "a"}}, "idle", 1000 + i, 1);
    api.put("cpu", {{"host", "a"}}, "usage", 1000 + i, 1);
  }
  api.put("cpu", {{"host", "b"}}, "usage", 1000, 1);
  api.put("mem", {}, "free", 1000, 1);
  CHECK(api.get("/api/v1/export/series").body ==
        "{\"series\":[{\"measurement\":\"cpu\",\"tags\":{\"host\":\"a\"},\"fields\":[\"idle\","
        "\"usage\"]},{\"measurement\":\"cpu\",\"tags\":{\"host\":\"b\"},\"fields\":[\"usage\"]},"
        "{\"measurement\":\"mem\",\"tags\":{},\"fields\":[\"free\"]}],\"count\":3}\n");
  CHECK_THAT(api.get("/api/v1/export/series?series=cpu,host=b").body, Contains("\"count\":1"));
  CHECK_THAT(api.get("/api/v1/export/series?start=1001us").body, Contains("\"count\":1"));
}

TEST_CASE("A large result streams in pieces of about the flush size", "[agent][query]") {
  Api api;
  std::vector<flowdb::Record> b;
  const std::vector<flowdb::ingest::Tag> tags = {{"host", "a"}};
  for (int i = 0; i < 20000; ++i) {
    b.emplace_back(flowdb::ingest::series_key("cpu", tags, "v"), 1000 + i,
                   flowdb::ingest::encode_value(1.5));
  }
  api.engine->write_batch(std::move(b));
  struct Sink : flowdb::agent::QuerySink {
    int begins = 0;
    bool known_total = false;
    size_t biggest = 0, total = 0;
    bool begin(const std::string&, bool, std::optional<size_t> t) override {
      ++begins;
      known_total = t.has_value();
      return true;
    }
    bool write(std::string_view d) override {
      biggest = std::max(biggest, d.size());
      total += d.size();
      return true;
    }
  } sink;
  flowdb::agent::QueryRequest req;
  req.limit = 1000000;
  auto st = flowdb::agent::run_query(*api.engine, req, sink, 4096);
  CHECK(st.count == 20000);
  CHECK(sink.begins == 1);
  CHECK_FALSE(sink.known_total);
  CHECK(sink.biggest < 4096 + 512);
  CHECK(sink.total == flowdb::agent::run_query(*api.engine, req).body.size());
}
