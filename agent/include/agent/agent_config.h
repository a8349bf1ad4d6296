// The flowdb-agent YAML configuration: top-level sections storage, inputs
// (one list per registered input type), retention, exports, http, log. Every
// section is described by a declarative KeySpec table (see
// agent/core/config_schema.h); the input and sink tables live with their
// plugins, which agent/registry.h lists.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/batcher.h"
#include "agent/core/config_schema.h"
#include "agent/core/input.h"
#include "agent/core/log.h"
#include "agent/promql/eval.h"
#include "agent/tls_front.h"
#include "export/core/exporter.h"
#include "flowdb/config.h"
#include "ingest/ttl_rules.h"
#include "retention/retention.h"

namespace flowdb::agent {

struct ExportConfig {
  std::string type;  // a registered sink type (agent/registry.h)
  exporter::ExporterOptions options;
  std::shared_ptr<const ParsedTable> table;  // validated; the sink is built from it
};

// One configured input: its registered type and validated settings.
struct InputConfig {
  const InputType* type = nullptr;
  std::shared_ptr<const InputSettings> settings;
};

struct AgentConfig {
  std::string file;  // where it was loaded from ("<embedded>" for the default)
  Config engine;     // storage section mapped onto the engine config
  BatcherOptions batcher;
  // Grouped by type in registry order, each type's in config order.
  std::vector<InputConfig> inputs;
  ingest::TtlRules ttl;
  retention::Options retention;
  std::vector<ExportConfig> exports;
  std::string http_listen = "127.0.0.1:9108";
  size_t http_query_max_points = 100000;
  promql::Limits http_promql;  // http.promql: limits of the Prometheus API
  // http.auth tokens (secrets: never log them); empty = no authentication.
  std::vector<std::string> http_auth_tokens;
  std::optional<TlsFrontOptions> http_tls;  // http.tls; unset = plain HTTP
  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::text;
  std::chrono::milliseconds status_interval{60000};
  std::chrono::milliseconds shutdown_timeout{30000};
};

// The settings of the inputs of `type`, as the type's own struct.
// REQUIRES: `Settings` is the struct that input type builds.
template <typename Settings>
std::vector<const Settings*> inputs_of(const AgentConfig& c, std::string_view type) {
  std::vector<const Settings*> out;
  for (const InputConfig& in : c.inputs) {
    if (in.type->type == type) out.push_back(static_cast<const Settings*>(in.settings.get()));
  }
  return out;
}

// "1 udp, 2 mqtt": how many inputs of each registered type `c` configures.
std::string count_inputs(const AgentConfig& c);

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
