// A real Prometheus server (Debian package `prometheus`) scrapes the agent.
#include <catch2/catch.hpp>

#include "agent_util.h"

using namespace flowdb::testing;
using Catch::Matchers::Contains;

TEST_CASE("Prometheus scrapes the agent: up == 1 and an agent counter",
          "[agent][prometheus][integration]") {
  if (::access("/usr/bin/prometheus", X_OK) != 0) {
    WARN("prometheus not installed (apt-get install prometheus); skipping");
    return;
  }
  TempDir dir;
  int http = free_port(), udp = free_port(SOCK_DGRAM), prom = free_port();
  write_file(
      dir / "agent.yaml",
      "storage:\n  data_dir: " + (dir / "data") +
          "\ninputs:\n  udp:\n    - name: udp\n      listen: [\"127.0.0.1:" + std::to_string(udp) +
          "\"]\nhttp:\n  listen: 127.0.0.1:" + std::to_string(http) + "\n");
  Process agent({FLOWDB_AGENT_BIN, "--config", dir / "agent.yaml"}, dir / "agent.log");
  REQUIRE(wait_until([&] { return http_get(http, "/health").status == 200; }));
  send_udp(udp, "temp,room=a c=21.5\ntemp,room=b c=19\n");
  REQUIRE(wait_until([&] {
    return metric_value(http_get(http, "/metrics").body,
                        "flowdb_input_records_stored_total{input=\"udp\"}") == 2;
  }));
  write_file(dir / "prometheus.yml",
             "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
             "  - job_name: flowdb\n    static_configs:\n      - targets: ['127.0.0.1:" +
                 std::to_string(http) + "']\n");
  Process prometheus({"prometheus", "--config.file=" + (dir / "prometheus.yml"),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom),
                      "--storage.tsdb.path=" + (dir / "tsdb")},
                     dir / "prometheus.log");
  std::string body;
  bool up = wait_until(
      [&] {
        body = http_get(prom, "/api/v1/query?query=up%7Bjob%3D%22flowdb%22%7D").body;
        return body.find("\"value\":[") != std::string::npos &&
               body.find(",\"1\"]") != std::string::npos;
      },
      std::chrono::seconds(60));
  INFO(body << read_file(dir / "prometheus.log"));
  REQUIRE(up);
  bool counter = wait_until(
      [&] {
        body =
            http_get(prom,
                     "/api/v1/query?query=flowdb_input_records_stored_total%7Binput%3D%22udp%22%7D")
                .body;
        return body.find(",\"2\"]") != std::string::npos;
      },
      std::chrono::seconds(30));
  INFO(body);
  CHECK(counter);
  agent.signal(SIGTERM);
  CHECK(agent.wait() == std::optional<int>(0));
}
