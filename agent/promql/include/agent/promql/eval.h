// The PromQL evaluator: an expression tree (ast.h) evaluated over a Querier
// (storage.h) at one instant or over a range, with Prometheus 2.x semantics
// (promql/engine.go, functions.go): 5-minute lookback, staleness markers,
// extrapolated rate/increase/delta, vector matching, subqueries.
//
// Thread-safety: evaluations share no state; one Querier per evaluation.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "agent/promql/ast.h"
#include "agent/promql/storage.h"
#include "agent/promql/value.h"

namespace flowdb::promql {

struct Limits {
  // Samples held in memory at once, as Prometheus's --query.max-samples:
  // "query processing would load too many samples into memory in <stage>".
  size_t max_samples = 50'000'000;
  // Wall-clock budget of one evaluation: "query timed out in <stage>".
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  // Series one selector may return (0: unlimited).
  size_t max_series = 0;
  // How far back an instant selector looks for a sample (ms).
  int64_t lookback_delta = 5 * 60 * 1000;
  // The step of a subquery written without one (`[1h:]`), as Prometheus's
  // global evaluation_interval (ms).
  int64_t default_subquery_step = 60 * 1000;
};

// A failed evaluation. `type` is Prometheus's errorType: "bad_data" (the
// query cannot be evaluated: bad regex, unsupported construct, bad argument),
// "execution" (storage failure, too many samples, duplicate series after
// label removal, many-to-many matching), "timeout".
class EvalError : public std::runtime_error {
 public:
  EvalError(std::string type, const std::string& message)
      : std::runtime_error(message), type_(std::move(type)) {}
  const std::string& type() const { return type_; }

 private:
  std::string type_;
};

// Evaluates at time t (ms). Scalar, Vector, Matrix (for a range selector) or
// String, as Prometheus's /api/v1/query. Throws EvalError.
Value eval_instant(const Expr& e, Querier& q, int64_t t, const Limits& limits);

// Evaluates at start, start+step, ... <= end (ms; step > 0; end >= start).
// A scalar or vector expression gives one series per result labelset (a
// scalar: one series without labels), as /api/v1/query_range. Throws
// EvalError; a range-vector or string expression is "bad_data" with
// Prometheus's message.
Matrix eval_range(const Expr& e, Querier& q, int64_t start, int64_t end, int64_t step,
                  const Limits& limits);

// The `data` object of a successful API response:
// {"resultType":"vector","result":[...]} with Prometheus's number format
// (values as strings: "1.5", "NaN", "+Inf"; timestamps as seconds 1700000000.5).
std::string to_json(const Value& v);

}  // namespace flowdb::promql
