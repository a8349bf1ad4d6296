// Config parsing: defaults, units, env substitution and every rejection path
// (each names file:line:column and the expected form).
#include <catch2/catch.hpp>
#include <cstdlib>

#include "agent/agent_config.h"
#include "agent_util.h"
#include "ingest/mqtt/mqtt_input.h"
#include "ingest/udp/udp_input.h"

using flowdb::agent::ConfigError;
using flowdb::agent::parse_config;

namespace {
using flowdb::agent::AgentConfig;
using flowdb::agent::inputs_of;

std::vector<const flowdb::ingest_udp::UdpInputConfig*> udp(const AgentConfig& c) {
  return inputs_of<flowdb::ingest_udp::UdpInputConfig>(c, "udp");
}
std::vector<const flowdb::ingest_mqtt::MqttInputConfig*> mqtt(const AgentConfig& c) {
  return inputs_of<flowdb::ingest_mqtt::MqttInputConfig>(c, "mqtt");
}

// Returns the ConfigError message of `yaml` (fails the test if it parses).
std::string reject(const std::string& yaml) {
  try {
    parse_config(yaml, "t.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("accepted: " << yaml);
  return "";
}
}  // namespace

TEST_CASE("embedded default config parses", "[config]") {
  auto c = parse_config(flowdb::agent::default_config_text(), "<default>");
  REQUIRE(udp(c).size() == 1);
  CHECK(udp(c)[0]->listen == std::vector<std::string>{"127.0.0.1:8089"});
  REQUIRE(mqtt(c).size() == 1);
  CHECK(mqtt(c)[0]->brokers == std::vector<std::string>{"tcp://127.0.0.1:1883"});
  CHECK(mqtt(c)[0]->topics == std::vector<std::string>{"#"});
  CHECK(c.http_listen == "127.0.0.1:9108");
  // memory_budget 24MiB: a quarter each to the memtable, the one being flushed, the cache
  // and the indexes.
  CHECK(c.engine.memtable_size_mb == 6);
  CHECK(c.engine.max_frozen_memtables == 1);
  CHECK(c.engine.block_cache_capacity_mb == 6);
  CHECK(c.engine.index_memory_budget_mb == 6);
  CHECK(c.ttl.default_ttl() == 30u * 86400);
}

TEST_CASE("memory_budget sizes the memtable, cache and indexes unless they are set", "[config]") {
  auto c = parse_config("storage:\n  memory_budget: 64MiB\n  block_cache: 0\n", "t.yaml");
  CHECK(c.engine.memtable_size_mb == 16);
  CHECK(c.engine.block_cache_capacity_mb == 0);
  CHECK(c.engine.index_memory_budget_mb == 16);
  auto d = parse_config("storage:\n  memtable_size: 32MiB\n", "t.yaml");
  CHECK(d.engine.memtable_size_mb == 32);
  CHECK(d.engine.block_cache_capacity_mb == 6);
  CHECK_THAT(reject("storage:\n  memory_budget: 1MiB\n"), Catch::Contains("storage.memory_budget"));
}

TEST_CASE("empty file gives all defaults and no inputs", "[config]") {
  auto c = parse_config("", "t.yaml");
  CHECK(udp(c).empty());
  CHECK(mqtt(c).empty());
  CHECK(c.engine.data_dir == "./flowdb-data");
  CHECK(c.engine.time_bucket_secs == 3600);
  CHECK(!c.engine.wal_sync_mode.is_always());
  CHECK(c.engine.wal_sync_mode.interval() == 100);
}

TEST_CASE("http.promql limits parse with Prometheus's defaults and are range-checked", "[config]") {
  using Catch::Matchers::Contains;
  auto d = parse_config("", "t.yaml");
  CHECK(d.http_promql.max_samples == 10000000);
  CHECK(d.http_promql.timeout == std::chrono::minutes(2));
  CHECK(d.http_promql.max_series == 100000);
  CHECK(d.http_promql.lookback_delta == 300000);
  auto c = parse_config(
      "http:\n  promql:\n    max_samples: 1000\n    timeout: 5s\n    max_series: 0\n"
      "    lookback_delta: 10m\n",
      "t.yaml");
  CHECK(c.http_promql.max_samples == 1000);
  CHECK(c.http_promql.timeout == std::chrono::seconds(5));
  CHECK(c.http_promql.max_series == 0);
  CHECK(c.http_promql.lookback_delta == 600000);
  CHECK_THAT(reject("http:\n  promql:\n    timeout: 10ms\n"), Contains("timeout"));
  CHECK_THAT(reject("http:\n  promql:\n    max_samples: 0\n"), Contains("max_samples"));
  CHECK_THAT(reject("http:\n  promql:\n    lookback: 5m\n"), Contains("lookback"));
}

TEST_CASE("units - enums and env substitution", "[config]") {
  ::setenv("FLOWDB_TEST_DIR", "/tmp/x", 1);
  ::unsetenv("FLOWDB_TEST_UNSET");
  auto c = parse_config(R"(
storage:
  data_dir: ${FLOWDB_TEST_DIR}/data
  time_bucket: 2h
  sync: always
  memtable_size: 32MiB
  batch_window: 5ms
inputs:
  mqtt:
    - brokers: [tcp://localhost:1883]
      username: ${FLOWDB_TEST_UNSET:-anon}
      qos: 2
      clean_session: true
retention:
  default_ttl: 7d
  rules:
    - {match: "debug_*", ttl: 2d}
)",
                        "t.yaml");
  CHECK(c.engine.data_dir == "/tmp/x/data");
  CHECK(c.engine.time_bucket_secs == 7200);
  CHECK(c.engine.wal_sync_mode.is_always());
  CHECK(c.engine.memtable_size_mb == 32);
  CHECK(c.batcher.window == std::chrono::milliseconds(5));
  REQUIRE(mqtt(c).size() == 1);
  CHECK(mqtt(c)[0]->name == "mqtt0");
  CHECK(mqtt(c)[0]->username == "anon");
  CHECK(mqtt(c)[0]->qos == 2);
  CHECK(mqtt(c)[0]->clean_session);
  CHECK(c.ttl.ttl_for("debug_x") == 2u * 86400);
  CHECK(c.ttl.ttl_for("cpu") == 7u * 86400);
}

TEST_CASE("password from a file or the environment", "[config]") {
  flowdb::testing::TempDir dir;
  flowdb::testing::write_file(dir / "pw", "s3cret\n");
  auto c = parse_config("inputs:\n  mqtt:\n    - password_file: " + (dir / "pw") + "\n", "t.yaml");
  CHECK(mqtt(c)[0]->password == "s3cret");
  ::setenv("FLOWDB_TEST_PW", "envpw", 1);
  c = parse_config("inputs:\n  mqtt:\n    - password_env: FLOWDB_TEST_PW\n", "t.yaml");
  CHECK(mqtt(c)[0]->password == "envpw");
  // A file saved with CRLF or an extra blank line still gives the secret.
  flowdb::testing::write_file(dir / "pw", "s3cret\r\n\n");
  c = parse_config("inputs:\n  mqtt:\n    - password_file: " + (dir / "pw") + "\n", "t.yaml");
  CHECK(mqtt(c)[0]->password == "s3cret");
}

TEST_CASE("every rejection names file - line - column and the expected form", "[config]") {
  using Catch::Matchers::Contains;
  struct Case {
    const char* yaml;
    const char* where;
    const char* what;
  };
  const Case cases[] = {
      {"storage:\n  bogus: 1\n", "t.yaml:2:3: storage.bogus",
       "unknown key; expected one of data_dir"},
      {"nope: 1\n", "t.yaml:1:1: nope", "expected one of storage, inputs"},
      {"storage:\n  time_bucket: 10 minutes\n", "t.yaml:2:16: storage.time_bucket",
       "expected a duration such as"},
      {"storage:\n  memtable_size: lots\n", "t.yaml:2:18: storage.memtable_size",
       "expected a size such as"},
      {"storage:\n  sync: sometimes\n", "t.yaml:2:9: storage.sync",
       "expected one of always, interval"},
      {"storage:\n  batch_max_points: 0\n", "storage.batch_max_points", "out of range"},
      {"storage:\n  data_dir: ${FLOWDB_TEST_NOPE}\n", "t.yaml:2:13: storage.data_dir",
       "FLOWDB_TEST_NOPE is not set"},
      {"storage: [1, 2]\n", "t.yaml:1:10: storage", "got a list; expected a mapping"},
      {"storage:\n  data_dir: [a\n", "t.yaml:", "YAML syntax error"},
      {"inputs:\n  udp:\n    - listen: [\"nohost\"]\n", "inputs.udp[0].listen",
       "expected host:port or [ipv6]:port"},
      {"inputs:\n  udp:\n    - listen: [\"127.0.0.1:99999\"]\n", "inputs.udp[0].listen",
       "expected 0..65535"},
      {"inputs:\n  udp:\n    - {name: a}\n    - {name: a}\n", "inputs.udp[1].name",
       "duplicate input name 'a'"},
      {"inputs:\n  udp:\n    - format: xml\n", "inputs.udp[0].format",
       "expected one of influx, json"},
      {"inputs:\n  udp:\n    - format: json\n      json: {}\n", "inputs.udp[0].json",
       "needs json.measurement"},
      {"inputs:\n  mqtt:\n    - brokers: [\"localhost:1883\"]\n", "inputs.mqtt[0].brokers",
       "expected tcp://host:port"},
      {"inputs:\n  mqtt:\n    - topics: [\"a/#/b\"]\n", "inputs.mqtt[0].topics",
       "bad topic filter"},
      {"inputs:\n  mqtt:\n    - qos: 3\n", "t.yaml:3:12: inputs.mqtt[0].qos", "in [0, 2]"},
      {"inputs:\n  mqtt:\n    - password_file: /nonexistent/pw\n", "inputs.mqtt[0].password_file",
       "expected a readable file"},
      {"inputs:\n  mqtt:\n    - password_env: FLOWDB_TEST_NOPE\n", "inputs.mqtt[0].password_env",
       "is not set"},
      {"inputs:\n  mqtt:\n    - reconnect_min: 10s\n      reconnect_max: 1s\n",
       "inputs.mqtt[0].reconnect_max", "smaller than reconnect_min"},
      {"inputs:\n  mqtt:\n    - topic_parsing:\n        - {topic: \"a/+\", measurement: "
       "\"x/y/z\"}\n",
       "inputs.mqtt[0].topic_parsing", ""},
      {"inputs:\n  mqtt:\n    - tls: {ca_file: /nonexistent.pem}\n", "inputs.mqtt[0].tls.ca_file",
       "expected a readable PEM file"},
      {"retention:\n  rules:\n    - {match: \"a*\"}\n", "retention.rules[0].ttl",
       "missing; expected a duration"},
      {"exports:\n  - {name: x}\n", "exports[0].type", "missing"},
      {"http:\n  listen: everywhere\n", "http.listen", "expected host:port"},
      {"log:\n  level: loud\n", "log.level", "expected one of debug, info, warn, error"},
      {"storage:\n  data_dir:\n", "storage.data_dir", "no value; expected a string"},
      {"storage:\n  sync: always\n  sync: interval\n", "storage.sync", "duplicate key"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    std::string msg = reject(c.yaml);
    CHECK_THAT(msg, Contains(c.where));
    CHECK_THAT(msg, Contains(c.what));
  }
}

TEST_CASE("unreadable file", "[config]") {
  try {
    flowdb::agent::load_config("/nonexistent/flowdb.yaml");
    FAIL("loaded");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains("/nonexistent/flowdb.yaml:0:0: cannot read"));
  }
}

TEST_CASE("storage.max_open_files reaches the engine config", "[config]") {
  CHECK(parse_config("", "t.yaml").engine.max_open_files == 0);  // derived from RLIMIT_NOFILE
  CHECK(parse_config("storage:\n  max_open_files: 300\n", "t.yaml").engine.max_open_files == 300);
  CHECK_THROWS_WITH(parse_config("storage:\n  max_open_files: -1\n", "t.yaml"),
                    Catch::Contains("t.yaml:2:") && Catch::Contains("max_open_files"));
}

TEST_CASE("config reference is generated from the tables", "[config]") {
  std::string ref = flowdb::agent::config_reference();
  CHECK_THAT(ref, Catch::Matchers::Contains("| `brokers` |"));
  CHECK_THAT(ref, Catch::Matchers::Contains("| `read_buffer` |"));
  CHECK_THAT(ref, Catch::Matchers::Contains("| `json.timestamp_format` |"));
  CHECK_THAT(ref, Catch::Matchers::Contains("| `sync` |"));
}

TEST_CASE("retention section sets the quota policy and limits", "[config][retention]") {
  auto c = parse_config(
      "retention:\n  default_ttl: 2d\n  interval: 5s\n  max_disk: 64MiB\n"
      "  quota_policy: reject_new\n  min_free: 1GiB\n  compaction_threshold: 8\n"
      "  rules:\n    - match: \"vibration*\"\n      ttl: 2h\n",
      "t.yaml");
  CHECK(c.retention.interval == std::chrono::seconds(5));
  CHECK(c.retention.max_disk_bytes == 64u << 20);
  CHECK(c.retention.min_free_bytes == 1ull << 30);
  CHECK(c.retention.quota_policy == flowdb::retention::QuotaPolicy::RejectNew);
  CHECK(c.retention.compaction_threshold == 8);
  CHECK(c.ttl.ttl_for("vibration_x") == 2 * 3600);
  CHECK(c.ttl.ttl_for("temp") == 2 * 86400);
  auto d = parse_config("", "t.yaml");
  CHECK(d.retention.max_disk_bytes == 0);
  CHECK(d.retention.quota_policy == flowdb::retention::QuotaPolicy::DropOldest);
  CHECK_THROWS_WITH(parse_config("retention:\n  quota_policy: delete_all\n", "t.yaml"),
                    Catch::Contains("t.yaml:2:") && Catch::Contains("quota_policy") &&
                        Catch::Contains("drop_oldest"));
}

// --- Files that cannot be a config, and --check-config's full report. ---
namespace {
std::string load_error(const std::string& path) {
  try {
    flowdb::agent::load_config(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("accepted: " << path);
  return "";
}
size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) + 1;
}
}  // namespace

TEST_CASE("a directory, an empty file or a file of comments is not a config", "[config]") {
  flowdb::testing::TempDir dir;
  CHECK_THAT(load_error(dir.path()), Catch::Contains("is a directory"));
  flowdb::testing::write_file(dir / "empty.yaml", "");
  CHECK_THAT(load_error(dir / "empty.yaml"), Catch::Contains("no settings"));
  flowdb::testing::write_file(dir / "comments.yaml", "# storage:\n#   data_dir: /x\n\n   # more\n");
  CHECK_THAT(load_error(dir / "comments.yaml"), Catch::Contains("no settings"));
}

TEST_CASE("a missing config file says why", "[config]") {
  flowdb::testing::TempDir dir;
  CHECK_THAT(load_error(dir / "nope.yaml"), Catch::Contains("No such file or directory"));
}

TEST_CASE("every error of a file is reported, not only the first", "[config]") {
  const std::string msg = reject(
      "storage:\n  memtable_size: lots\n  colour: blue\n"
      "inputs:\n  udp:\n    - name: a\n      listen: [\"127.0.0.1:notaport\"]\n"
      "http:\n  listen: 127.0.0.1:9108\n  bogus: 1\n"
      "log:\n  level: loud\n");
  INFO(msg);
  CHECK_THAT(msg, Catch::Contains("storage.memtable_size"));
  CHECK_THAT(msg, Catch::Contains("storage.colour"));
  CHECK_THAT(msg, Catch::Contains("notaport"));
  CHECK_THAT(msg, Catch::Contains("http.bogus"));
  CHECK_THAT(msg, Catch::Contains("log.level"));
  CHECK_THAT(msg, Catch::Contains("(5 errors)"));
  CHECK(lines(msg) == 6);
}

TEST_CASE("two UDP inputs on one port are an error", "[config]") {
  const std::string msg = reject(
      "inputs:\n  udp:\n    - name: a\n      listen: [\"127.0.0.1:8089\"]\n"
      "    - name: b\n      listen: [\"0.0.0.0:8089\"]\n");
  CHECK_THAT(msg, Catch::Contains("inputs.udp[1].listen"));
  CHECK_THAT(msg, Catch::Contains("also taken by input 'a' (127.0.0.1:8089)"));
  // Different addresses, IPv4 and IPv6 (IPV6_V6ONLY), or port 0 (any free
  // port) do not collide.
  CHECK_NOTHROW(
      parse_config("inputs:\n  udp:\n    - name: a\n      listen: [\"127.0.0.1:8089\", "
                   "\"127.0.0.2:8089\", \"127.0.0.1:0\", \"127.0.0.2:0\"]\n"
                   "    - name: b\n      listen: [\"[::]:8089\"]\n",
                   "t.yaml"));
}

TEST_CASE("check_environment refuses a data_dir that cannot be made", "[config]") {
  flowdb::testing::TempDir dir;
  flowdb::testing::write_file(dir / "file", "x");
  auto with_dir = [](const std::string& d) {
    return parse_config("storage:\n  data_dir: " + d + "\n", "t.yaml");
  };
  auto p = flowdb::agent::check_environment(with_dir(dir / "file"));
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::Contains("not a directory"));
  p = flowdb::agent::check_environment(with_dir(dir / "file/data"));
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::Contains("no existing parent directory"));
  CHECK(flowdb::agent::check_environment(with_dir(dir / "new/data")).empty());
  CHECK(flowdb::agent::check_environment(with_dir(dir.path())).empty());
}

TEST_CASE("log.format is text - logfmt or json and nothing else", "[config][log]") {
  CHECK(parse_config("", "t.yaml").log_format == flowdb::agent::LogFormat::text);
  CHECK(parse_config("log:\n  format: json\n", "t.yaml").log_format ==
        flowdb::agent::LogFormat::json);
  CHECK(parse_config("log:\n  format: logfmt\n", "t.yaml").log_format ==
        flowdb::agent::LogFormat::logfmt);
  CHECK_THAT(
      reject("log:\n  format: xml\n"),
      Catch::Contains("t.yaml:2:11: log.format: got 'xml'; expected one of text, logfmt, json"));
}
