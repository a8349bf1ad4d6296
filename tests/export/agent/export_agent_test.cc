// flowdb-agent with exports, end to end against real upstreams started here
// on loopback: UDP line protocol in, VictoriaMetrics / InfluxDB / Prometheus /
// mosquitto out. Outage and kill -9 of the agent: nothing goes missing.
#include <mqtt/async_client.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <map>

#include "servers.h"

using namespace flowdb::testing;
namespace json = boost::json;

namespace {

struct Agent {
  TempDir dir;
  int http = free_port();
  int udp = free_port(SOCK_DGRAM);
  std::string log = dir / "agent.log";
  std::unique_ptr<Process> proc;

  void start(const std::string& exports, const std::string& sync = "interval") {
    const std::string cfg = "storage:\n  data_dir: " + (dir / "data") + "\n  sync: " + sync +
                            "\n  batch_window: 2ms\ninputs:\n  udp:\n    - name: udp\n"
                            "      listen: [\"127.0.0.1:" +
                            std::to_string(udp) + "\"]\nexports:\n" + exports +
                            "http:\n  listen: 127.0.0.1:" + std::to_string(http) +
                            "\nlog:\n  level: info\n  status_interval: 1s\n";
    write_file(dir / "agent.yaml", cfg);
    proc = std::make_unique<Process>(
        std::vector<std::string>{FLOWDB_AGENT_BIN, "--config", dir / "agent.yaml"}, log);
    REQUIRE(wait_until([&] { return http_get(http, "/health").status == 200; },
                       std::chrono::seconds(20)));
  }
  double metric(const std::string& name_with_labels) {
    return metric_value(http_get(http, "/metrics").body, name_with_labels);
  }
  void stop() {
    proc->signal(SIGTERM);
    REQUIRE(proc->wait(std::chrono::seconds(30)) == std::optional<int>(0));
  }
};

// `n` points of measurement `m` for series host=h0..h9, value = i, ts in ns
// from `t0_ns` (1 ms apart), sent 100 lines per datagram.
void send_points(int port, const std::string& m, int first, int n, int64_t t0_ns) {
  std::string batch;
  for (int i = first; i < first + n; ++i) {
    batch += m + ",host=h" + std::to_string(i % 10) + " value=" + std::to_string(i) + " " +
             std::to_string(t0_ns + int64_t{i} * 1'000'000) + "\n";
    if ((i - first) % 100 == 99 || i == first + n - 1) {
      send_udp(port, batch);
      batch.clear();
      if ((i - first) % 2000 == 1999) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Samples of `metric` in VictoriaMetrics: ms timestamp -> value, per host.
std::map<std::string, std::map<int64_t, double>> vm_samples(VictoriaMetrics& vm,
                                                            const std::string& metric) {
  std::map<std::string, std::map<int64_t, double>> out;
  std::istringstream lines(vm.export_json("{__name__=\"" + metric + "\"}"));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const json::object o = json::parse(line).as_object();
    const std::string host(o.at("metric").as_object().at("host").as_string());
    const json::array& ts = o.at("timestamps").as_array();
    const json::array& vs = o.at("values").as_array();
    for (size_t i = 0; i < ts.size(); ++i)
      out[host][ts[i].to_number<int64_t>()] = vs[i].to_number<double>();
  }
  return out;
}

size_t count(const std::map<std::string, std::map<int64_t, double>>& s) {
  size_t n = 0;
  for (const auto& [h, m] : s) n += m.size();
  return n;
}

// Every point i in [0, n) is present with its value and millisecond timestamp.
void check_all(const std::map<std::string, std::map<int64_t, double>>& s, int n, int64_t t0_ns) {
  REQUIRE(count(s) == size_t(n));
  for (int i = 0; i < n; ++i) {
    const auto& series = s.at("h" + std::to_string(i % 10));
    const auto it = series.find((t0_ns + int64_t{i} * 1'000'000) / 1'000'000);
    REQUIRE(it != series.end());
    REQUIRE(it->second == double(i));
  }
}

std::string vm_export(const VictoriaMetrics& vm, const std::string& extra = "") {
  return "  - type: influx_http\n    name: vm\n    url: " + vm.url() +
         "\n    api: v2\n    bucket: gw\n    max_delay: 50ms\n    retry_min: 50ms\n"
         "    retry_max: 500ms\n" +
         extra;
}

const std::string kLag = "flowdb_export_lag_points{export=\"vm\",type=\"influx_http\"}";

}  // namespace

TEST_CASE("an upstream outage delays points but loses none, lag rises and returns to zero",
          "[export][agent][integration]") {
  TempDir srv;
  VictoriaMetrics vm(srv / "vm");
  Agent a;
  a.start(vm_export(vm));
  const int64_t t0 = now_ns() - 3'600'000'000'000;  // an hour ago: inside VM's retention
  send_points(a.udp, "outage", 0, 2000, t0);
  REQUIRE(wait_until([&] { return count(vm_samples(vm, "outage_value")) == 2000; },
                     std::chrono::seconds(30)));
  vm.stop();
  send_points(a.udp, "outage", 2000, 3000, t0);
  REQUIRE(wait_until([&] { return a.metric(kLag) > 0; }, std::chrono::seconds(20)));
  REQUIRE(wait_until([&] {
    return a.metric("flowdb_export_retries_total{export=\"vm\",type=\"influx_http\"}") >= 2;
  }));
  CHECK(a.metric("flowdb_export_up{export=\"vm\",type=\"influx_http\"}") == 0);
  vm.start();
  REQUIRE(wait_until([&] { return a.metric(kLag) == 0; }, std::chrono::seconds(30)));
  check_all(vm_samples(vm, "outage_value"), 5000, t0);
  CHECK(a.metric("flowdb_export_points_sent_total{export=\"vm\",type=\"influx_http\"}") >= 5000);
  CHECK(a.metric("flowdb_export_up{export=\"vm\",type=\"influx_http\"}") == 1);
  a.stop();
}

TEST_CASE("kill -9 of the agent while it exports: after a restart nothing is missing upstream",
          "[export][agent][integration]") {
  TempDir srv;
  VictoriaMetrics vm(srv / "vm");
  Agent a;
  // A slow export (rate limit) so the kill lands mid-stream.
  a.start(vm_export(vm, "    rate_limit: 4000\n    batch_points: 500\n"), "always");
  const int64_t t0 = now_ns() - 3'600'000'000'000;
  send_points(a.udp, "crash", 0, 20000, t0);
  REQUIRE(wait_until(
      [&] { return a.metric("flowdb_input_records_stored_total{input=\"udp\"}") == 20000; },
      std::chrono::seconds(30)));
  REQUIRE(wait_until([&] { return count(vm_samples(vm, "crash_value")) >= 2000; },
                     std::chrono::seconds(30)));
  a.proc->signal(SIGKILL);
  a.proc->wait();
  const size_t before = count(vm_samples(vm, "crash_value"));
  INFO("exported before the kill: " << before);
  CHECK(before < 20000);  // the kill really interrupted the export
  a.start(vm_export(vm, "    batch_points: 5000\n"), "always");
  REQUIRE(wait_until([&] { return a.metric(kLag) == 0; }, std::chrono::seconds(60)));
  check_all(vm_samples(vm, "crash_value"), 20000, t0);
  a.stop();
}

TEST_CASE("points InfluxDB rejects are isolated and counted, the rest arrives",
          "[export][agent][integration]") {
  TempDir srv;
  Influxd influx(srv / "influx");
  influx.create_database("gw");
  Agent a;
  a.start("  - type: influx_http\n    name: influx\n    url: " + influx.url() +
          "\n    database: gw\n    max_delay: 50ms\n");
  const int64_t t0 = now_ns() - 60'000'000'000;
  std::string lines;
  for (int i = 0; i < 50; ++i) {
    // Field `v` is a float; points 10, 20, 30 send it as a string: a field
    // type conflict InfluxDB refuses with 400 ("partial write").
    const std::string v =
        i % 10 == 0 && i > 0 ? "\"s" + std::to_string(i) + "\"" : std::to_string(i) + ".5";
    lines += "conflict,host=a v=" + v + " " + std::to_string(t0 + int64_t{i} * 1'000'000) + "\n";
  }
  send_udp(a.udp, lines);
  const std::string rejected =
      "flowdb_export_rejected_points_total{export=\"influx\",reason=\"upstream\",type=\"influx_"
      "http\"}";
  REQUIRE(wait_until([&] { return a.metric(rejected) == 4; }, std::chrono::seconds(30)));
  // The lag gauge is refreshed after the batch is acknowledged, not with the counter.
  CHECK(wait_until(
      [&] {
        return a.metric("flowdb_export_lag_points{export=\"influx\",type=\"influx_http\"}") == 0;
      },
      std::chrono::seconds(30)));
  const json::value r = json::parse(influx.select_all("gw", "conflict"));
  const json::array& values = r.at("results").at(0).at("series").at(0).at("values").as_array();
  CHECK(values.size() == 46);  // 50 - 4 strings
  a.stop();
}

TEST_CASE("remote write delivers stored points to a real Prometheus",
          "[export][agent][integration]") {
  TempDir srv;
  Prometheus prom(srv / "prom");
  Agent a;
  a.start("  - type: prometheus_remote_write\n    name: prom\n    url: " + prom.remote_write_url() +
          "\n    max_delay: 50ms\n");
  const int64_t t0 = now_ns() - 120'000'000'000;  // 2 minutes ago
  send_points(a.udp, "rw", 0, 200, t0);
  REQUIRE(wait_until(
      [&] {
        return a.metric(
                   "flowdb_export_points_sent_total{export=\"prom\",type=\"prometheus_remote_"
                   "write\"}") == 200;
      },
      std::chrono::seconds(30)));
  const json::value r = json::parse(prom.query("rw_value{host=\"h3\"}[1h]"));
  const json::array& vals = r.at("data").at("result").at(0).at("values").as_array();
  REQUIRE(vals.size() == 20);  // i = 3, 13, ..., 193
  for (size_t k = 0; k < vals.size(); ++k) {
    const int i = 3 + 10 * static_cast<int>(k);
    CHECK(std::stod(std::string(vals[k].at(1).as_string())) == double(i));
    const double ts = vals[k].at(0).to_number<double>();
    CHECK(std::llround(ts * 1000) == (t0 + int64_t{i} * 1'000'000) / 1'000'000);
  }
  a.stop();
}

TEST_CASE("the mqtt export publishes stored points to an upstream broker",
          "[export][agent][integration]") {
  TempDir srv;
  Mosquitto broker(srv.path());
  mqtt::async_client sub(broker.uri(), "flowdb-test-sub");
  std::mutex mu;
  std::vector<std::string> payloads;
  sub.set_message_callback([&](mqtt::const_message_ptr m) {
    std::lock_guard<std::mutex> l(mu);
    payloads.push_back(m->get_payload_str());
  });
  sub.connect()->wait();
  sub.subscribe("up/#", 1)->wait();
  Agent a;
  a.start("  - type: mqtt\n    name: up\n    broker: " + broker.uri() +
          "\n    topic: up/{measurement}/{tag:host}\n    max_delay: 50ms\n");
  const int64_t t0 = now_ns();
  send_points(a.udp, "mq", 0, 100, t0);
  REQUIRE(wait_until(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        size_t lines = 0;
        for (const auto& p : payloads)
          lines += std::count(p.begin(), p.end(), '\n') + (p.empty() || p.back() == '\n' ? 0 : 1);
        return lines == 100;
      },
      std::chrono::seconds(30)));
  std::lock_guard<std::mutex> l(mu);
  std::string all;
  for (const auto& p : payloads) all += p + "\n";
  for (int i = 0; i < 100; ++i) {
    CHECK_THAT(all, Catch::Contains("mq,host=h" + std::to_string(i % 10) +
                                    " value=" + std::to_string(i) + " "));
  }
  sub.disconnect()->wait();
  a.stop();
}

// Not a test: the catch-up rate of a backlog to VictoriaMetrics (see
// BENCHMARKS.md). FLOWDB_CATCHUP_POINTS sets the backlog size.
TEST_CASE("backlog catch-up rate to VictoriaMetrics", "[.catchup]") {
  const char* env = std::getenv("FLOWDB_CATCHUP_POINTS");
  const int n = env ? std::atoi(env) : 2'000'000;
  TempDir srv;
  VictoriaMetrics vm(srv / "vm");
  Agent a;
  a.start(vm_export(vm, "    batch_points: 50000\n    batch_bytes: 16MiB\n"));
  vm.stop();  // build the backlog while the upstream is down
  const int64_t t0 = now_ns() - 3'600'000'000'000;
  for (int first = 0; first < n; first += 100'000) {
    send_points(a.udp, "catchup", first, std::min(100'000, n - first), t0);
    wait_until(
        [&] { return a.metric("flowdb_input_records_stored_total{input=\"udp\"}") >= first; });
  }
  REQUIRE(wait_until(
      [&] { return a.metric("flowdb_input_records_stored_total{input=\"udp\"}") > 0.99 * n; },
      std::chrono::seconds(120)));
  const double stored = a.metric("flowdb_input_records_stored_total{input=\"udp\"}");
  vm.start();
  const auto t_start = std::chrono::steady_clock::now();
  REQUIRE(wait_until([&] { return a.metric(kLag) == 0; }, std::chrono::seconds(600)));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  WARN("catch-up: " << stored << " points in " << secs << " s = " << stored / secs << " points/s");
  a.stop();
}
