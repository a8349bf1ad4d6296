// The Prometheus API's storage side in-process against a real engine: the
// naming mapping, EngineQuerier's selection by matchers and time, the
// series/labels endpoints over HTTP, parameter syntax, and remote read.
// (PromQL evaluation itself: tests/agent/promql; the whole API against a real
// Prometheus: tests/agent/promql_compare.)
#include "agent/prom_api.h"

#include <snappy.h>

#include <bit>
#include <catch2/catch.hpp>

#include "agent/http_server.h"
#include "agent/prom_storage.h"
#include "agent/promql/parser.h"
#include "agent_util.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"
#include "prompb/remote.pb.h"

using namespace flowdb::testing;
using Catch::Matchers::Contains;
using flowdb::agent::EngineQuerier;
using flowdb::agent::PromApi;
using flowdb::ingest::FieldValue;
using flowdb::ingest::Tag;
namespace promql = flowdb::promql;

namespace {

struct Store {
  TempDir dir;
  std::unique_ptr<flowdb::Engine> engine;
  Store() {
    flowdb::Config c;
    c.data_dir = dir / "data";
    engine = flowdb::Engine::open(c);
  }
  void put(const std::string& m, std::vector<Tag> tags, const std::string& field, int64_t ts_us,
           FieldValue v) {
    std::vector<flowdb::Record> b;
    b.emplace_back(flowdb::ingest::series_key(m, tags, field), ts_us,
                   flowdb::ingest::encode_value(v));
    engine->write_batch(std::move(b));
  }
};

// "name{a=\"b\"}: t=v t=v" per series, sorted, for whole-result comparison.
std::vector<std::string> select(flowdb::Engine& e, const std::string& selector, int64_t mint,
                                int64_t maxt) {
  promql::ParseResult r = promql::parse(selector);
  REQUIRE(r.ok());
  EngineQuerier q(e);
  std::vector<std::string> out;
  q.select(promql::compile(*r.expr().as<promql::VectorSelector>()), mint, maxt,
           [&](promql::Series&& s) {
             std::string line;
             for (const auto& l : s.labels) line += l.name + "=" + l.value + ",";
             line += ":";
             for (const auto& x : s.samples) {
               line += " " + std::to_string(x.t) + "=" + std::to_string(static_cast<int>(x.v));
             }
             out.push_back(line);
             return true;
           });
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("Stored points map to Prometheus names as measurement_field, sanitised",
          "[agent][prom]") {
  using flowdb::agent::prom_label_name;
  using flowdb::agent::prom_metric_name;
  CHECK(prom_metric_name("cpu", "usage_idle") == "cpu_usage_idle");
  CHECK(prom_metric_name("up", "value") == "up");  // remote write's field
  CHECK(prom_metric_name("cpu-load", "value") == "cpu_load");
  CHECK(prom_metric_name("1m", "avg") == "_1m_avg");
  CHECK(prom_metric_name("a:b", "c.d") == "a:b_c_d");
  CHECK(prom_label_name("host-name") == "host_name");
  CHECK(prom_label_name("a:b") == "a_b");  // no colons in label names
  CHECK(prom_label_name("9x") == "_9x");

  flowdb::ingest::SeriesKeyParts p;
  p.measurement = "m";
  p.field = "f";
  p.tags = {{"__name__", "evil"}, {"a-b", "1"}, {"a_b", "2"}, {"empty", ""}, {"z", "3"}};
  const promql::Labels ls = flowdb::agent::prom_labels(p);
  REQUIRE(ls.size() == 3);
  CHECK(ls[0].name == "__name__");
  CHECK(ls[0].value == "m_f");
  CHECK(ls[1].name == "a_b");
  CHECK(ls[1].value == "1");  // the first of two colliding tags
  CHECK(ls[2].name == "z");
}

TEST_CASE("EngineQuerier selects by matchers and time, in ms, numeric fields only",
          "[agent][prom]") {
  Store s;
  for (int i = 0; i < 40; ++i) {  // more points than the querier steps before it seeks
    s.put("cpu", {{"host", "a"}}, "usage", i * 1'000'000 + 500, FieldValue(double(i)));
    s.put("cpu", {{"host", "b"}}, "usage", i * 1'000'000, FieldValue(int64_t{100 + i}));
    s.put("cpu", {{"host", "b"}}, "note", i * 1'000'000, FieldValue(std::string("x")));
    s.put("disk", {{"host", "a"}}, "used", i * 1'000'000, FieldValue(i % 2 == 0));
  }
  s.put("up", {{"job", "j"}}, "value", 5'000'000, FieldValue(1.0));

  CHECK(select(*s.engine, "cpu_usage{host=\"a\"}", 3000, 5000) ==
        std::vector<std::string>{"__name__=cpu_usage,host=a,: 3000=3 4000=4 5000=5"});
  CHECK(select(*s.engine, "cpu_usage", 38000, 50000) ==
        std::vector<std::string>{"__name__=cpu_usage,host=a,: 38000=38 39000=39",
                                 "__name__=cpu_usage,host=b,: 38000=138 39000=139"});
  CHECK(select(*s.engine, "{host=~\"b|c\", __name__!=\"x\"}", 0, 1000) ==
        std::vector<std::string>{"__name__=cpu_usage,host=b,: 0=100 1000=101"});
  CHECK(select(*s.engine, "disk_used", 0, 2000) ==
        std::vector<std::string>{"__name__=disk_used,host=a,: 0=1 1000=0 2000=1"});
  CHECK(select(*s.engine, "cpu_note", 0, 100000).empty());  // strings are not samples
  CHECK(select(*s.engine, "up", 0, 100000) ==
        std::vector<std::string>{"__name__=up,job=j,: 5000=1"});
  CHECK(select(*s.engine, "cpu_usage", 100000, 200000).empty());
  CHECK(select(*s.engine, "{__name__=~\"cpu_.*\", host!~\"a\"}", 0, 0) ==
        std::vector<std::string>{"__name__=cpu_usage,host=b,: 0=100"});
}

TEST_CASE("A query over the last hour consults only the last hour's time bucket", "[agent][prom]") {
  Store s;
  constexpr int64_t kHourUs = 3600'000'000;
  const int64_t base = 1'700'000'000 / 3600 * kHourUs;  // a bucket boundary
  const std::string key =
      flowdb::ingest::series_key("cpu", std::vector<Tag>{{"host", "a"}}, "usage");
  for (int64_t h = 0; h < 24; ++h) {  // one SST per hourly bucket
    std::vector<flowdb::Record> b;
    for (int64_t i = 0; i < 60; ++i) {
      b.emplace_back(key, base + h * kHourUs + i * 60'000'000,
                     flowdb::ingest::encode_value(FieldValue(double(h))));
    }
    s.engine->write_batch(std::move(b));
    s.engine->flush();
  }
  const int64_t last_ms = (base + 23 * kHourUs + 59 * int64_t{60'000'000}) / 1000;
  auto files = [&] { return s.engine->stats().files_opened_by_reads; };
  auto count = [&](int64_t mint, int64_t maxt) {
    EngineQuerier q(*s.engine);
    size_t n = 0;
    q.select(promql::compile(*promql::parse("cpu_usage").expr().as<promql::VectorSelector>()), mint,
             maxt, [&](promql::Series&& x) {
               n += x.samples.size();
               return true;
             });
    return n;
  };
  REQUIRE(s.engine->query(flowdb::Query::prefix("")).size() == 24 * 60);
  const uint64_t before = files();
  CHECK(count(last_ms - 30 * 60'000, last_ms) == 31);
  const uint64_t hour = files() - before;
  CHECK(hour == 1);  // of 24 bucket SSTs
  const uint64_t mid = files();
  CHECK(count(0, last_ms) == 24 * 60);
  CHECK(files() - mid >= 24);
}

TEST_CASE("EngineQuerier bounds the samples it holds by max_samples", "[agent][prom]") {
  Store s;
  std::vector<flowdb::Record> b;
  const std::string key = flowdb::ingest::series_key("m", std::vector<Tag>{}, "value");
  for (int64_t i = 0; i < 100; ++i) {
    b.emplace_back(key, i * 1000, flowdb::ingest::encode_value(FieldValue(1.0)));
  }
  s.engine->write_batch(std::move(b));
  const promql::Matchers m =
      promql::compile(*promql::parse("m").expr().as<promql::VectorSelector>());
  auto sel = [&](size_t cap) {
    EngineQuerier q(*s.engine, cap);
    size_t n = 0;
    q.select(m, 0, 1000, [&](promql::Series&& x) {
      n += x.samples.size();
      return true;
    });
    return n;
  };
  CHECK(sel(100) == 100);
  try {
    sel(99);
    FAIL("no error past max_samples");
  } catch (const promql::EvalError& e) {
    CHECK(e.type() == "execution");
    CHECK_THAT(e.what(), Contains("too many samples"));
  }
}

TEST_CASE("EngineQuerier returns stored staleness markers as StaleNaN", "[agent][prom]") {
  Store s;
  s.put("up", {{"job", "j"}}, "value", 1'000'000, FieldValue(1.0));
  s.put("up", {{"job", "j"}}, "value", 2'000'000,
        FieldValue(std::bit_cast<double>(flowdb::ingest::kStaleMarkerBits)));
  EngineQuerier q(*s.engine);
  std::vector<promql::Sample> got;
  q.select(promql::compile(*promql::parse("up").expr().as<promql::VectorSelector>()), 0, 5000,
           [&](promql::Series&& x) {
             got = x.samples;
             return true;
           });
  REQUIRE(got.size() == 2);
  CHECK(got[0].v == 1.0);
  CHECK(promql::is_stale_nan(got[1].v));
  CHECK(got[1].t == 2000);
}

namespace {

struct Api {
  Store s;
  std::unique_ptr<flowdb::agent::HttpServer> http;
  std::unique_ptr<PromApi> api;
  int port = free_port();
  Api() {
    flowdb::agent::HttpHooks h;
    h.metrics_text = [] { return std::string(); };
    h.ready = [](std::string*) { return true; };
    h.engine = s.engine.get();
    http = std::make_unique<flowdb::agent::HttpServer>("127.0.0.1:" + std::to_string(port), h);
    flowdb::agent::PromApiOptions o;
    o.version = "9.9.9";
    o.limits.max_samples = 50;
    api = std::make_unique<PromApi>(*s.engine, o);
    api->add_routes(*http);
    for (int i = 0; i < 10; ++i) {
      s.put("cpu", {{"host", "a"}}, "usage", i * 1'000'000, FieldValue(double(i)));
      s.put("cpu", {{"host", "b"}}, "usage", i * 1'000'000, FieldValue(double(i)));
      s.put("mem", {{"dc", "x"}, {"host", "a"}}, "free", i * 1'000'000, FieldValue(double(i)));
    }
  }
  ~Api() {
    api.reset();  // its routes first
    http.reset();
  }
  flowdb::testing::HttpResponse get(const std::string& p) { return http_get(port, p); }
};

}  // namespace

TEST_CASE("series, labels and label values answer as Prometheus", "[agent][prom][http]") {
  Api a;
  CHECK(a.get("/api/v1/series?match[]=cpu_usage").body ==
        "{\"status\":\"success\",\"data\":[{\"__name__\":\"cpu_usage\",\"host\":\"a\"},"
        "{\"__name__\":\"cpu_usage\",\"host\":\"b\"}]}");
  // Two match[] are a union; start/end restrict by time (seconds).
  CHECK(a.get("/api/v1/series?match[]=cpu_usage%7Bhost%3D%22b%22%7D&match[]=mem_free&start=5&"
              "end=6")
            .body ==
        "{\"status\":\"success\",\"data\":[{\"__name__\":\"cpu_usage\",\"host\":\"b\"}"
        ",{\"__name__\":\"mem_free\",\"dc\":\"x\",\"host\":\"a\"}]}");
  CHECK(a.get("/api/v1/series?match[]=cpu_usage&start=100").body ==
        "{\"status\":\"success\",\"data\":[]}");
  CHECK(a.get("/api/v1/labels").body ==
        "{\"status\":\"success\",\"data\":[\"__name__\",\"dc\",\"host\"]}");
  CHECK(a.get("/api/v1/labels?match[]=cpu_usage").body ==
        "{\"status\":\"success\",\"data\":[\"__name__\",\"host\"]}");
  CHECK(a.get("/api/v1/label/__name__/values").body ==
        "{\"status\":\"success\",\"data\":[\"cpu_usage\",\"mem_free\"]}");
  CHECK(a.get("/api/v1/label/host/values?match[]=mem_free").body ==
        "{\"status\":\"success\",\"data\":[\"a\"]}");
  CHECK(a.get("/api/v1/label/nope/values").body == "{\"status\":\"success\",\"data\":[]}");
  // A form POST, as Grafana sends for long match[] lists.
  auto post = http_request("POST", a.port, "/api/v1/series", "match%5B%5D=mem_free",
                           "Content-Type: application/x-www-form-urlencoded\r\n");
  CHECK(post.body ==
        "{\"status\":\"success\",\"data\":[{\"__name__\":\"mem_free\",\"dc\":\"x\",\"host\":\"a\"}]"
        "}");
  CHECK_THAT(a.get("/api/v1/status/buildinfo").body, Contains("\"version\":\"9.9.9\""));
  CHECK(a.get("/api/v1/metadata").body == "{\"status\":\"success\",\"data\":{}}");
}

TEST_CASE("Bad API parameters are 400 bad_data with Prometheus's messages", "[agent][prom][http]") {
  Api a;
  auto no_match = a.get("/api/v1/series");
  CHECK(no_match.status == 400);
  CHECK(no_match.body ==
        "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"no match[] parameter "
        "provided\"}");
  auto bad_sel = a.get("/api/v1/series?match[]=rate(x%5B5m%5D)");
  CHECK(bad_sel.status == 400);
  CHECK_THAT(bad_sel.body, Contains("\"errorType\":\"bad_data\""));
  auto bad_re = a.get("/api/v1/series?match[]=cpu_usage%7Bhost%3D~%22(%22%7D");
  CHECK(bad_re.status == 400);
  CHECK_THAT(bad_re.body, Contains("error parsing regexp"));
  auto bad_time = a.get("/api/v1/labels?start=yesterday");
  CHECK(bad_time.status == 400);
  CHECK_THAT(bad_time.body,
             Contains("invalid parameter \\\"start\\\": cannot parse \\\"yesterday\\\" to a valid "
                      "timestamp"));
  CHECK(a.get("/api/v1/label/bad-name/values").status == 400);
  auto range = a.get("/api/v1/query_range?query=cpu_usage&start=10&end=5&step=1");
  CHECK(range.status == 400);
  CHECK_THAT(range.body, Contains("end timestamp must not be before start time"));
  auto step = a.get("/api/v1/query_range?query=cpu_usage&start=0&end=5&step=0");
  CHECK_THAT(step.body, Contains("zero or negative query resolution step"));
  auto points = a.get("/api/v1/query_range?query=cpu_usage&start=0&end=100000&step=1");
  CHECK_THAT(points.body, Contains("exceeded maximum resolution of 11,000 points"));
  auto parse = a.get("/api/v1/query?query=sum(");
  CHECK(parse.status == 400);
  CHECK_THAT(parse.body, Contains("invalid parameter \\\"query\\\": 1:"));
  CHECK(http_request("DELETE", a.port, "/api/v1/query").status == 405);
  auto old = a.get("/api/v1/query?series=cpu");  // the export API's old path
  CHECK(old.status == 400);
  CHECK_THAT(old.body, Contains("moved to /api/v1/export"));
}

TEST_CASE("Prometheus time and duration parameters", "[agent][prom]") {
  using flowdb::agent::parse_prom_duration;
  using flowdb::agent::parse_prom_time;
  CHECK(parse_prom_time("1700000000.5", "time") == 1700000000500);
  CHECK(parse_prom_time("1700000000", "time") == 1700000000000);
  CHECK(parse_prom_time("-1.5", "time") == -1500);
  CHECK(parse_prom_time("2023-11-14T22:13:20.25Z", "time") == 1700000000250);
  CHECK(parse_prom_time("2023-11-14T23:13:20+01:00", "time") == 1700000000000);
  CHECK_THROWS_AS(parse_prom_time("now", "time"), flowdb::agent::BadData);
  CHECK(parse_prom_duration("15", "step") == 15000);
  CHECK(parse_prom_duration("0.5", "step") == 500);
  CHECK(parse_prom_duration("1m30s", "step") == 90000);
  CHECK(parse_prom_duration("1h", "step") == 3600000);
  CHECK(parse_prom_duration("250ms", "step") == 250);
  CHECK_THROWS_AS(parse_prom_duration("30s1m", "step"), flowdb::agent::BadData);
  CHECK_THROWS_AS(parse_prom_duration("1x", "step"), flowdb::agent::BadData);
  CHECK_THROWS_AS(parse_prom_duration("", "step"), flowdb::agent::BadData);
  flowdb::agent::PromParams p;
  p.add_form("match%5B%5D=a&x=1+2&match[]=%7Bb%3D%22c%22%7D&bad=%zz");
  CHECK(p.all("match[]") == std::vector<std::string>{"a", "{b=\"c\"}"});
  CHECK(p.get("x") == "1 2");
  CHECK(p.get("bad") == "%zz");
  CHECK(!p.get("y"));
}

#ifdef FLOWDB_WITH_REMOTE_WRITE
namespace {

std::string compress(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

prometheus::ReadResponse read(PromApi& api, const prometheus::ReadRequest& req, int* status) {
  std::string raw;
  req.SerializeToString(&raw);
  flowdb::agent::HttpResponse r = api.read(compress(raw));
  *status = r.status;
  prometheus::ReadResponse resp;
  if (r.status != 200) return resp;
  CHECK(r.content_type == "application/x-protobuf");
  std::string body;
  REQUIRE(snappy::Uncompress(r.body.data(), r.body.size(), &body));
  REQUIRE(resp.ParseFromString(body));
  return resp;
}

}  // namespace

TEST_CASE("Remote read answers each query with the matching series' samples",
          "[agent][prom][remote_read]") {
  Api a;
  prometheus::ReadRequest req;
  prometheus::Query* q = req.add_queries();
  q->set_start_timestamp_ms(2000);
  q->set_end_timestamp_ms(4000);
  auto* m = q->add_matchers();
  m->set_type(prometheus::LabelMatcher::RE);
  m->set_name("__name__");
  m->set_value("cpu_.*");
  m = q->add_matchers();
  m->set_type(prometheus::LabelMatcher::NEQ);
  m->set_name("host");
  m->set_value("a");
  prometheus::Query* q2 = req.add_queries();  // nothing matches
  q2->set_start_timestamp_ms(0);
  q2->set_end_timestamp_ms(100000);
  m = q2->add_matchers();
  m->set_name("__name__");
  m->set_value("absent");
  int status = 0;
  prometheus::ReadResponse resp = read(*a.api, req, &status);
  REQUIRE(status == 200);
  REQUIRE(resp.results_size() == 2);
  REQUIRE(resp.results(0).timeseries_size() == 1);
  const prometheus::TimeSeries& ts = resp.results(0).timeseries(0);
  REQUIRE(ts.labels_size() == 2);
  CHECK(ts.labels(0).name() == "__name__");
  CHECK(ts.labels(0).value() == "cpu_usage");
  CHECK(ts.labels(1).value() == "b");
  REQUIRE(ts.samples_size() == 3);
  CHECK(ts.samples(0).timestamp() == 2000);
  CHECK(ts.samples(2).value() == 4.0);
  CHECK(resp.results(1).timeseries_size() == 0);

  // More samples than http.promql.max_samples (50 here): 400, as Prometheus.
  prometheus::ReadRequest big;
  prometheus::Query* all = big.add_queries();
  all->set_start_timestamp_ms(0);
  all->set_end_timestamp_ms(100000);
  m = all->add_matchers();
  m->set_type(prometheus::LabelMatcher::RE);
  m->set_name("__name__");
  m->set_value(".+");
  read(*a.api, big, &status);
  CHECK(status == 200);  // 30 samples
  for (int i = 10; i < 40; ++i) {
    a.s.put("cpu", {{"host", "c"}}, "usage", i * 1'000'000, FieldValue(double(i)));
  }
  read(*a.api, big, &status);
  CHECK(status == 400);
  CHECK(a.api->read("not snappy").status == 400);
}
#endif
