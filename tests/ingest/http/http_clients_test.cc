// Real clients against a flowdb-agent process: curl (InfluxDB write API,
// error paths, gzip) and a real Prometheus (remote_write to the agent,
// scraping itself).
#include <catch2/catch.hpp>

#include "client_agent.h"

using namespace flowdb;
using namespace flowdb::testing;
using Catch::Matchers::Contains;

TEST_CASE("curl writes through /write and /api/v2/write - its error paths", "[http][process]") {
  ClientAgent a;
  const std::string lp = a.dir / "body.lp", gz = a.dir / "body.lp.gz";
  write_file(lp, "curl,via=plain v=1 1700000000\ncurl,via=plain v=2 1700000001\n");
  REQUIRE(run_command({"gzip", "-c", lp}, gz) == 0);  // stdout lands in gz
  CHECK(a.curl("/api/v2/write?precision=s", lp, {"Authorization: Token tok"}) == 204);
  CHECK(a.curl("/write?precision=s&u=x&p=tok", gz, {"Content-Encoding: gzip"}) == 204);
  CHECK_THAT(a.query("series=curl&format=lp"), Contains("curl,via=plain v=2 1700000001"));
  CHECK(a.query("series=curl").find("\"count\":2") != std::string::npos);

  std::string body;
  CHECK(a.curl("/api/v2/write", lp, {}, &body) == 401);
  CHECK(a.curl("/api/v2/write", lp, {"Authorization: Token nope"}) == 401);
  CHECK(a.curl("/api/v2/write", lp, {"Authorization: Token tok", "Content-Encoding: gzip"},
               &body) == 400);  // not gzip
  CHECK_THAT(body, Contains("gzip"));
  const std::string bad = a.dir / "bad.lp", big = a.dir / "big.lp";
  write_file(bad, "curl,via=bad v=3 1700000002\ncurl,via=bad v=\n");
  CHECK(a.curl("/api/v2/write?precision=s", bad, {"Authorization: Token tok"}, &body) == 400);
  CHECK_THAT(body, Contains("{\"code\":\"invalid\",\"message\":\"partial write: "));
  CHECK(a.query("series=curl,via=bad").find("\"count\":1") != std::string::npos);
  write_file(big, std::string(70 * 1024, '#'));
  CHECK(a.curl("/api/v2/write", big, {"Authorization: Token tok"}) == 413);
  CHECK(a.agent.stop() == 0);
}

TEST_CASE("a real Prometheus remote-writes its own samples to the agent",
          "[http][process][prometheus]") {
  ClientAgent a;
  const int prom_port = free_port();
  const std::string pdir = a.dir / "prom";
  std::filesystem::create_directories(pdir);
  write_file(pdir + "/prometheus.yml",
             "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n"
             "    static_configs:\n      - targets: ['127.0.0.1:" +
                 std::to_string(prom_port) +
                 "']\nremote_write:\n  - url: " + a.url("/api/v1/write") +
                 "\n    authorization:\n      credentials: tok\n"
                 "    queue_config:\n      batch_send_deadline: 1s\n");
  Process prom({"prometheus", "--config.file=" + pdir + "/prometheus.yml",
                "--storage.tsdb.path=" + pdir + "/data",
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
               pdir + "/prometheus.log");
  // up{job="self",instance=...} = 1 once Prometheus scraped itself and sent it.
  const bool arrived = wait_until(
      [&] { return a.query("series=up,job=self&format=lp").find("value=1 ") != std::string::npos; },
      std::chrono::seconds(90));
  INFO("prometheus log: " << read_file(pdir + "/prometheus.log"));
  REQUIRE(arrived);
  CHECK_THAT(a.query("series=up,job=self&format=lp"),
             Contains("instance=127.0.0.1:" + std::to_string(prom_port)));
  CHECK(a.agent.metric("flowdb_input_points_received_total{input=\"influx\"}") > 1);
}
