// The InfluxDB client libraries people already run, against a flowdb-agent
// process: Debian's python3-influxdb and InfluxDB 1.x CLI (`influx`) through
// /write, and the official JavaScript client through /api/v2/write.
#include <catch2/catch.hpp>

#include "client_agent.h"

using namespace flowdb;
using namespace flowdb::testing;
using Catch::Matchers::Contains;

namespace {

// Number of records the query API returns for `series` ("count":N); a
// record is one field of one point.
long stored_count(ClientAgent& a, const std::string& series) {
  const std::string body = a.query("series=" + series);
  const auto at = body.find("\"count\":");
  return at == std::string::npos ? -1 : std::atol(body.c_str() + at + 8);
}

const std::string kScripts = FLOWDB_HTTP_TEST_DIR;

}  // namespace

TEST_CASE("python3-influxdb writes JSON points and gzip line protocol through /write",
          "[http][process][clients]") {
  ClientAgent a;
  const std::string log = a.dir / "python.log";
  const int rc = run_command({"/usr/bin/python3", kScripts + "/influx_py_client.py",
                              std::to_string(a.agent.http_port()), "tok"},
                             log);
  const std::string out = read_file(log);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK_THAT(out, Contains("ping 1.8"));         // the X-Influxdb-Version it read
  CHECK(stored_count(a, "py,via=json") == 150);  // 50 points x 3 fields
  // The client's JSON point became fields v (float), ok (bool), s (string).
  const std::string json = a.query("series=py,via=json&format=lp");
  CHECK_THAT(json, Contains("py,via=json ok=true 1700000003000000000\n"));
  CHECK_THAT(json, Contains("py,via=json s=\"str 3\" 1700000003000000000\n"));
  CHECK_THAT(json, Contains("py,via=json v=4.5 1700000003000000000\n"));
  CHECK_THAT(a.query("series=py,via=gzip&format=lp"), Contains("py,via=gzip v=7i 1700000100"));
  CHECK_THAT(out, Contains("partial 400"));
  CHECK_THAT(out, Contains("partial write"));
  CHECK(stored_count(a, "py,via=partial") == 1);  // the good line of the two
  CHECK_THAT(out, Contains("denied 401"));
  CHECK(stored_count(a, "py,via=denied") == 0);
  CHECK(a.agent.stop() == 0);
}

TEST_CASE("the InfluxDB 1.x CLI inserts through /write with a password",
          "[http][process][clients]") {
  ClientAgent a;
  const std::string port = std::to_string(a.agent.http_port());
  const auto influx = [&](const std::string& password, const std::string& stmt) {
    return run_command(
        {"influx", "-host", "127.0.0.1", "-port", port, "-username", "cli", "-password", password,
         "-database", "gw", "-precision", "s", "-execute", stmt},
        a.dir / "influx.log");
  };
  CHECK(influx("tok", "INSERT cli,via=influx v=3.25,n=4i 1700000000") == 0);
  CHECK(influx("tok", "INSERT cli,via=influx v=1 1700000060") == 0);
  // influx 1.x exits 0 after a failed -execute; its output has the error.
  CHECK(influx("nope", "INSERT cli,via=denied v=1 1700000000") == 0);
  const std::string out = read_file(a.dir / "influx.log");
  INFO(out);
  CHECK_THAT(out, Contains("ERR: {\"code\":\"unauthorized\""));
  CHECK(stored_count(a, "cli,via=influx") == 3);  // fields n, v and v
  CHECK(a.query("series=cli,via=influx&format=lp") ==
        "cli,via=influx n=4i 1700000000000000000\n"
        "cli,via=influx v=3.25 1700000000000000000\n"
        "cli,via=influx v=1 1700000060000000000\n");
  CHECK(stored_count(a, "cli,via=denied") == 0);
  CHECK(a.agent.stop() == 0);
}

TEST_CASE("the InfluxDB 2 JavaScript client writes gzip bodies with a token",
          "[http][process][clients]") {
  ClientAgent a;
  const std::string log = a.dir / "node.log";
  const int rc = run_command(
      {"node", kScripts + "/influx_js_client.js", a.url(""), "tok", "sensors", "2500"}, log);
  const std::string out = read_file(log);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK_THAT(out, Contains("\nok"));
  CHECK_THAT(out, Contains("encodings gzip"));  // gzip on the wire
  CHECK_THAT(out, !Contains("identity"));
  // 2500 points over 10 series (tag i), 250 each, of 2 fields; point 7 has
  // v=7.5, n=7.
  for (int i = 0; i < 10; ++i) {
    CHECK(stored_count(a, "js,i=" + std::to_string(i) + ",via=node") == 500);
  }
  const std::string js = a.query("series=js,i=7,via=node&format=lp");
  CHECK_THAT(js, Contains("js,i=7,via=node n=7i 1700000007000000000\n"));
  CHECK_THAT(js, Contains("js,i=7,via=node v=7.5 1700000007000000000\n"));
  // A wrong token surfaces as the client's error, nothing stored.
  const int denied =
      run_command({"node", kScripts + "/influx_js_client.js", a.url(""), "nope", "sensors", "1"},
                  a.dir / "denied.log");
  CHECK(denied == 1);
  CHECK_THAT(read_file(a.dir / "denied.log"), Contains("401"));
  CHECK(a.agent.stop() == 0);
}
