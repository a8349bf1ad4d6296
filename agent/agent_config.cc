#include "agent/agent_config.h"

#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "agent/default_config.h"
#include "export/core/exporter_config.h"
#include "export/sinks.h"

namespace flowdb::agent {
namespace {

constexpr std::string_view kSync[] = {"always", "interval"};
constexpr std::string_view kCompression[] = {"none", "lz4", "zstd"};
constexpr std::string_view kLevels[] = {"debug", "info", "warn", "error"};
constexpr std::string_view kLogFormats[] = {"text", "logfmt", "json"};
constexpr std::string_view kQuotaPolicies[] = {"drop_oldest", "reject_new"};

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kSec = 1000000;

constexpr KeySpec kStorageKeys[] = {
    {"data_dir", KeyKind::kString, "./flowdb-data", "Directory of the WAL, manifest and SSTables"},
    {"time_bucket",
     KeyKind::kDuration,
     "1h",
     "Width of a time bucket (one SST file per bucket)",
     {},
     {},
     false,
     kSec,
     366 * 86400 * kSec},
    {"sync", KeyKind::kEnum, "interval",
     "always: fsync before a batch is acknowledged; interval: fsync every sync_interval", kSync},
    {"sync_interval",
     KeyKind::kDuration,
     "100ms",
     "fsync period with sync: interval",
     {},
     {},
     false,
     1000,
     3600 * kSec},
    {"memtable_size",
     KeyKind::kSize,
     "16MiB",
     "Memtable size before it is flushed to an SST",
     {},
     {},
     false,
     kMiB,
     4096 * kMiB},
    {"block_cache",
     KeyKind::kSize,
     "8MiB",
     "Decompressed block cache (0 disables it)",
     {},
     {},
     false,
     0,
     65536 * kMiB},
    {"index_memory",
     KeyKind::kSize,
     "16MiB",
     "Budget for SST indexes and Bloom filters",
     {},
     {},
     false,
     kMiB,
     65536 * kMiB},
    {"wal_segment_size",
     KeyKind::kSize,
     "32MiB",
     "WAL segment size",
     {},
     {},
     false,
     kMiB,
     4096 * kMiB},
    {"compression", KeyKind::kEnum, "lz4", "SST block compression", kCompression},
    {"batch_max_points",
     KeyKind::kInt,
     "5000",
     "Most records per engine write",
     {},
     {},
     false,
     1,
     1000000},
    {"batch_window",
     KeyKind::kDuration,
     "10ms",
     "Longest wait to fill a batch",
     {},
     {},
     false,
     0,
     10 * kSec},
    {"queue_max_points",
     KeyKind::kInt,
     "200000",
     "Bound of the batcher queue, in records",
     {},
     {},
     false,
     1,
     100000000},
    {"queue_max_bytes",
     KeyKind::kSize,
     "32MiB",
     "Bound of the batcher queue, in bytes",
     {},
     {},
     false,
     4096,
     65536 * kMiB},
};

constexpr KeySpec kRuleKeys[] = {
    {"match", KeyKind::kString, "", "Measurement glob (fnmatch), e.g. \"debug_*\"", {}, {}, true},
    {"ttl", KeyKind::kDuration, "", "Time to live of matching records", {}, {}, true, kSec},
};
constexpr KeySpec kRetentionKeys[] = {
    {"default_ttl",
     KeyKind::kDuration,
     "",
     "TTL of records no rule matches (unset: keep)",
     {},
     {},
     false,
     kSec},
    {"rules", KeyKind::kTableList, "", "First matching rule gives the TTL", {}, kRuleKeys},
    {"interval",
     KeyKind::kDuration,
     "30s",
     "Period of the retention pass (also run after flushes)",
     {},
     {},
     false,
     kSec / 10,
     86400 * kSec},
    {"max_disk",
     KeyKind::kSize,
     "0",
     "Bytes the data dir may use (0: no limit)",
     {},
     {},
     false,
     0,
     INT64_MAX},
    {"quota_policy", KeyKind::kEnum, "drop_oldest",
     "Over max_disk/min_free: drop whole oldest buckets, or refuse new data", kQuotaPolicies},
    {"min_free",
     KeyKind::kSize,
     "0",
     "Free bytes to keep on the filesystem (0: off)",
     {},
     {},
     false,
     0,
     INT64_MAX},
    {"compaction_threshold",
     KeyKind::kInt,
     "4",
     "Compact a bucket with more SST files than this",
     {},
     {},
     false,
     1,
     65536},
};
constexpr KeySpec kHttpKeys[] = {
    {"listen", KeyKind::kString, "127.0.0.1:9108",
     "Address of /metrics, /health, /ready and /api/v1/query (host:port, [v6]:port)"},
    {"query_max_points",
     KeyKind::kInt,
     "100000",
     "Most records one query returns",
     {},
     {},
     false,
     1,
     100000000},
};
constexpr KeySpec kLogKeys[] = {
    {"level", KeyKind::kEnum, "info", "Lowest level logged", kLevels},
    {"format", KeyKind::kEnum, "text",
     "Line format on stderr, each line with a UTC timestamp: text (TIME LEVEL component: "
     "message), logfmt (ts= level= component= msg=) or json (one object per line)",
     kLogFormats},
    {"status_interval",
     KeyKind::kDuration,
     "60s",
     "Period of the one-line status (0: off)",
     {},
     {},
     false,
     0},
    {"shutdown_timeout",
     KeyKind::kDuration,
     "30s",
     "Longest drain on SIGTERM before the agent exits with status 1",
     {},
     {},
     false,
     kSec},
};

std::vector<KeySpec> inputs_keys() {
  return {
      {"mqtt", KeyKind::kTableList, "", "MQTT inputs", {}, ingest_mqtt::mqtt_config_keys()},
      {"udp", KeyKind::kTableList, "", "UDP inputs", {}, ingest_udp::udp_config_keys()},
  };
}

std::vector<KeySpec> top_keys(const std::vector<KeySpec>& inputs) {
  return {
      {"storage", KeyKind::kTable, "", "Engine and batching", {}, kStorageKeys},
      {"inputs", KeyKind::kTable, "", "Inputs", {}, inputs},
      {"retention",
       KeyKind::kTable,
       "",
       "TTL rules, expiry, disk quota and compaction",
       {},
       kRetentionKeys},
      // A list whose keys depend on each entry's type: parse_exports() validates it.
      {"exports", KeyKind::kOpaque, "", "Exports to upstream systems (see exports[] below)"},
      {"http", KeyKind::kTable, "", "HTTP listener", {}, kHttpKeys},
      {"log", KeyKind::kTable, "", "Logging", {}, kLogKeys},
  };
}

std::string mark_of(const YAML::Node& n, const std::string& file) {
  const YAML::Mark m = n.Mark();
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string sink_type_names() {
  std::string out;
  for (const exporter::SinkType& t : exporter::sink_types()) {
    out += (out.empty() ? "" : ", ") + std::string(t.name);
  }
  return out;
}

// exports: a list of mappings, each validated against the common keys plus
// those of its `type`. The sink is built once here so --check-config catches
// bad values (URLs, unreadable secret files) too.
std::vector<ExportConfig> parse_exports(const YAML::Node& node, const std::string& file) {
  std::vector<ExportConfig> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) {
    throw ConfigError(mark_of(node, file) + ": exports: expected a list of mappings");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node n = node[i];
    const std::string path = "exports[" + std::to_string(i) + "]";
    if (!n.IsMap()) throw ConfigError(mark_of(n, file) + ": " + path + ": expected a mapping");
    const YAML::Node type = n["type"];
    if (!type || !type.IsScalar()) {
      throw ConfigError(mark_of(n, file) + ": " + path + ".type: missing; expected one of " +
                        sink_type_names());
    }
    const exporter::SinkType* st = exporter::find_sink_type(type.Scalar());
    if (st == nullptr) {
      throw ConfigError(mark_of(type, file) + ": " + path + ".type: unknown sink '" +
                        type.Scalar() + "'; expected one of " + sink_type_names());
    }
    const std::vector<KeySpec> keys = exporter::export_keys(*st);
    std::shared_ptr<ParsedTable> t = parse_table(n, keys, file, path);
    ExportConfig e;
    e.type = std::string(st->name);
    e.options = exporter::exporter_options_from(*t, e.type + std::to_string(i));
    if (!names.insert(e.options.name).second) {
      t->fail("name", "duplicate export name '" + e.options.name + "'");
    }
    st->make(*t);
    e.table = std::move(t);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

const std::string& default_config_text() {
  static const std::string s = kFlowdbDefaultConfig;
  return s;
}

AgentConfig parse_config(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // Convert yaml-cpp's exception into our error format at the module edge.
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap() && !root.IsNull()) {
    throw ConfigError(file +
                      ":1:1: expected a mapping with sections storage, inputs, retention, "
                      "exports, http, log");
  }
  const std::vector<KeySpec> inputs = inputs_keys();
  const std::vector<KeySpec> top = top_keys(inputs);
  std::shared_ptr<ParsedTable> t;
  try {
    t = parse_table(root, top, file, "");
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  AgentConfig c;
  c.file = file;

  const ParsedTable& s = *t->table("storage");
  c.engine.data_dir = s.str("data_dir");
  if (c.engine.data_dir.empty()) s.fail("data_dir", "empty; expected a directory path");
  c.engine.time_bucket_secs = static_cast<uint64_t>(s.integer("time_bucket") / kSec);
  if (s.integer("time_bucket") % kSec != 0) s.fail("time_bucket", "expected whole seconds");
  c.engine.wal_sync_mode =
      s.str("sync") == "always"
          ? SyncMode::always()
          : SyncMode::interval_ms(static_cast<uint64_t>(s.integer("sync_interval") / 1000));
  auto mib = [](int64_t b) { return static_cast<size_t>((b + kMiB - 1) / kMiB); };
  c.engine.memtable_size_mb = mib(s.integer("memtable_size"));
  c.engine.block_cache_capacity_mb = mib(s.integer("block_cache"));
  c.engine.index_memory_budget_mb = mib(s.integer("index_memory"));
  c.engine.wal_segment_size_mb = mib(s.integer("wal_segment_size"));
  const std::string& comp = s.str("compression");
  c.engine.compression = comp == "none"   ? Compression::none()
                         : comp == "zstd" ? Compression::zstd()
                                          : Compression::lz4();
  c.batcher.max_batch_records = static_cast<size_t>(s.integer("batch_max_points"));
  c.batcher.window = std::chrono::microseconds(s.integer("batch_window"));
  c.batcher.queue_max_records = static_cast<size_t>(s.integer("queue_max_points"));
  c.batcher.queue_max_bytes = static_cast<size_t>(s.integer("queue_max_bytes"));
  try {
    c.engine.validate();
  } catch (const Error& e) {
    s.fail("", std::string("rejected by the engine: ") + e.what());
  }

  const ParsedTable& in = *t->table("inputs");
  std::set<std::string> names;
  auto unique_name = [&](const ParsedTable& it, const std::string& name) {
    if (!names.insert(name).second) it.fail("name", "duplicate input name '" + name + "'");
  };
  int i = 0;
  for (const auto& u : in.tables("udp")) {
    c.udp.push_back(ingest_udp::udp_config_from(*u, "udp" + std::to_string(i++)));
    unique_name(*u, c.udp.back().name);
  }
  i = 0;
  for (const auto& m : in.tables("mqtt")) {
    c.mqtt.push_back(ingest_mqtt::mqtt_config_from(*m, "mqtt" + std::to_string(i++)));
    unique_name(*m, c.mqtt.back().name);
  }

  const ParsedTable& r = *t->table("retention");
  std::vector<retention::TtlRule> rules;
  for (const auto& rule : r.tables("rules")) {
    rules.push_back({rule->str("match"), static_cast<uint64_t>(rule->integer("ttl") / kSec)});
  }
  std::optional<uint64_t> def;
  if (auto d = r.opt_integer("default_ttl")) def = static_cast<uint64_t>(*d / kSec);
  c.ttl = retention::TtlRules(std::move(rules), def);
  c.retention.interval = std::chrono::milliseconds(r.integer("interval") / 1000);
  c.retention.max_disk_bytes = static_cast<uint64_t>(r.integer("max_disk"));
  c.retention.min_free_bytes = static_cast<uint64_t>(r.integer("min_free"));
  c.retention.quota_policy = r.str("quota_policy") == "reject_new"
                                 ? retention::QuotaPolicy::RejectNew
                                 : retention::QuotaPolicy::DropOldest;
  c.retention.compaction_threshold = static_cast<size_t>(r.integer("compaction_threshold"));

  c.exports = parse_exports(root["exports"], file);

  const ParsedTable& h = *t->table("http");
  c.http_listen = h.str("listen");
  {
    sockaddr_storage ss;
    unsigned len;
    std::string err;
    if (!ingest_udp::parse_host_port(c.http_listen, &ss, &len, &err)) h.fail("listen", err);
  }
  c.http_query_max_points = static_cast<size_t>(h.integer("query_max_points"));

  const ParsedTable& l = *t->table("log");
  parse_log_level(l.str("level"), &c.log_level);
  parse_log_format(l.str("format"), &c.log_format);
  c.status_interval = std::chrono::milliseconds(l.integer("status_interval") / 1000);
  c.shutdown_timeout = std::chrono::milliseconds(l.integer("shutdown_timeout") / 1000);
  return c;
}

AgentConfig load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ":0:0: cannot read the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

std::string config_reference() {
  const std::vector<KeySpec> inputs = inputs_keys();
  std::string out;
  out += render_reference("storage", kStorageKeys);
  out += render_reference("inputs.udp[]", ingest_udp::udp_config_keys());
  out += render_reference("inputs.mqtt[]", ingest_mqtt::mqtt_config_keys());
  out += render_reference("retention", kRetentionKeys);
  for (const exporter::SinkType& st : exporter::sink_types()) {
    out +=
        render_reference("exports[] with type: " + std::string(st.name), exporter::export_keys(st));
  }
  out += render_reference("http", kHttpKeys);
  out += render_reference("log", kLogKeys);
  return out;
}

}  // namespace flowdb::agent
