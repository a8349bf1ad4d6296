// Helpers of the PromQL evaluator tests: a Querier over series in memory and
// a runner of Prometheus's promql test scripts (promql/test.go format:
// `load <step>`, `eval[_fail|_ordered] instant at <duration> <query>`,
// `clear`), restricted to what FlowDB supports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/promql/eval.h"
#include "agent/promql/storage.h"
#include "agent/promql/value.h"

namespace flowdb::promql::testing {

class MemQuerier : public Querier {
 public:
  // Adds samples to the series with labels `ls` (sorted), keeping time order.
  void add(Labels ls, std::vector<Sample> samples);
  void clear() { series_.clear(); }
  void select(const Matchers& matchers, int64_t mint, int64_t maxt,
              const std::function<bool(Series&&)>& fn) override;

  // The windows of the select calls made, for tests of the selection ranges.
  std::vector<std::pair<int64_t, int64_t>> calls;

 private:
  std::vector<Series> series_;
};

// Labels from name/value pairs, sorted.
Labels labels(std::initializer_list<std::pair<std::string, std::string>> l);

// A parsed series description such as `metric{a="b"} 1+2x3 _ stale`.
struct SeriesDesc {
  Labels labels;
  std::vector<std::pair<bool, double>> values;  // (present, value) per step
};
// Throws std::runtime_error on malformed input.
SeriesDesc parse_series_desc(std::string_view line);
// Prometheus's model.ParseDuration ("1h30m", "10s", "0"), in ms.
int64_t parse_duration_ms(std::string_view s);

struct ScriptResult {
  int passed = 0;
  int skipped = 0;  // queries outside the supported subset
  std::vector<std::string> skipped_queries;
  // Every eval run: its line and query, and "" or what went wrong.
  std::vector<std::pair<std::string, std::string>> outcomes;
};

// Runs a script: each eval in instant mode and, like Prometheus's test
// runner, in range mode over [t-1m, t+1m] by 1m compared at t.
ScriptResult run_script(const std::string& text);
std::string read_file(const std::string& path);

}  // namespace flowdb::promql::testing
