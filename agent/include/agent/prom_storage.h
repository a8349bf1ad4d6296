// The gateway's points seen as Prometheus series (issue 18): the naming
// mapping and a promql::Querier over the engine.
//
// Mapping (agent/README.md, "Prometheus API"): a stored point of measurement
// m, tags T and field f is the series
//   __name__ = sanitize(f == "value" ? m : m + "_" + f),  labels = T
// with names sanitised to Prometheus's [a-zA-Z_:][a-zA-Z0-9_:]* (labels:
// [a-zA-Z_][a-zA-Z0-9_]*) by replacing every other byte with '_' and
// prefixing '_' to a leading digit. Remote write stores __name__ as the
// measurement and the sample as field "value", so those series come back
// with exactly their original names and labels. Numeric and boolean fields
// (true = 1, false = 0) are samples; string fields are not series at all.
// Timestamps are truncated from microseconds to milliseconds.
//
// Thread-safety: EngineQuerier is used by one query at a time (promql
// storage.h); distinct instances over one Engine may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/promql/eval.h"
#include "agent/promql/storage.h"
#include "flowdb/engine.h"
#include "ingest/series_key.h"

namespace flowdb::agent {

// The Prometheus metric name of (measurement, field).
std::string prom_metric_name(std::string_view measurement, std::string_view field);
// A tag name as a Prometheus label name.
std::string prom_label_name(std::string_view tag);
// The full label set of a decoded key: __name__ plus the tags, sorted; tags
// whose sanitised name is __name__ or repeats an earlier one are dropped.
promql::Labels prom_labels(const ingest::SeriesKeyParts& parts);

class EngineQuerier : public promql::Querier {
 public:
  // Reads `engine` through one snapshot taken now. `engine` must outlive this.
  // select() holds what it returns in memory (16 bytes a sample): past
  // `max_samples` samples in all, it throws promql::EvalError("execution",
  // Prometheus's too-many-samples message), so a query's memory is bounded.
  explicit EngineQuerier(Engine& engine, size_t max_samples = SIZE_MAX);

  // promql::Querier. Uses the time range in the scan, so only the time
  // buckets overlapping [mint, maxt] are opened; series whose name cannot
  // match are skipped a measurement or a key at a time, not per sample.
  void select(const promql::Matchers& matchers, int64_t mint, int64_t maxt,
              const std::function<bool(promql::Series&&)>& fn) override;

  // Calls fn for every series (labels only) matching `matchers` with a sample
  // in [mint, maxt] (ms); for /api/v1/series and the label endpoints. Stops
  // when fn returns false.
  void series(const promql::Matchers& matchers, int64_t mint, int64_t maxt,
              const std::function<bool(promql::Labels&&)>& fn);

  // Samples read by select() so far.
  size_t samples_read() const { return samples_read_; }

 private:
  template <typename OnSeries>
  void walk(const promql::Matchers& matchers, int64_t mint, int64_t maxt, bool want_samples,
            OnSeries&& on_series);

  Engine& engine_;
  ReadOptions opts_;
  const size_t max_samples_;
  size_t samples_read_ = 0;
};

}  // namespace flowdb::agent
