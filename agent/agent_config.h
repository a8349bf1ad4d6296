// The flowdb-agent YAML configuration: top-level sections storage, inputs
// (mqtt, udp), retention, exports, http, log. Every section is described by a
// declarative KeySpec table (see config_schema.h); the input tables live with
// the inputs (ingest/udp, ingest/mqtt).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/batcher.h"
#include "agent/config_schema.h"
#include "agent/log.h"
#include "export/core/exporter.h"
#include "flowdb/config.h"
#include "ingest/mqtt/mqtt_input.h"
#include "ingest/udp/udp_input.h"
#include "retention.h"

namespace flowdb::agent {

struct ExportConfig {
  std::string type;  // a registered sink type (export/sinks.h)
  exporter::ExporterOptions options;
  std::shared_ptr<const ParsedTable> table;  // validated; the sink is built from it
};

struct AgentConfig {
  std::string file;  // where it was loaded from ("<embedded>" for the default)
  Config engine;     // storage section mapped onto the engine config
  BatcherOptions batcher;
  std::vector<ingest_udp::UdpInputConfig> udp;
  std::vector<ingest_mqtt::MqttInputConfig> mqtt;
  retention::TtlRules ttl;
  retention::Policy retention;
  std::vector<ExportConfig> exports;
  std::string http_listen = "127.0.0.1:9108";
  size_t http_query_max_points = 100000;
  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::text;
  std::chrono::milliseconds status_interval{60000};
  std::chrono::milliseconds shutdown_timeout{30000};
};

// Parses YAML text. `file` names it in error messages. Throws ConfigError.
AgentConfig parse_config(const std::string& text, const std::string& file);
// Reads and parses a file. Throws ConfigError (also for an unreadable file, a
// directory, and a file with no settings: empty or only comments).
AgentConfig load_config(const std::string& path);
// What the host must provide for `c` to run, checked without changing
// anything (--check-config): storage.data_dir is a directory this user can
// write, or can be created. One message per problem; empty if none.
std::vector<std::string> check_environment(const AgentConfig& c);
// The embedded default (a copy of configs/flowdb-agent.yaml).
const std::string& default_config_text();

// The markdown config reference generated from the tables.
std::string config_reference();

}  // namespace flowdb::agent
