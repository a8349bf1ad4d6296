#include "agent/agent_config.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/core/net_address.h"
#include "agent/default_config.h"
#include "agent/http_auth.h"
#include "agent/registry.h"
#include "export/core/exporter_config.h"

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
    {.name = "data_dir",
     .kind = KeyKind::kString,
     .default_value = "./flowdb-data",
     .doc = "Directory of the WAL, manifest and SSTables"},
    {.name = "time_bucket",
     .kind = KeyKind::kDuration,
     .default_value = "1h",
     .doc = "Width of a time bucket (one SST file per bucket)",
     .min = kSec,
     .max = 366 * 86400 * kSec},
    {.name = "sync",
     .kind = KeyKind::kEnum,
     .default_value = "interval",
     .doc = "always: fsync before a batch is acknowledged; interval: fsync every sync_interval",
     .choices = kSync},
    {.name = "sync_interval",
     .kind = KeyKind::kDuration,
     .default_value = "100ms",
     .doc = "fsync period with sync: interval",
     .min = 1000,
     .max = 3600 * kSec},
    {.name = "memory_budget",
     .kind = KeyKind::kSize,
     .default_value = "24MiB",
     .doc = "Memory of the engine's memtables (the active one and one being flushed), block "
            "cache and SST indexes together: a quarter to each memtable, the cache and the "
            "indexes, unless memtable_size, block_cache or index_memory set their own",
     .min = 4 * kMiB,
     .max = 65536 * kMiB},
    {.name = "memtable_size",
     .kind = KeyKind::kSize,
     .doc = "Memtable size before it is flushed to an SST (default: memory_budget / 4)",
     .min = kMiB,
     .max = 4096 * kMiB},
    {.name = "block_cache",
     .kind = KeyKind::kSize,
     .doc = "Decompressed block cache, 0 disables it (default: memory_budget / 4)",
     .min = 0,
     .max = 65536 * kMiB},
    {.name = "index_memory",
     .kind = KeyKind::kSize,
     .doc = "Budget for SST indexes and Bloom filters (default: memory_budget / 4)",
     .min = kMiB,
     .max = 65536 * kMiB},
    {.name = "max_open_files",
     .kind = KeyKind::kInt,
     .default_value = "0",
     .doc = "Table files held open at once; idle ones beyond it are closed and reopened on "
            "read (0: half the soft RLIMIT_NOFILE)",
     .min = 0,
     .max = 1 << 20},
    {.name = "wal_segment_size",
     .kind = KeyKind::kSize,
     .default_value = "32MiB",
     .doc = "WAL segment size",
     .min = kMiB,
     .max = 4096 * kMiB},
    {.name = "compression",
     .kind = KeyKind::kEnum,
     .default_value = "lz4",
     .doc = "SST block compression",
     .choices = kCompression},
    {.name = "batch_max_points",
     .kind = KeyKind::kInt,
     .default_value = "5000",
     .doc = "Most records per engine write",
     .min = 1,
     .max = 1000000},
    {.name = "batch_window",
     .kind = KeyKind::kDuration,
     .default_value = "10ms",
     .doc = "Longest wait to fill a batch",
     .min = 0,
     .max = 10 * kSec},
    {.name = "queue_max_points",
     .kind = KeyKind::kInt,
     .default_value = "200000",
     .doc = "Bound of the batcher queue, in records",
     .min = 1,
     .max = 100000000},
    {.name = "queue_max_bytes",
     .kind = KeyKind::kSize,
     .default_value = "32MiB",
     .doc = "Bound of the batcher queue, in bytes",
     .min = 4096,
     .max = 65536 * kMiB},
};

constexpr KeySpec kRuleKeys[] = {
    {.name = "match",
     .kind = KeyKind::kString,
     .doc = "Measurement glob (fnmatch), e.g. \"debug_*\"",
     .required = true},
    {.name = "ttl",
     .kind = KeyKind::kDuration,
     .doc = "Time to live of matching records",
     .required = true,
     .min = kSec},
};
constexpr KeySpec kRetentionKeys[] = {
    {.name = "default_ttl",
     .kind = KeyKind::kDuration,
     .doc = "TTL of records no rule matches (unset: keep)",
     .min = kSec},
    {.name = "rules",
     .kind = KeyKind::kTableList,
     .doc = "First matching rule gives the TTL",
     .children = kRuleKeys},
    {.name = "interval",
     .kind = KeyKind::kDuration,
     .default_value = "30s",
     .doc = "Period of the retention pass (also run after flushes)",
     .min = kSec / 10,
     .max = 86400 * kSec},
    {.name = "max_disk",
     .kind = KeyKind::kSize,
     .default_value = "0",
     .doc = "Bytes the data dir may use (0: no limit)",
     .min = 0,
     .max = INT64_MAX},
    {.name = "quota_policy",
     .kind = KeyKind::kEnum,
     .default_value = "drop_oldest",
     .doc = "Over max_disk/min_free: drop whole oldest buckets, or refuse new data",
     .choices = kQuotaPolicies},
    {.name = "min_free",
     .kind = KeyKind::kSize,
     .default_value = "0",
     .doc = "Free bytes to keep on the filesystem (0: off)",
     .min = 0,
     .max = INT64_MAX},
    {.name = "compaction_threshold",
     .kind = KeyKind::kInt,
     .default_value = "4",
     .doc = "Compact a bucket with more SST files than this",
     .min = 1,
     .max = 65536},
};
constexpr KeySpec kHttpAuthKeys[] = {
    {.name = "token",
     .kind = KeyKind::kSecret,
     .doc = "Accepted token (or token_file / token_env); several: one per line"},
    {.name = "token_file",
     .kind = KeyKind::kString,
     .doc = "File holding the accepted tokens, one per line"},
    {.name = "token_env",
     .kind = KeyKind::kString,
     .doc = "Environment variable holding the accepted token(s)"},
};
constexpr KeySpec kHttpTlsKeys[] = {
    {.name = "cert_file",
     .kind = KeyKind::kString,
     .doc = "PEM certificate (chain) of the listener (required with tls)"},
    {.name = "key_file",
     .kind = KeyKind::kString,
     .doc = "PEM private key of cert_file (required with tls)"},
    {.name = "client_ca_file",
     .kind = KeyKind::kString,
     .doc = "PEM CA(s): when set, clients must present a certificate signed by one (mutual TLS)"},
    {.name = "max_connections",
     .kind = KeyKind::kInt,
     .default_value = "64",
     .doc = "Most TLS connections served at once; further ones are closed and logged",
     .min = 1,
     .max = 4096},
    {.name = "handshake_timeout",
     .kind = KeyKind::kDuration,
     .default_value = "10s",
     .doc = "A client that has not completed its TLS handshake by then is disconnected",
     .min = 100000,
     .max = 300 * kSec},
};
constexpr KeySpec kHttpPromqlKeys[] = {
    {.name = "max_samples",
     .kind = KeyKind::kInt,
     .default_value = "10000000",
     .doc = "Most samples one PromQL query or remote read holds in memory at once, 16 bytes each "
            "(Prometheus's --query.max-samples, default 50000000 there; a gateway has less "
            "memory)",
     .min = 1,
     .max = 1000000000},
    {.name = "timeout",
     .kind = KeyKind::kDuration,
     .default_value = "2m",
     .doc = "Longest evaluation of one query (Prometheus's --query.timeout); a request's "
            "timeout= may only shorten it",
     .min = 100000,
     .max = 3600 * kSec},
    {.name = "max_series",
     .kind = KeyKind::kInt,
     .default_value = "100000",
     .doc = "Most series one selector, /api/v1/series or remote-read query may return (0: no "
            "limit)",
     .min = 0,
     .max = 100000000},
    {.name = "lookback_delta",
     .kind = KeyKind::kDuration,
     .default_value = "5m",
     .doc = "How far back an instant selector looks for a sample (Prometheus's "
            "--query.lookback-delta)",
     .min = kSec,
     .max = 7 * 86400 * kSec},
};
constexpr KeySpec kHttpKeys[] = {
    {.name = "listen",
     .kind = KeyKind::kString,
     .default_value = "127.0.0.1:9108",
     .doc = "Address of /metrics, /health, /ready and the query APIs (host:port, [v6]:port)"},
    {.name = "auth",
     .kind = KeyKind::kTable,
     .doc = "Token authentication of the query API and the write routes of inputs.http "
            "(Authorization: Token / Bearer / Basic with the token as password, or ?p=); "
            "/metrics, /health, /ready and /ping stay open. Absent: no authentication",
     .children = kHttpAuthKeys},
    {.name = "tls",
     .kind = KeyKind::kTable,
     .doc = "Serve listen over TLS (1.2 or later) with this certificate and key. Absent: plain "
            "HTTP",
     .children = kHttpTlsKeys},
    {.name = "query_max_points",
     .kind = KeyKind::kInt,
     .default_value = "100000",
     .doc = "Most records one /api/v1/export query returns",
     .min = 1,
     .max = 100000000},
    {.name = "promql",
     .kind = KeyKind::kTable,
     .doc = "Limits of the Prometheus API (/api/v1/query, query_range, series, read)",
     .children = kHttpPromqlKeys},
};
constexpr KeySpec kLogKeys[] = {
    {.name = "level",
     .kind = KeyKind::kEnum,
     .default_value = "info",
     .doc = "Lowest level logged",
     .choices = kLevels},
    {.name = "format",
     .kind = KeyKind::kEnum,
     .default_value = "text",
     .doc = "Line format on stderr, each line with a UTC timestamp: text (TIME LEVEL component: "
            "message), logfmt (ts= level= component= msg=) or json (one object per line)",
     .choices = kLogFormats},
    {.name = "status_interval",
     .kind = KeyKind::kDuration,
     .default_value = "60s",
     .doc = "Period of the one-line status (0: off)",
     .min = 0},
    {.name = "shutdown_timeout",
     .kind = KeyKind::kDuration,
     .default_value = "30s",
     .doc = "Longest drain on SIGTERM before the agent exits with status 1",
     .min = kSec},
};

// One list per registered input type, by name.
std::vector<KeySpec> inputs_keys() {
  std::vector<KeySpec> keys;
  for (const InputType* t : input_types()) {
    keys.push_back(
        {.name = t->type, .kind = KeyKind::kTableList, .doc = t->doc, .children = t->keys()});
  }
  std::sort(keys.begin(), keys.end(),
            [](const KeySpec& a, const KeySpec& b) { return a.name < b.name; });
  return keys;
}

std::vector<KeySpec> top_keys(const std::vector<KeySpec>& inputs) {
  return {
      {.name = "storage",
       .kind = KeyKind::kTable,
       .doc = "Engine and batching",
       .children = kStorageKeys},
      {.name = "inputs", .kind = KeyKind::kTable, .doc = "Inputs", .children = inputs},
      {.name = "retention",
       .kind = KeyKind::kTable,
       .doc = "TTL rules, expiry, disk quota and compaction",
       .children = kRetentionKeys},
      // A list whose keys depend on each entry's type: parse_exports() validates it.
      {.name = "exports",
       .kind = KeyKind::kOpaque,
       .doc = "Exports to upstream systems (see exports[] below)"},
      {.name = "http", .kind = KeyKind::kTable, .doc = "HTTP listener", .children = kHttpKeys},
      {.name = "log", .kind = KeyKind::kTable, .doc = "Logging", .children = kLogKeys},
  };
}

std::string mark_of(const YAML::Node& n, const std::string& file) {
  const YAML::Mark m = n.Mark();
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string sink_type_names() {
  std::string out;
  for (const exporter::SinkType& t : sink_types()) {
    out += (out.empty() ? "" : ", ") + std::string(t.name);
  }
  return out;
}

// exports: a list of mappings, each validated against the common keys plus
// those of its `type`. The sink is built once here so --check-config catches
// bad values (URLs, unreadable secret files) too.
void parse_export(const YAML::Node& n, size_t i, const std::string& file,
                  std::set<std::string>* names_out, std::vector<ExportConfig>* out_vec);

std::vector<ExportConfig> parse_exports(const YAML::Node& node, const std::string& file) {
  std::vector<ExportConfig> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) {
    throw ConfigError(mark_of(node, file) + ": exports: expected a list of mappings");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    auto one = [&] { parse_export(node[i], i, file, &names, &out); };
    if (ConfigErrors* errs = ConfigErrors::active()) {
      errs->collect(one);  // each bad export is reported
    } else {
      one();
    }
  }
  return out;
}

void parse_export(const YAML::Node& n, size_t i, const std::string& file,
                  std::set<std::string>* names_out, std::vector<ExportConfig>* out_vec) {
  std::set<std::string>& names = *names_out;
  const std::string path = "exports[" + std::to_string(i) + "]";
  if (!n.IsMap()) throw ConfigError(mark_of(n, file) + ": " + path + ": expected a mapping");
  const YAML::Node type = n["type"];
  if (!type || !type.IsScalar()) {
    throw ConfigError(mark_of(n, file) + ": " + path + ".type: missing; expected one of " +
                      sink_type_names());
  }
  const exporter::SinkType* st = find_sink_type(type.Scalar());
  if (st == nullptr) {
    throw ConfigError(mark_of(type, file) + ": " + path + ".type: unknown sink '" + type.Scalar() +
                      "'; expected one of " + sink_type_names());
  }
  const std::vector<KeySpec> keys = export_keys(*st);
  std::shared_ptr<ParsedTable> t = parse_table(n, keys, file, path);
  ExportConfig e;
  e.type = std::string(st->name);
  e.options = exporter::exporter_options_from(*t, e.type + std::to_string(i));
  if (!names.insert(e.options.name).second) {
    t->fail("name", "duplicate export name '" + e.options.name + "'");
  }
  st->make(*t);
  e.table = std::move(t);
  out_vec->push_back(std::move(e));
}

}  // namespace

const std::string& default_config_text() {
  static const std::string s = kFlowdbDefaultConfig;
  return s;
}

namespace {

void parse_storage(const ParsedTable& s, AgentConfig* c) {
  c->engine.data_dir = s.str("data_dir");
  if (c->engine.data_dir.empty()) s.fail("data_dir", "empty; expected a directory path");
  c->engine.time_bucket_secs = static_cast<uint64_t>(s.integer("time_bucket") / kSec);
  if (s.integer("time_bucket") % kSec != 0) s.fail("time_bucket", "expected whole seconds");
  c->engine.wal_sync_mode =
      s.str("sync") == "always"
          ? SyncMode::always()
          : SyncMode::interval_ms(static_cast<uint64_t>(s.integer("sync_interval") / 1000));
  auto mib = [](int64_t b) { return static_cast<size_t>((b + kMiB - 1) / kMiB); };
  // One budget sizes the three big consumers so a small gateway sets one number; at most one
  // memtable waits for its flush, so memtables take at most half of it.
  const int64_t quarter = s.integer("memory_budget") / 4;
  c->engine.memtable_size_mb = mib(s.opt_integer("memtable_size").value_or(quarter));
  c->engine.max_frozen_memtables = 1;
  c->engine.block_cache_capacity_mb = mib(s.opt_integer("block_cache").value_or(quarter));
  c->engine.index_memory_budget_mb = mib(s.opt_integer("index_memory").value_or(quarter));
  c->engine.max_open_files = static_cast<size_t>(s.integer("max_open_files"));
  c->engine.wal_segment_size_mb = mib(s.integer("wal_segment_size"));
  const std::string& comp = s.str("compression");
  c->engine.compression = comp == "none"   ? Compression::none()
                          : comp == "zstd" ? Compression::zstd()
                                           : Compression::lz4();
  c->batcher.max_batch_records = static_cast<size_t>(s.integer("batch_max_points"));
  c->batcher.window = std::chrono::microseconds(s.integer("batch_window"));
  c->batcher.queue_max_records = static_cast<size_t>(s.integer("queue_max_points"));
  c->batcher.queue_max_bytes = static_cast<size_t>(s.integer("queue_max_bytes"));
  try {
    c->engine.validate();
  } catch (const Error& e) {
    s.fail("", std::string("rejected by the engine: ") + e.what());
  }
}

// Every input on its own, so each bad one is reported.
void parse_inputs(const ParsedTable& in, AgentConfig* c, ConfigErrors* errs) {
  std::set<std::string> names;
  for (const InputType* type : input_types()) {
    std::vector<const InputSettings*> built;
    std::vector<const ParsedTable*> entries;
    int i = 0;
    for (const auto& entry : in.tables(type->type)) {
      const std::string fallback = std::string(type->type) + std::to_string(i++);
      errs->collect([&] {
        InputConfig ic{type, type->settings(*entry, fallback)};
        if (!names.insert(ic.settings->name).second) {
          entry->fail("name", "duplicate input name '" + ic.settings->name + "'");
        }
        built.push_back(ic.settings.get());
        entries.push_back(entry.get());
        c->inputs.push_back(std::move(ic));
      });
    }
    if (type->check != nullptr) type->check(built, entries, errs);
  }
}

void parse_retention(const ParsedTable& r, AgentConfig* c) {
  std::vector<ingest::TtlRule> rules;
  for (const auto& rule : r.tables("rules")) {
    rules.push_back({rule->str("match"), static_cast<uint64_t>(rule->integer("ttl") / kSec)});
  }
  std::optional<uint64_t> def;
  if (auto d = r.opt_integer("default_ttl")) def = static_cast<uint64_t>(*d / kSec);
  c->ttl = ingest::TtlRules(std::move(rules), def);
  c->retention.interval = std::chrono::milliseconds(r.integer("interval") / 1000);
  c->retention.max_disk_bytes = static_cast<uint64_t>(r.integer("max_disk"));
  c->retention.min_free_bytes = static_cast<uint64_t>(r.integer("min_free"));
  c->retention.quota_policy = r.str("quota_policy") == "reject_new"
                                  ? retention::QuotaPolicy::RejectNew
                                  : retention::QuotaPolicy::DropOldest;
  c->retention.compaction_threshold = static_cast<size_t>(r.integer("compaction_threshold"));
}

void parse_http(const ParsedTable& h, AgentConfig* c) {
  c->http_listen = h.str("listen");
  sockaddr_storage ss;
  unsigned len;
  std::string err;
  if (!parse_host_port(c->http_listen, &ss, &len, &err)) h.fail("listen", err);
  c->http_query_max_points = static_cast<size_t>(h.integer("query_max_points"));
  const ParsedTable& pq = *h.table("promql");
  c->http_promql.max_samples = static_cast<size_t>(pq.integer("max_samples"));
  c->http_promql.timeout = std::chrono::milliseconds(pq.integer("timeout") / 1000);
  c->http_promql.max_series = static_cast<size_t>(pq.integer("max_series"));
  c->http_promql.lookback_delta = pq.integer("lookback_delta") / 1000;
  // An absent table parses as an empty one: auth is on only if written.
  const ParsedTable* auth = h.table("auth");
  if (auth != nullptr && h.positions.count("auth") != 0) {
    c->http_auth_tokens = split_tokens(resolve_secret(*auth, "token"));
    if (c->http_auth_tokens.empty()) {
      auth->fail("token", "no token given; expected token, token_file or token_env");
    }
  }
  const ParsedTable* tls = h.table("tls");
  if (tls != nullptr && h.positions.count("tls") != 0) {
    TlsFrontOptions o;
    o.cert_file = tls->str("cert_file");
    o.key_file = tls->str("key_file");
    o.client_ca_file = tls->str("client_ca_file");
    o.max_connections = static_cast<size_t>(tls->integer("max_connections"));
    o.handshake_timeout = std::chrono::milliseconds(tls->integer("handshake_timeout") / 1000);
    for (const char* k : {"cert_file", "key_file"}) {
      if (tls->str(k).empty()) tls->fail(k, "missing; expected the path of a PEM file");
    }
    std::string key, error;
    if (!check_tls_files(o, &key, &error)) tls->fail(key, error);
    c->http_tls = std::move(o);
  }
}

void parse_log(const ParsedTable& l, AgentConfig* c) {
  parse_log_level(l.str("level"), &c->log_level);
  parse_log_format(l.str("format"), &c->log_format);
  c->status_interval = std::chrono::milliseconds(l.integer("status_interval") / 1000);
  c->shutdown_timeout = std::chrono::milliseconds(l.integer("shutdown_timeout") / 1000);
}

}  // namespace

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
  ConfigErrors errs;  // every problem of the file, reported together
  const std::vector<KeySpec> inputs = inputs_keys();
  const std::vector<KeySpec> top = top_keys(inputs);
  std::shared_ptr<ParsedTable> t;
  try {
    t = parse_table(root, top, file, "");
  } catch (const YAML::Exception& e) {
    errs.add(ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                         std::to_string(e.mark.column + 1) + ": " + e.msg));
    errs.raise();
  }
  AgentConfig c;
  c.file = file;
  errs.collect([&] { parse_storage(*t->table("storage"), &c); });
  parse_inputs(*t->table("inputs"), &c, &errs);
  errs.collect([&] { parse_retention(*t->table("retention"), &c); });
  errs.collect([&] { c.exports = parse_exports(root["exports"], file); });
  errs.collect([&] { parse_http(*t->table("http"), &c); });
  errs.collect([&] { parse_log(*t->table("log"), &c); });
  if (!errs.empty()) errs.raise();
  return c;
}

AgentConfig load_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path + ":0:0: is a directory; expected a YAML config file");
  }
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(path + ":0:0: cannot read the config file: " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(path + ":0:0: cannot read the config file: " + std::strerror(errno));
  }
  // An empty file (or one of comments only) is almost always a truncated or
  // wrong file, not a wish for every default: refuse it.
  bool empty = true;
  try {
    empty = YAML::Load(ss.str()).IsNull();
  } catch (const YAML::Exception&) {
    empty = false;  // parse_config reports the syntax error with its position
  }
  if (empty) {
    throw ConfigError(path +
                      ":1:1: the file has no settings (empty or only comments); expected a "
                      "mapping with sections storage, inputs, retention, exports, http, log");
  }
  return parse_config(ss.str(), path);
}

std::vector<std::string> check_environment(const AgentConfig& c) {
  std::vector<std::string> problems;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::absolute(c.engine.data_dir, ec);
  // The directory itself, or the nearest ancestor the agent would create it in.
  fs::path probe = dir;
  while (!probe.empty() && !fs::exists(probe, ec) && probe != probe.parent_path()) {
    probe = probe.parent_path();
  }
  const std::string what = "storage.data_dir: " + c.engine.data_dir;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    problems.push_back(what + ": exists and is not a directory");
  } else if (!fs::is_directory(probe, ec)) {
    problems.push_back(what + ": no existing parent directory to create it in");
  } else if (::access(probe.c_str(), W_OK | X_OK) != 0) {
    problems.push_back(what + ": " + (probe == dir ? "the directory" : probe.string()) +
                       " is not writable by this user (" + std::strerror(errno) + ")");
  }
  return problems;
}

std::string count_inputs(const AgentConfig& c) {
  std::string out;
  for (const InputType* t : input_types()) {
    size_t n = 0;
    for (const InputConfig& ic : c.inputs) n += ic.type == t ? 1 : 0;
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(t->type);
  }
  return out;
}

std::string config_reference() {
  const std::vector<KeySpec> inputs = inputs_keys();
  std::string out;
  out += render_reference("storage", kStorageKeys);
  for (const InputType* t : input_types()) {
    out += render_reference("inputs." + std::string(t->type) + "[]", t->keys());
  }
  out += render_reference("retention", kRetentionKeys);
  for (const exporter::SinkType& st : sink_types()) {
    out += render_reference("exports[] with type: " + std::string(st.name), export_keys(st));
  }
  out += render_reference("http", kHttpKeys);
  out += render_reference("log", kLogKeys);
  return out;
}

}  // namespace flowdb::agent
