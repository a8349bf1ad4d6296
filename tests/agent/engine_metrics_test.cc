// The agent's Prometheus text of EngineStats (flowdb_engine_*) and of the
// retention thread's Stats (flowdb_retention_*): the values the engine and
// retention tests check as stats, as /metrics serves them.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent/core/metrics.h"
#include "agent/retention_metrics.h"
#include "flowdb/engine.h"
#include "temp_dir.h"

using namespace flowdb;
using Catch::Matchers::Contains;
using flowdb::testing::TempDir;

namespace {

Config small_config(const std::string& dir) {
  Config c;
  c.data_dir = dir;
  c.memtable_size_mb = 1;
  c.auto_background = false;
  c.block_cache_capacity_mb = 4;
  return c;
}

// How often each "# HELP NAME" / "# TYPE NAME" line appears, by NAME.
std::map<std::string, int> count_lines(const std::string& text, const std::string& prefix) {
  std::map<std::string, int> n;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const std::string rest = line.substr(prefix.size());
    ++n[rest.substr(0, rest.find(' '))];
  }
  return n;
}

}  // namespace

TEST_CASE("the agent formats the engine's stats as flowdb_engine metrics", "[agent][metrics]") {
  TempDir dir;
  auto e = Engine::open(small_config(dir.path()));
  e->write_batch(std::vector<Record>{Record("a", 1, "xyz")});
  e->flush();
  e->get("a", 1);
  const std::string text = agent::engine_metrics_text(e->stats());
  CHECK_THAT(text, Contains("flowdb_engine_records_written_total 1\n"));
  CHECK_THAT(text, Contains("flowdb_engine_bytes_written_total 4\n"));
  CHECK_THAT(text, Contains("flowdb_engine_flushes_total 1\n"));
  CHECK_THAT(text, Contains("flowdb_engine_sstables 1\n"));
  CHECK_THAT(text, Contains("flowdb_engine_gc_purged_records_total 0\n"));
  CHECK_THAT(text, Contains("# TYPE flowdb_engine_write_duration_seconds histogram"));
  const std::string writes = std::to_string(e->stats().write_latency.count);
  CHECK_THAT(text, Contains("flowdb_engine_write_duration_seconds_count " + writes + "\n"));
  CHECK_THAT(text,
             Contains("flowdb_engine_write_duration_seconds_bucket{le=\"+Inf\"} " + writes + "\n"));
  CHECK_THAT(text, Contains("flowdb_engine_read_duration_seconds_count 1\n"));
  CHECK_THAT(text, Contains("flowdb_engine_flush_duration_seconds_count 1\n"));
}

TEST_CASE("each flowdb_engine metric is defined once on /metrics with HELP and TYPE",
          "[agent][metrics]") {
  TempDir dir;
  auto e = Engine::open(small_config(dir.path()));
  agent::Metrics metrics;
  const std::string text = metrics.serialize(e.get());
  const auto help = count_lines(text, "# HELP ");
  const auto type = count_lines(text, "# TYPE ");
  const std::vector<std::string> names = {
      // Served by the agent before the engine's own text went away:
      "memtable_bytes", "memtable_records", "frozen_memtables", "sstables", "sstable_bytes",
      "buckets", "wal_bytes", "block_cache_bytes", "background_error", "records_written_total",
      "flushes_total", "compactions_total", "gc_runs_total", "gc_purged_bytes_total",
      "wal_syncs_total", "write_stalls_total",
      // Defined by the engine's metrics_text only:
      "bytes_written_total", "records_read_total", "records_expired_total",
      "compaction_read_bytes_total", "compaction_written_bytes_total", "gc_purged_records_total",
      "sst_files_opened_by_reads_total", "blocks_read_total", "blocks_read_from_disk_total",
      "block_cache_hit_ratio", "compression_ratio", "uptime_seconds", "background_errors_total",
      "write_duration_seconds", "read_duration_seconds", "flush_duration_seconds"};
  for (const std::string& n : names) {
    INFO(n);
    CHECK(help.count("flowdb_engine_" + n) == 1);
    CHECK(type.count("flowdb_engine_" + n) == 1);
  }
  int families = 0;
  for (const auto& [name, count] : type) {
    INFO(name);
    CHECK(count == 1);
    CHECK(help.count(name) == 1);
    if (name.rfind("flowdb_engine_", 0) == 0) ++families;
  }
  CHECK(families == static_cast<int>(names.size()));
}

TEST_CASE("an engine latency becomes a cumulative histogram in seconds", "[agent][metrics]") {
  EngineStats s;
  s.write_latency.upper_bounds_us = {3, 15, 2000, 9000000};
  s.write_latency.counts = {1, 2, 3, 4};
  s.write_latency.count = 10;
  s.write_latency.sum_us = 36002100;
  const std::string text = agent::engine_metrics_text(s);
  const std::string b = "flowdb_engine_write_duration_seconds_bucket";
  CHECK_THAT(text, Contains(b + "{le=\"1e-05\"} 1\n"));
  CHECK_THAT(text, Contains(b + "{le=\"5e-05\"} 3\n"));
  CHECK_THAT(text, Contains(b + "{le=\"0.001\"} 3\n"));
  CHECK_THAT(text, Contains(b + "{le=\"0.005\"} 6\n"));
  CHECK_THAT(text, Contains(b + "{le=\"5\"} 6\n"));
  CHECK_THAT(text, Contains(b + "{le=\"+Inf\"} 10\n"));
  CHECK_THAT(text, Contains("flowdb_engine_write_duration_seconds_sum 36.0021\n"));
  CHECK_THAT(text, Contains("flowdb_engine_write_duration_seconds_count 10\n"));
}

TEST_CASE("the agent formats the retention thread's stats as flowdb_retention metrics",
          "[agent][metrics][retention]") {
  retention::Stats s;
  s.files_dropped[1] = 7;  // quota
  s.bytes_dropped[2] = 4096;
  s.backlog_bytes_trimmed = 1234;
  s.runs = 3;
  const std::string text = agent::retention_metrics_text(s);
  CHECK_THAT(text, Contains("flowdb_retention_dropped_files_total{reason=\"quota\"} 7\n"));
  CHECK_THAT(text, Contains("flowdb_retention_dropped_files_total{reason=\"ttl\"} 0\n"));
  CHECK_THAT(text, Contains("flowdb_retention_dropped_bytes_total{reason=\"free_space\"} 4096\n"));
  CHECK_THAT(text, Contains("# TYPE flowdb_retention_export_backlog_trimmed_bytes_total counter"));
  CHECK_THAT(text, Contains("flowdb_retention_export_backlog_trimmed_bytes_total 1234\n"));
  CHECK_THAT(text, Contains("flowdb_retention_runs_total 3\n"));
}
