// Metrics exported at 0 from the start, build info; log line formats and
// retention's severities through the agent's logger.
#include <catch2/catch.hpp>

#include "agent/agent.h"
#include "agent/core/log.h"
#include "agent/core/metrics.h"
#include "agent_util.h"
#include "ingest/mqtt/mqtt_metrics.h"
#include "stderr_capture.h"

using namespace flowdb;
using namespace flowdb::agent;
using Catch::Matchers::Contains;
using flowdb::testing::metric_value;

TEST_CASE("every counter with a known label set is exported at 0 from the start", "[metrics]") {
  Metrics m;
  m.input("udp");
  ingest_mqtt::ConnectionMetrics mq(m.registry(), "mq", "tcp://127.0.0.1:1883");
  const std::string t = m.serialize(nullptr);
  for (const char* reason : {"expired", "duplicate_timestamp", "queue_full", "storage_error",
                             "quota", "syntax", "invalid_utf8"}) {
    INFO(reason);
    CHECK(metric_value(t, "flowdb_input_points_dropped_total{input=\"udp\",reason=\"" +
                              std::string(reason) + "\"}") == 0);
  }
  for (const char* reason : {"payload_too_large", "socket_overflow", "internal_error"}) {
    INFO(reason);
    CHECK(metric_value(t, "flowdb_input_payloads_dropped_total{input=\"udp\",reason=\"" +
                              std::string(reason) + "\"}") == 0);
  }
  CHECK(metric_value(t, "flowdb_input_parse_errors_total{input=\"udp\",reason=\"syntax\"}") == 0);
  CHECK(metric_value(t, "flowdb_config_reloads_total{result=\"ok\"}") == 0);
  CHECK(metric_value(t, "flowdb_config_reloads_total{result=\"rejected\"}") == 0);
  CHECK(metric_value(
            t, "flowdb_mqtt_reconnects_total{broker=\"tcp://127.0.0.1:1883\",input=\"mq\"}") == 0);
  CHECK(
      metric_value(
          t, "flowdb_mqtt_connect_failures_total{broker=\"tcp://127.0.0.1:1883\",input=\"mq\"}") ==
      0);
}

TEST_CASE("flowdb_build_info carries the version and a revision", "[metrics]") {
  Metrics m;
  const std::string t = m.serialize(nullptr);
  const size_t at = t.find("\nflowdb_build_info{");
  REQUIRE(at != std::string::npos);
  const std::string line = t.substr(at + 1, t.find('\n', at + 1) - at - 1);
  CHECK_THAT(line, Contains("version=\"0.1.0\""));
  CHECK_THAT(line, Contains("revision=\""));
  CHECK_THAT(line, !Contains("revision=\"\""));
  CHECK(line.substr(line.size() - 2) == " 1");
}

TEST_CASE("log lines carry a timestamp in text - logfmt and json", "[log]") {
  const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764628800123));
  CHECK(format_log_line(LogFormat::text, LogLevel::warn, "udp", "a\nb", when) ==
        "2025-12-01T22:40:00.123Z WARN udp: a b\n");
  CHECK(format_log_line(LogFormat::logfmt, LogLevel::error, "export x", "say \"hi\"", when) ==
        "ts=2025-12-01T22:40:00.123Z level=error component=\"export x\" msg=\"say \\\"hi\\\"\"\n");
  CHECK(format_log_line(LogFormat::json, LogLevel::info, "agent", "tab\there\n", when) ==
        "{\"ts\":\"2025-12-01T22:40:00.123Z\",\"level\":\"info\",\"component\":\"agent\","
        "\"msg\":\"tab\\there\\n\"}\n");
  LogFormat f;
  CHECK(parse_log_format("json", &f));
  CHECK(f == LogFormat::json);
  CHECK_FALSE(parse_log_format("xml", &f));
}

TEST_CASE("retention's warnings and errors keep their severity in the agent log", "[log]") {
  testing::StderrCapture err;
  const retention::LogFn log = retention_log();
  log(retention::LogSeverity::warn, "retention rejects new data reason=quota");
  log(retention::LogSeverity::error, "retention pass failed: disk");
  log(retention::LogSeverity::info, "retention accepts new data again");
  const std::string t = err.text();
  CHECK_THAT(t, Contains("Z WARN retention: retention rejects new data reason=quota\n"));
  CHECK_THAT(t, Contains("Z ERROR retention: retention pass failed: disk\n"));
  CHECK_THAT(t, Contains("Z INFO retention: retention accepts new data again\n"));
  CHECK_THAT(t, !Contains("level="));
}

TEST_CASE("a rate-limited log line is built only when it is logged", "[log]") {
  testing::StderrCapture err;
  RateLimiter limiter(std::chrono::hours(1));
  int built = 0;
  auto make = [&] {
    ++built;
    return "dropped batch " + std::to_string(built);
  };
  for (int i = 0; i < 5; ++i) limiter.log(LogLevel::warn, "batcher", "in/queue_full", make);
  CHECK(built == 1);  // the other four fall inside the quiet period
  limiter.log(LogLevel::warn, "batcher", "other/queue_full", make);
  CHECK(built == 2);  // another key has its own period
  set_log_level(LogLevel::error);
  limiter.log(LogLevel::warn, "batcher", "third/queue_full", make);
  set_log_level(LogLevel::info);
  CHECK(built == 2);  // below the log level: not built at all
  const std::string t = err.text();
  CHECK_THAT(t, Contains("WARN batcher: dropped batch 1\n"));
  CHECK_THAT(t, Contains("WARN batcher: dropped batch 2\n"));
  CHECK_THAT(t, !Contains("dropped batch 3"));
}

TEST_CASE("two MQTT connections share the families and keep their own series", "[metrics]") {
  Metrics m;
  ingest_mqtt::ConnectionMetrics a(m.registry(), "a", "tcp://127.0.0.1:1");
  ingest_mqtt::ConnectionMetrics b(m.registry(), "b", "tcp://127.0.0.1:2");
  a.connection_up();
  b.connect_failure();
  b.connect_failure();
  const std::string t = m.serialize(nullptr);
  CHECK(metric_value(t, "flowdb_mqtt_connected{broker=\"tcp://127.0.0.1:1\",input=\"a\"}") == 1);
  CHECK(metric_value(t, "flowdb_mqtt_connected{broker=\"tcp://127.0.0.1:2\",input=\"b\"}") == 0);
  CHECK(metric_value(t,
                     "flowdb_mqtt_connect_failures_total{broker=\"tcp://127.0.0.1:2\","
                     "input=\"b\"}") == 2);
  CHECK(metric_value(t,
                     "flowdb_mqtt_connect_failures_total{broker=\"tcp://127.0.0.1:1\","
                     "input=\"a\"}") == 0);
  // One HELP line per family, however many connections registered it.
  size_t helps = 0;
  for (size_t at = 0; (at = t.find("# HELP flowdb_mqtt_connected ", at)) != std::string::npos; ++at)
    ++helps;
  CHECK(helps == 1);
}
