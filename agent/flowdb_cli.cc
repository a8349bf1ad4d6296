// flowdb: command-line tool for a FlowDB data directory no agent holds.
//   flowdb query   --data-dir DIR [--series S] [--field F] [--start T] [--end T] [--format F]
//   flowdb stats   --data-dir DIR
//   flowdb check   --data-dir DIR     (verify every block checksum)
//   flowdb compact --data-dir DIR
//   flowdb repair  --data-dir DIR     (cli_repair.cc)
// query, stats and check open the directory read-only (Config::read_only):
// they change no file in it, so they are safe on a directory being rescued.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "agent/agent_config.h"
#include "agent/cli_repair.h"
#include "agent/core/ingest_context.h"
#include "agent/core/log.h"
#include "agent/query_format.h"
#include "flowdb/engine.h"
#include "ingest/rfc3339.h"

using namespace flowdb;

namespace {

constexpr const char* kInstalledConfig = "/etc/flowdb/flowdb-agent.yaml";

// The HTTP base URL of the agent that would hold `dir`: http.listen (and
// http.tls) of the agent config (`--config`, else the installed one, else
// the default).
std::string agent_url(const std::string& config_file) {
  std::string file = config_file;
  std::error_code ec;
  if (file.empty() && std::filesystem::exists(kInstalledConfig, ec)) file = kInstalledConfig;
  try {
    const agent::AgentConfig c =
        file.empty() ? agent::parse_config(agent::default_config_text(), "<default>")
                     : agent::load_config(file);
    return (c.http_tls ? "https://" : "http://") + c.http_listen;
  } catch (const agent::ConfigError&) {
    return "http://127.0.0.1:9108";  // the default; the hint names the file it could not read
  }
}

std::unique_ptr<Engine> open_dir(const std::string& dir, const std::string& config_file,
                                 bool read_only) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw std::runtime_error("no FlowDB data directory at " + dir +
                             (std::filesystem::exists(dir, ec) ? " (not a directory)" : ""));
  }
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec) &&
      std::filesystem::is_empty(dir, ec)) {
    throw std::runtime_error("no FlowDB data directory at " + dir + " (the directory is empty)");
  }
  Config c;
  c.data_dir = dir;
  c.create_if_missing = false;
  c.read_only = read_only;
  c.logger = agent::engine_logger();  // e.g. a torn WAL tail, as an agent log line
  // The backend is the directory's: a SingleFile store has sst.pack.
  if (std::filesystem::exists(std::filesystem::path(dir) / "sst.pack", ec)) {
    c.storage_backend = StorageBackendKind::SingleFile;
  }
  c.auto_background = false;
  c.memtable_size_mb = 16;
  c.block_cache_capacity_mb = 8;
  try {
    return Engine::open(c);
  } catch (const Error& e) {
    if (e.code() == Errc::Busy) {
      const std::string url = agent_url(config_file);
      throw std::runtime_error(
          "the data directory " + dir +
          " is held by a running flowdb-agent; query it through the agent's HTTP API instead, "
          "e.g. curl '" +
          url + "/api/v1/export?series=cpu&start=-1h'");
    }
    throw;
  }
}

// Streams a query's output to stdout (bounded memory for any result size).
class StdoutSink : public agent::QuerySink {
 public:
  bool begin(const std::string&, bool, std::optional<size_t>) override { return true; }
  bool write(std::string_view data) override {
    return std::fwrite(data.data(), 1, data.size(), stdout) == data.size();
  }
};

// Progress on a terminal only (stderr), so piped output stays clean.
void progress(const std::string& what) {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%s\033[K", what.c_str());
}
void progress_done() {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
}

// The subcommands and the options they fill.
struct Cli {
  CLI::App app{
      "flowdb: inspect and maintain a FlowDB data directory (one that no running agent holds; "
      "query a running agent over its HTTP API)"};
  std::string dir, config_file;
  std::map<std::string, std::string> params;  // query's options
  CLI::App* query = nullptr;
  CLI::App* stats = nullptr;
  CLI::App* check = nullptr;
  CLI::App* compact = nullptr;
  CLI::App* repair = nullptr;

  Cli();
  CLI::App* add(const char* name, const std::string& help);
};

CLI::App* Cli::add(const char* name, const std::string& help) {
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("-d,--data-dir", dir,
                  "The agent's storage.data_dir (the directory holding CURRENT, MANIFEST-*, "
                  "wal/ and sst/)")
      ->required();
  return sub;
}

Cli::Cli() {
  app.name("flowdb");
  app.require_subcommand(1);
  app.add_option("-c,--config", config_file,
                 std::string("flowdb-agent config whose http.listen the hints name (default: ") +
                     kInstalledConfig + " if present)");
  query =
      add("query", "Print stored points, with the same filters and formats as GET /api/v1/export");
  const std::pair<const char*, const char*> kQueryOptions[] = {
      {"series",
       "Series to read: a measurement, optionally with tags (cpu,host=gw1); escape "
       "',', ' ' and '=' in tag values with a backslash as line protocol does"},
      {"field", "Only this field (default: every field)"},
      {"start", "Oldest time: RFC 3339, Unix ns, or relative (-1h, -1h30m, now-15m)"},
      {"end", "Newest time, same forms as --start (default: now)"},
      {"format", "Output: json (default), csv or lp (line protocol)"},
      {"limit", "At most this many points (default: all)"},
      {"order", "asc (default: by series, then time) or desc (newest first)"},
  };
  for (const auto& [name, help] : kQueryOptions) {
    query->add_option(std::string("--") + name, params[name], help);
  }
  stats = add("stats",
              "Print the engine's table, WAL and memtable sizes and one line per time bucket "
              "(read-only)");
  check = add("check",
              "Read every block of every table and verify its checksum (exit 3 if corrupt; "
              "read-only)");
  compact = add("compact", "Merge the files of every time bucket that has several into one");
  repair = add("repair",
               "Rebuild CURRENT/MANIFEST from the readable tables and WAL; move what cannot be "
               "read into DIR/lost/ (exit 1 if anything was, 0 if clean)");
  app.add_flag_callback(
      "--version",
      [] {
        std::printf("flowdb %s\n", FLOWDB_VERSION);
        std::exit(0);
      },
      "Print the version and exit");
}

void run_query_command(Engine& engine, const std::map<std::string, std::string>& params) {
  auto get = [&](std::string_view k) -> std::optional<std::string> {
    auto it = params.find(std::string(k));
    if (it == params.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  agent::QueryRequest req = agent::parse_query_request(get, agent::now_us(), SIZE_MAX);
  StdoutSink out;
  const agent::QueryStats st = agent::run_query(engine, req, out);
  if (st.truncated) {
    std::fprintf(stderr, "flowdb: output truncated at --limit %zu points\n", st.count);
  }
}

void print_stats(Engine& engine) {
  EngineStats s = engine.stats();
  std::printf("sstables %zu (%llu bytes), buckets %zu, wal %llu bytes, memtable %zu records\n",
              s.sstable_count, static_cast<unsigned long long>(s.sstable_bytes),
              s.time_index_buckets, static_cast<unsigned long long>(s.wal_bytes),
              s.memtable_records);
  std::printf("%-12s %-20s %6s %12s %12s\n", "bucket", "start", "files", "bytes", "records");
  for (const BucketInfo& b : engine.list_buckets()) {
    std::string start;
    if (!ingest::append_rfc3339(&start, b.start_ts)) start = std::to_string(b.start_ts);
    std::printf("%-12lld %-20s %6zu %12llu %12llu\n", static_cast<long long>(b.bucket),
                start.c_str(), b.files, static_cast<unsigned long long>(b.bytes),
                static_cast<unsigned long long>(b.records));
  }
}

void run_check(Engine& engine) {
  progress("verifying checksums...");
  uint64_t blocks = engine.verify_checksums();
  progress_done();
  std::printf("OK: %llu blocks verified\n", static_cast<unsigned long long>(blocks));
}

void run_compact(Engine& engine) {
  auto buckets = engine.list_buckets();
  size_t done = 0, compacted = 0;
  for (const BucketInfo& b : buckets) {
    progress("compacting bucket " + std::to_string(++done) + "/" + std::to_string(buckets.size()));
    compacted += engine.compact_bucket(b.bucket) ? 1 : 0;
  }
  progress_done();
  std::printf("compacted %zu of %zu buckets\n", compacted, buckets.size());
}

// query, stats, check, compact: one engine open each. Returns the exit code.
int run_engine_command(const Cli& cli) {
  try {
    auto engine = open_dir(cli.dir, cli.config_file, /*read_only=*/!cli.compact->parsed());
    if (cli.query->parsed()) {
      run_query_command(*engine, cli.params);
    } else if (cli.stats->parsed()) {
      print_stats(*engine);
    } else if (cli.check->parsed()) {
      run_check(*engine);
    } else if (cli.compact->parsed()) {
      run_compact(*engine);
    }
    engine->shutdown();
  } catch (const agent::QueryError& e) {
    std::fprintf(stderr, "flowdb: %s\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "flowdb: %s: %s\n", std::string(errc_name(e.code())).c_str(), e.what());
    return e.code() == Errc::Corruption ? 3 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flowdb: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Cli args;
  if (argc < 2) {  // a bare `flowdb`: say how to use it, as a usage error
    std::fputs(args.app.help().c_str(), stderr);
    return 2;
  }
  try {
    args.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return args.app.exit(e) == 0 ? 0 : 2;  // --help is 0; every usage error is 2
  }
  if (args.repair->parsed()) return agent::cli::run_repair(args.dir, args.config_file);
  return run_engine_command(args);
}
