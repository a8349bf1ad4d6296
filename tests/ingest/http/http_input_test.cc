// HTTP input (InfluxDB write API) over real loopback connections: the
// daemon's HttpServer with the input's routes, a real engine and batcher.
// A 204 means stored, so every read-back right after it is immediate.
#include "ingest/http/http_input.h"

#include <zlib.h>

#include <catch2/catch.hpp>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/http_server.h"
#include "net_fixture.h"

using namespace flowdb;
using namespace flowdb::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using flowdb::ingest::FieldValue;

namespace {

std::string gzip(const std::string& in) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// An HTTP listener with one http input on it, over a Pipeline.
struct Server {
  Pipeline& p;
  agent::HttpServer http;
  ingest_http::HttpInput input;

  explicit Server(Pipeline& pipeline, ingest_http::HttpInputConfig c = config())
      : p(pipeline), http("127.0.0.1:0", hooks(pipeline)), input(std::move(c), context()) {
    input.start();
  }
  ~Server() { input.stop(); }
  static ingest_http::HttpInputConfig config() {
    ingest_http::HttpInputConfig c;
    c.name = "http";
    c.max_body_bytes = 4096;
    return c;
  }
  static agent::HttpHooks hooks(Pipeline& p) {
    agent::HttpHooks h;
    h.metrics_text = [] { return std::string(); };
    h.ready = [](std::string*) { return true; };
    h.engine = p.engine.get();
    return h;
  }
  agent::IngestContext context() {
    agent::IngestContext ctx = p.ctx();
    ctx.http = &http;
    return ctx;
  }
  HttpResponse post(const std::string& path, const std::string& body,
                    const std::string& headers = "") {
    return http_request("POST", http.port(), path, body, headers);
  }
};

}  // namespace

TEST_CASE("HTTP input: 1.x and 2.x writes are stored once answered 204, in every precision",
          "[http][net]") {
  Pipeline p;
  Server s(p);
  struct Case {
    const char* path;
    const char* precision;
    int64_t ts;     // in the precision's unit
    int64_t ts_us;  // stored
  };
  const Case cases[] = {
      {"/write", "", 1700000000123456789, 1700000000123456},
      {"/write", "ns", 1700000000123456789, 1700000000123456},
      {"/write", "n", 1700000000123456789, 1700000000123456},
      {"/write", "us", 1700000000123456, 1700000000123456},
      {"/write", "u", 1700000000123456, 1700000000123456},
      {"/write", "ms", 1700000000123, 1700000000123000},
      {"/write", "s", 1700000000, 1700000000000000},
      {"/write", "m", 28333333, 28333333LL * 60 * 1000000},
      {"/write", "h", 472222, 472222LL * 3600 * 1000000},
      {"/api/v2/write", "", 1700000000123456789, 1700000000123456},
      {"/api/v2/write", "ns", 1700000000123456789, 1700000000123456},
      {"/api/v2/write", "us", 1700000000123456, 1700000000123456},
      {"/api/v2/write", "ms", 1700000000123, 1700000000123000},
      {"/api/v2/write", "s", 1700000000, 1700000000000000},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string api = std::string(c.path) == "/write" ? "v1" : "v2";
    const std::string tag = api + "_" + (*c.precision ? c.precision : "default");
    INFO(tag);
    std::string q = std::string(c.path) + "?db=x&bucket=x";
    if (*c.precision) q += std::string("&precision=") + c.precision;
    auto r = s.post(q, "w,p=" + tag + " v=" + std::to_string(++i) + "i,s=\"a b\" " +
                           std::to_string(c.ts) + "\n");
    REQUIRE(r.status == 204);
    CHECK(r.header("X-Influxdb-Version") != "");
    CHECK(p.value("w", {{"p", tag}}, "v", c.ts_us) == FieldValue(int64_t{i}));
    CHECK(p.value("w", {{"p", tag}}, "s", c.ts_us) == FieldValue(std::string("a b")));
  }
  CHECK(p.count("w") == 2 * std::size(cases));
  CHECK(p.metric("flowdb_input_messages_received_total{input=\"http\"}") == std::size(cases));
}

TEST_CASE("HTTP input: a bad precision is 400 in the API's error dialect", "[http][net]") {
  Pipeline p;
  Server s(p);
  auto v1 = s.post("/write?precision=h2", "w v=1\n");
  CHECK(v1.status == 400);
  CHECK_THAT(v1.body, StartsWith("{\"error\":\"invalid precision 'h2'"));
  auto v2 = s.post("/api/v2/write?precision=h", "w v=1\n");  // h and m are 1.x only
  CHECK(v2.status == 400);
  CHECK_THAT(v2.body, StartsWith("{\"code\":\"invalid\",\"message\":\"invalid precision 'h'"));
  CHECK(p.count("w") == 0);
}

TEST_CASE("HTTP input: a partial write stores the good lines and answers 400 partial write",
          "[http][net]") {
  Pipeline p;
  Server s(p);
  auto r = s.post("/api/v2/write?precision=s",
                  "w,h=a v=1 1700000000\n"
                  "w,h=b v= 1700000000\n"
                  "w,h=c v=NaN 1700000000\n"
                  "w,h=d v=4 1700000000\n");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, StartsWith("{\"code\":\"invalid\",\"message\":\"partial write: "));
  CHECK_THAT(r.body, Contains("line 2"));
  CHECK_THAT(r.body, Contains("dropped=2"));
  CHECK(p.value("w", {{"h", "a"}}, "v", 1700000000000000) == FieldValue(1.0));
  CHECK(p.value("w", {{"h", "d"}}, "v", 1700000000000000) == FieldValue(4.0));
  CHECK(p.count("w") == 2);
  CHECK(p.metric("flowdb_input_parse_errors_total{input=\"http\",reason=\"nan_or_inf\"}") == 1);
  CHECK(p.metric("flowdb_input_parse_errors_total{input=\"http\",reason=\"bad_field_value\"}") +
            p.metric("flowdb_input_parse_errors_total{input=\"http\",reason=\"syntax\"}") >=
        1);

  auto v1 = s.post("/write", "only bad\n");
  CHECK(v1.status == 400);
  CHECK_THAT(v1.body, StartsWith("{\"error\":\"unable to parse line 1: "));
  CHECK_THAT(v1.body, Contains("dropped=1"));
}

TEST_CASE("HTTP input: gzip bodies - bad gzip is 400 - oversized bodies are 413", "[http][net]") {
  Pipeline p;
  Server s(p);  // max_body_bytes 4096
  const std::string gz = "Content-Encoding: gzip\r\n";
  auto ok = s.post("/write?precision=s", gzip("g,k=1 v=1 1700000000\ng,k=2 v=2 1700000000\n"), gz);
  CHECK(ok.status == 204);
  CHECK(p.value("g", {{"k", "2"}}, "v", 1700000000000000) == FieldValue(2.0));

  auto bad = s.post("/write", "not gzip at all", gz);
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Contains("gzip"));
  std::string cut = gzip("g,k=3 v=3 1700000000\n");
  cut.resize(cut.size() - 6);
  CHECK(s.post("/write", cut, gz).status == 400);
  CHECK(s.post("/write", "g v=1", "Content-Encoding: br\r\n").status == 415);

  std::string big;
  while (big.size() <= 4096) big += "big,k=x v=1 1700000000000000000\n";
  auto too_big = s.post("/api/v2/write", big);
  CHECK(too_big.status == 413);
  CHECK_THAT(too_big.body, StartsWith("{\"code\":\"request too large\""));
  // Small on the wire, too large once decoded.
  const std::string bomb = gzip(big);
  REQUIRE(bomb.size() < 4096);
  CHECK(s.post("/write", bomb, gz).status == 413);
  CHECK(p.count("big") == 0);
  CHECK(p.count("g") == 2);
}

TEST_CASE("HTTP input: a full batch queue answers 429 with Retry-After and stores nothing",
          "[http][net]") {
  agent::BatcherOptions o = Pipeline::fast_batches();
  o.queue_max_records = 2;
  Pipeline p(o, /*start_batcher=*/false);  // nothing leaves the queue
  auto c = Server::config();
  c.retry_after_s = 7;
  Server s(p, c);
  std::vector<Record> fill;
  fill.emplace_back("fill-a", 1, "x");
  fill.emplace_back("fill-b", 1, "x");
  REQUIRE(p.batcher->try_submit("other", std::move(fill)) == agent::RecordSink::Result::kStored);
  auto r = s.post("/api/v2/write?precision=s", "q v=1 1700000000\n");
  CHECK(r.status == 429);
  CHECK(r.header("Retry-After") == "7");
  CHECK_THAT(r.body, Contains("queue is full"));
  p.batcher->start();
  REQUIRE(wait_until([&] { return p.batcher->queued_records() == 0; }));
  auto again = s.post("/api/v2/write?precision=s", "q v=1 1700000000\n");
  CHECK(again.status == 204);
  CHECK(p.value("q", {}, "v", 1700000000000000) == FieldValue(1.0));
}

TEST_CASE("HTTP input: db_tag stores the db or bucket as a tag", "[http][net]") {
  Pipeline p;
  auto c = Server::config();
  c.db_tag = "db";
  Server s(p, c);
  CHECK(s.post("/write?db=telegraf&precision=s", "t,host=a v=1 1700000000\n").status == 204);
  CHECK(s.post("/api/v2/write?org=o&bucket=b2&precision=s", "t,db=line,host=a v=2 1700000000\n")
            .status == 204);
  CHECK(s.post("/write?precision=s", "t,host=a v=3 1700000000\n").status == 204);  // no db
  CHECK(p.value("t", {{"db", "telegraf"}, {"host", "a"}}, "v", 1700000000000000) ==
        FieldValue(1.0));
  CHECK(p.value("t", {{"db", "b2"}, {"host", "a"}}, "v", 1700000000000000) == FieldValue(2.0));
  CHECK(p.value("t", {{"host", "a"}}, "v", 1700000000000000) == FieldValue(3.0));
}

TEST_CASE("HTTP input: ping is 204 with X-Influxdb-Version - wrong methods are 405",
          "[http][net]") {
  Pipeline p;
  Server s(p);
  for (const char* m : {"GET", "HEAD"}) {
    INFO(m);
    auto r = http_request(m, s.http.port(), "/ping");
    CHECK(r.status == 204);
    CHECK_THAT(r.header("X-Influxdb-Version"), StartsWith("1."));
  }
  auto get = http_request("GET", s.http.port(), "/write");
  CHECK(get.status == 405);
  CHECK(get.header("Allow") == "POST");
  s.input.stop();  // the routes go with the input
  CHECK(http_request("GET", s.http.port(), "/ping").status == 404);
  CHECK(s.post("/write", "w v=1\n").status == 404);
}

TEST_CASE("HTTP input: a second input cannot take the same paths", "[http][net]") {
  Pipeline p;
  Server s(p);
  ingest_http::HttpInput other(Server::config(), s.context());
  CHECK_THROWS_WITH(other.start(), Contains("/write is already served"));
  CHECK(http_request("GET", s.http.port(), "/ping").status == 204);  // the first keeps them
}

TEST_CASE("HTTP input: configured as inputs.http in an agent, on its listener",
          "[http][net][agent]") {
  TempDir dir;
  agent::Agent a(agent::parse_config("storage:\n  data_dir: " + (dir / "data") +
                                         "\nhttp:\n  listen: 127.0.0.1:0\n"
                                         "inputs:\n  http:\n    - name: influx\n"
                                         "      db_tag: database\n",
                                     "<test>"));
  a.start();
  auto r = http_request("POST", a.http_port(), "/write?db=site1&precision=ms",
                        "cpu,host=h usage=0.5 1700000000123\n");
  CHECK(r.status == 204);
  const std::vector<ingest::Tag> tags = {{"database", "site1"}, {"host", "h"}};
  auto got = a.engine()->get(ingest::series_key("cpu", tags, "usage"), 1700000000123000);
  REQUIRE(got);
  FieldValue v;
  REQUIRE(ingest::decode_value(got->value, &v));
  CHECK(v == FieldValue(0.5));
  CHECK(http_request("GET", a.http_port(), "/ping").status == 204);
  std::string why;
  CHECK(a.ready(&why));
  a.stop();
}

TEST_CASE("HTTP input: two inputs.http entries are a config error", "[http][config]") {
  CHECK_THROWS_WITH(
      agent::parse_config("inputs:\n  http:\n    - name: a\n    - name: b\n", "<test>"),
      Contains("a second http input"));
}
