// Engine + batcher + metrics for driving one input directly in a test.
#pragma once

#include "agent/batcher.h"
#include "agent/core/ingest_context.h"
#include "agent/core/metrics.h"
#include "agent_util.h"
#include "flowdb/engine.h"
#include "ingest/series_key.h"
#include "ingest/value_codec.h"

namespace flowdb::testing {

struct Pipeline {
  TempDir dir;
  std::unique_ptr<Engine> engine;
  agent::Metrics metrics;
  agent::LiveTtlRules ttl;
  agent::RateLimiter log;
  std::unique_ptr<agent::Batcher> batcher;

  // Batches of `o` (default: a 2 ms window); the batcher runs unless
  // `start_batcher` is false (then nothing leaves its queue until started).
  explicit Pipeline(agent::BatcherOptions o = fast_batches(), bool start_batcher = true) {
    Config c;
    c.data_dir = dir / "db";
    c.wal_sync_mode = SyncMode::interval_ms(50);
    c.memtable_size_mb = 8;
    engine = Engine::open(c);
    batcher = std::make_unique<agent::Batcher>(engine.get(), &metrics, o);
    if (start_batcher) batcher->start();
  }
  static agent::BatcherOptions fast_batches() {
    agent::BatcherOptions o;
    o.window = std::chrono::milliseconds(2);
    return o;
  }
  ~Pipeline() { batcher->stop(); }
  agent::IngestContext ctx() { return {batcher.get(), &metrics, &ttl, &log}; }
  double metric(const std::string& name) { return metric_value(metrics.serialize(nullptr), name); }
  // The stored value of (measurement, tags, field) at ts, or nullopt.
  std::optional<ingest::FieldValue> value(const std::string& m, std::vector<ingest::Tag> tags,
                                          const std::string& field, int64_t ts_us) {
    auto r = engine->get(ingest::series_key(m, tags, field), ts_us);
    if (!r) return std::nullopt;
    ingest::FieldValue v;
    if (!ingest::decode_value(r->value, &v)) return std::nullopt;
    return v;
  }
  size_t count(const std::string& measurement) {
    return engine->query(Query::prefix(ingest::measurement_prefix(measurement))).size();
  }
};

}  // namespace flowdb::testing
