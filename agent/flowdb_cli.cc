// flowdb: command-line tool for a FlowDB data directory no agent holds.
//   flowdb query   --data-dir DIR [--series S] [--field F] [--start T] [--end T] [--format F]
//   flowdb stats   --data-dir DIR
//   flowdb check   --data-dir DIR     (verify every block checksum)
//   flowdb compact --data-dir DIR
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "agent/ingest_context.h"
#include "agent/query_format.h"
#include "flowdb/engine.h"
#include "ingest/rfc3339.h"

using namespace flowdb;

namespace {

std::unique_ptr<Engine> open_dir(const std::string& dir) {
  Config c;
  c.data_dir = dir;
  c.create_if_missing = false;
  c.auto_background = false;
  c.memtable_size_mb = 16;
  c.block_cache_capacity_mb = 8;
  try {
    return Engine::open(c);
  } catch (const Error& e) {
    if (e.code() == Errc::Busy) {
      throw std::runtime_error(
          "the data directory " + dir +
          " is held by a running flowdb-agent; query it through the agent's HTTP API instead, "
          "e.g. curl 'http://127.0.0.1:9108/api/v1/query?series=cpu&start=-1h'");
    }
    throw;
  }
}

// Progress on a terminal only (stderr), so piped output stays clean.
void progress(const std::string& what) {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%s\033[K", what.c_str());
}
void progress_done() {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flowdb: inspect and maintain a FlowDB data directory"};
  app.require_subcommand(1);
  std::string dir;
  auto add_dir = [&](CLI::App* sub) {
    sub->add_option("-d,--data-dir", dir, "Data directory")->required();
  };
  std::map<std::string, std::string> params;
  auto* query = app.add_subcommand("query", "Print stored points (same filters as the HTTP API)");
  add_dir(query);
  for (const char* p : {"series", "field", "start", "end", "format", "limit"}) {
    query->add_option(std::string("--") + p, params[p], std::string("The ") + p + " parameter");
  }
  auto* stats = app.add_subcommand("stats", "Print engine statistics and buckets");
  add_dir(stats);
  auto* check = app.add_subcommand("check", "Verify the checksum of every block");
  add_dir(check);
  auto* compact = app.add_subcommand("compact", "Compact every bucket with several files");
  add_dir(compact);
  app.add_flag_callback("--version", [] {
    std::printf("flowdb %s\n", FLOWDB_VERSION);
    std::exit(0);
  });
  CLI11_PARSE(app, argc, argv);

  try {
    auto engine = open_dir(dir);
    if (query->parsed()) {
      auto get = [&](std::string_view k) -> std::optional<std::string> {
        auto it = params.find(std::string(k));
        if (it == params.end() || it->second.empty()) return std::nullopt;
        return it->second;
      };
      agent::QueryRequest req = agent::parse_query_request(get, agent::now_us(), SIZE_MAX);
      agent::QueryResult res = agent::run_query(*engine, req);
      std::fwrite(res.body.data(), 1, res.body.size(), stdout);
    } else if (stats->parsed()) {
      EngineStats s = engine->stats();
      std::printf("sstables %zu (%llu bytes), buckets %zu, wal %llu bytes, memtable %zu records\n",
                  s.sstable_count, static_cast<unsigned long long>(s.sstable_bytes),
                  s.time_index_buckets, static_cast<unsigned long long>(s.wal_bytes),
                  s.memtable_records);
      std::printf("%-12s %-20s %6s %12s %12s\n", "bucket", "start", "files", "bytes", "records");
      for (const BucketInfo& b : engine->list_buckets()) {
        std::string start;
        if (!ingest::append_rfc3339(&start, b.start_ts)) start = std::to_string(b.start_ts);
        std::printf("%-12lld %-20s %6zu %12llu %12llu\n", static_cast<long long>(b.bucket),
                    start.c_str(), b.files, static_cast<unsigned long long>(b.bytes),
                    static_cast<unsigned long long>(b.records));
      }
    } else if (check->parsed()) {
      progress("verifying checksums...");
      uint64_t blocks = engine->verify_checksums();
      progress_done();
      std::printf("OK: %llu blocks verified\n", static_cast<unsigned long long>(blocks));
    } else if (compact->parsed()) {
      auto buckets = engine->list_buckets();
      size_t done = 0, compacted = 0;
      for (const BucketInfo& b : buckets) {
        progress("compacting bucket " + std::to_string(++done) + "/" +
                 std::to_string(buckets.size()));
        compacted += engine->compact_bucket(b.bucket) ? 1 : 0;
      }
      progress_done();
      std::printf("compacted %zu of %zu buckets\n", compacted, buckets.size());
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
