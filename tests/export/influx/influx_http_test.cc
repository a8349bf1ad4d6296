// influx_http against real servers: InfluxDB 1.6 (v1: every sample arrives
// with its series, type and timestamp; type conflicts are kReject; auth;
// outage and restart) and VictoriaMetrics (v1 and v2 with gzip, over TLS).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>

#include "export/influx/influx_http_sink.h"
#include "servers.h"

using flowdb::exporter::Sample;
using flowdb::exporter::SendStatus;
using flowdb::ingest::FieldValue;
using flowdb::ingest::Tag;
using flowdb::testing::Influxd;
using flowdb::testing::make_sample;
using flowdb::testing::TempDir;
using flowdb::testing::VictoriaMetrics;
namespace json = boost::json;

namespace {

std::unique_ptr<flowdb::exporter::Sink> make_sink(const std::string& yaml) {
  return flowdb::testing::sink_from_yaml(flowdb::export_influx::influx_http_config_keys(),
                                         flowdb::export_influx::make_influx_http_sink, yaml);
}

std::string str(const json::value& v) { return json::value_to<std::string>(v); }

// The first series of an InfluxDB /query answer: rows as column -> value.
std::vector<std::map<std::string, json::value>> influx_rows(const std::string& body) {
  const json::value doc = json::parse(body);
  const json::array& series = doc.at("results").at(0).at("series").as_array();  // throws if no data
  std::vector<std::map<std::string, json::value>> rows;
  for (const json::value& s : series) {
    const json::array& cols = s.at("columns").as_array();
    for (const json::value& v : s.at("values").as_array()) {
      std::map<std::string, json::value> row;
      for (size_t i = 0; i < cols.size(); ++i) row[json::value_to<std::string>(cols[i])] = v.at(i);
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace

TEST_CASE("influx v1 delivers every sample with its series, type and timestamp",
          "[export][influx][influxd]") {
  TempDir dir;
  Influxd influx(dir.path());
  influx.create_database("db1");
  auto sink = make_sink("{url: '" + influx.url() + "', database: db1}");
  const int64_t t0 = flowdb::testing::recent_ts_us();
  const std::vector<Tag> tags = {{"host", "gw 1,a=b"}, {"room", "k\\1"}};
  const std::vector<Sample> batch = {
      make_sample("env", tags, "temp", 21.5, t0),
      make_sample("env", tags, "count", int64_t{-42}, t0),
      make_sample("env", tags, "big", uint64_t{7}, t0),
      make_sample("env", tags, "ok", true, t0),
      make_sample("env", tags, "note", std::string("say \"hi\" \\ ü"), t0),
      make_sample("env", tags, "temp", 0.1, t0 + 1),  // next microsecond
      make_sample("env", {{"host", "gw2"}}, "temp", -3e-5, t0 + 2),
  };
  const auto r = sink->send(batch);
  INFO(r.message);
  REQUIRE(r.status == SendStatus::kOk);
  CHECK(r.http_status == 204);
  CHECK(r.unsupported == 0);
  CHECK(r.bytes_sent > 0);

  const auto rows = influx_rows(influx.select_all("db1", "env"));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].at("time").to_number<int64_t>() == t0);
  CHECK(str(rows[0].at("host")) == "gw 1,a=b");
  CHECK(str(rows[0].at("room")) == "k\\1");
  CHECK(rows[0].at("temp").to_number<double>() == 21.5);
  CHECK(rows[0].at("count").to_number<int64_t>() == -42);
  CHECK(rows[0].at("big").to_number<int64_t>() == 7);
  CHECK(rows[0].at("ok").as_bool());
  CHECK(str(rows[0].at("note")) == "say \"hi\" \\ ü");
  CHECK(rows[1].at("time").to_number<int64_t>() == t0 + 1);
  CHECK(rows[1].at("temp").to_number<double>() == 0.1);
  CHECK(rows[1].at("count").is_null());
  CHECK(rows[2].at("time").to_number<int64_t>() == t0 + 2);
  CHECK(str(rows[2].at("host")) == "gw2");
  CHECK(rows[2].at("room").is_null());  // gw2 has no room tag
  CHECK(rows[2].at("temp").to_number<double>() == -3e-5);

  // The stored field types are the samples' types.
  const auto types = influx_rows(influx.query("SHOW FIELD KEYS FROM env", "db1").body);
  std::map<std::string, std::string> type_of;
  for (const auto& row : types) {
    type_of[json::value_to<std::string>(row.at("fieldKey"))] =
        json::value_to<std::string>(row.at("fieldType"));
  }
  CHECK(type_of == std::map<std::string, std::string>{{"big", "integer"},
                                                      {"count", "integer"},
                                                      {"note", "string"},
                                                      {"ok", "boolean"},
                                                      {"temp", "float"}});
}

TEST_CASE("influx v1 answers a field-type conflict with kReject", "[export][influx][influxd]") {
  TempDir dir;
  Influxd influx(dir.path());
  influx.create_database("db1");
  auto sink = make_sink("{url: '" + influx.url() + "', database: db1}");
  const int64_t t0 = flowdb::testing::recent_ts_us();
  REQUIRE(sink->send(std::vector<Sample>{make_sample("m", {}, "f", 1.5, t0)}).status ==
          SendStatus::kOk);
  const auto r = sink->send(std::vector<Sample>{make_sample("m", {{"t", "x"}}, "f", int64_t{2}, t0),
                                                make_sample("m", {{"t", "y"}}, "f", 2.5, t0)});
  CHECK(r.status == SendStatus::kReject);
  CHECK(r.http_status == 400);
  CHECK_THAT(r.message, Catch::Contains("field type conflict") && Catch::Contains("dropped=1"));
  CHECK(!r.retry_after);
  // A missing database is the upstream's state, not the data's fault: kRetry.
  auto missing = make_sink("{url: '" + influx.url() + "', database: nope}");
  const auto m = missing->send(std::vector<Sample>{make_sample("m", {}, "f", 1.0, t0)});
  CHECK(m.status == SendStatus::kRetry);
  CHECK(m.http_status == 404);
  CHECK_THAT(m.message, Catch::Contains("database not found"));
}

TEST_CASE("influx v1 with auth: a wrong password is kRetry, the right one kOk",
          "[export][influx][influxd]") {
  TempDir dir;
  Influxd influx(dir.path(), "admin", "right-pw");
  influx.create_database("db1");
  const std::vector<Sample> batch = {
      make_sample("m", {}, "f", 1.0, flowdb::testing::recent_ts_us())};
  auto wrong = make_sink("{url: '" + influx.url() +
                         "', database: db1, username: admin, password: wrong-pw}");
  const auto r = wrong->send(batch);
  CHECK(r.status == SendStatus::kRetry);
  CHECK(r.http_status == 401);
  CHECK_THAT(r.message, Catch::Contains("authentication failed"));
  CHECK(r.message.find("wrong-pw") == std::string::npos);
  auto none = make_sink("{url: '" + influx.url() + "', database: db1}");
  CHECK(none->send(batch).status == SendStatus::kRetry);
  auto right = make_sink("{url: '" + influx.url() +
                         "', database: db1, username: admin, password: right-pw}");
  CHECK(right->send(batch).status == SendStatus::kOk);
  CHECK(influx_rows(influx.select_all("db1", "m")).size() == 1);
}

TEST_CASE("influx v1 to a stopped server is kRetry and after a restart it is delivered",
          "[export][influx][influxd]") {
  TempDir dir;
  Influxd influx(dir.path());
  influx.create_database("db1");
  auto sink = make_sink("{url: '" + influx.url() + "', database: db1, timeout: 2s}");
  const std::vector<Sample> batch = {
      make_sample("m", {}, "f", 1.0, flowdb::testing::recent_ts_us())};
  REQUIRE(sink->send(batch).status == SendStatus::kOk);  // a kept-alive connection
  influx.stop();
  const auto down = sink->send(batch);
  CHECK(down.status == SendStatus::kRetry);
  CHECK(down.http_status == 0);
  CHECK_THAT(down.message, Catch::Contains("Couldn't connect"));
  influx.start();
  const std::vector<Sample> next = {
      make_sample("m", {}, "f", 2.0, flowdb::testing::recent_ts_us() + 1)};
  CHECK(sink->send(next).status == SendStatus::kOk);
  CHECK(influx_rows(influx.select_all("db1", "m")).size() == 2);
}

TEST_CASE("influx v1 and v2 with gzip arrive in VictoriaMetrics", "[export][influx][vm]") {
  TempDir dir;
  VictoriaMetrics vm(dir.path());
  const int64_t t0 = flowdb::testing::recent_ts_us();
  const std::vector<Tag> tags = {{"host", "gw 1"}};
  const std::vector<Sample> batch = {
      make_sample("cpu", tags, "usage", 0.25, t0),
      make_sample("cpu", tags, "procs", int64_t{87}, t0),
      make_sample("cpu", tags, "usage", 0.5, t0 + 1000),
      make_sample("cpu", tags, "big", uint64_t{1} << 40, t0 + 1000),
      make_sample("cpu", tags, "up", true, t0 + 2000),
  };
  auto v1 = make_sink("{url: '" + vm.url() + "', database: db1}");
  auto v2 = make_sink("{url: '" + vm.url() + "', api: v2, org: o, bucket: b, token: t}");
  for (auto* sink : {v1.get(), v2.get()}) {
    const auto r = sink->send(batch);
    INFO(r.message);
    REQUIRE(r.status == SendStatus::kOk);
    CHECK(r.http_status == 204);
  }
  const auto got = vm.export_series("{__name__=~\"cpu_.*\"}");
  const int64_t ms = t0 / 1000;
  // v1 writes get a db label; v2 writes do not.
  for (const std::string db : {"db=db1,", ""}) {
    CAPTURE(db);
    using P = VictoriaMetrics::Points;
    CHECK(got.at("cpu_usage{" + db + "host=gw 1}") == P{{ms, 0.25}, {ms + 1, 0.5}});
    CHECK(got.at("cpu_procs{" + db + "host=gw 1}") == P{{ms, 87}});
    CHECK(got.at("cpu_big{" + db + "host=gw 1}") == P{{ms + 1, 1099511627776.0}});
    CHECK(got.at("cpu_up{" + db + "host=gw 1}") == P{{ms + 2, 1}});
  }
  CHECK(got.size() == 8);
}

TEST_CASE("influx over TLS verifies the server certificate", "[export][influx][vm][tls]") {
  TempDir dir;
  const auto [cert, key] = flowdb::testing::make_self_signed_cert(dir.path(), "vm");
  VictoriaMetrics vm(dir / "vm", cert, key);
  const std::vector<Sample> batch = {
      make_sample("tls", {}, "f", 1.0, flowdb::testing::recent_ts_us())};
  const std::string base = "{url: '" + vm.https_url() + "', api: v2, bucket: b";
  // Not trusted (system store): no write, kRetry with the TLS reason.
  const auto untrusted = make_sink(base + "}")->send(batch);
  CHECK(untrusted.status == SendStatus::kRetry);
  CHECK(untrusted.http_status == 0);
  CHECK_THAT(untrusted.message, Catch::Contains("certificate"));
  // Trusted through ca_file; or verification off.
  const auto trusted = make_sink(base + ", tls: {ca_file: '" + cert + "'}}")->send(batch);
  INFO(trusted.message);
  CHECK(trusted.status == SendStatus::kOk);
  CHECK(make_sink(base + ", tls: {verify: false}}")->send(batch).status == SendStatus::kOk);
}
