// Internals of the evaluator (eval.h), shared by eval.cc (the tree walk, as
// Prometheus 2.42's promql/engine.go evaluator), eval_binary.cc,
// eval_aggregate.cc, eval_functions.cc and json.cc.
//
// As in Prometheus 2.42 every expression is evaluated over all steps of the
// evaluator at once (an instant query is a range query of one step): an
// instant-vector or scalar expression gives a Matrix with one point per step
// at which it has a value.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/promql/ast.h"
#include "agent/promql/eval.h"
#include "agent/promql/value.h"

namespace flowdb::promql::detail {

// Prometheus's errors: ev.errorf() is "execution", ErrTooManySamples too.
[[noreturn]] void fail_exec(const std::string& message);
[[noreturn]] void fail_too_many_samples();

// Label helpers (Prometheus's labels.Builder operations on sorted sets).
Labels without_name(Labels ls);
Labels keep_only(const Labels& ls, const std::vector<std::string>& names);
Labels drop(const Labels& ls, const std::vector<std::string>& names, bool also_name);
// Sets (or, for an empty value, deletes) one label.
void set_label(Labels& ls, std::string_view name, std::string_view value);
// Prometheus's Labels.String(): {a="b", c="d"} with Go quoting.
std::string labels_string(const Labels& ls);
// A byte string identifying a label set (or part of one), for hash maps.
std::string labels_key(const Labels& ls);
// Fails if two label sets are equal: "vector cannot contain metrics with the
// same labelset".
void check_unique(std::vector<const Labels*> labelsets);
// Whether `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*).
bool valid_label_name(std::string_view name);
// Go's strconv.FormatFloat(v, 'f', -1, 64), with Prometheus's "+Inf".
std::string format_float(double v);

// Kahan-Babuska summation step (Prometheus's kahanSumInc).
inline void kahan_inc(double inc, double& sum, double& c) {
  double t = sum + inc;
  if (std::abs(sum) >= std::abs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}
// Prometheus's quantile(): sorts `values`.
double quantile(double q, std::vector<double>& values);

// Binary operators (eval_binary.cc).
double scalar_binop(BinaryOp op, double lhs, double rhs);
Vector vector_scalar_binop(BinaryOp op, const Vector& lhs, double rhs, bool swap, bool return_bool);
Vector vector_binop(const BinaryExpr& e, const Vector& lhs, const Vector& rhs);

// Aggregations (eval_aggregate.cc). `param` is the scalar parameter,
// `label` count_values's string parameter.
Vector aggregate(const AggregateExpr& e, double param, const std::string& label, const Vector& in);

// Functions with an instant-vector or scalar result computed per step
// (eval_functions.cc). `args` holds one Vector per argument (a scalar is a
// one-element Vector; a string argument an empty one).
using VectorFn = std::function<Vector(const std::vector<Vector>& args, int64_t ts)>;
// The step function of a call without a range argument; compiles what it
// can once (label_replace's regex). Throws EvalError.
VectorFn vector_function(const Call& call);

// A range-vector function's input at one step: the points of one series in
// the window, and the scalar arguments' values at that step.
struct RangeInput {
  const std::vector<Sample>& points;   // non-empty, ascending
  int64_t ts;                          // the evaluation time
  int64_t range;                       // the selector's range (ms)
  int64_t offset;                      // the selector's offset (ms)
  const std::vector<double>& scalars;  // the other arguments, by position
};
// The value of a range-vector function, or false for no output.
using RangeFn = bool (*)(const RangeInput& in, double& out);
// The function of a call with a range argument, or nullptr.
RangeFn range_function(std::string_view name);

}  // namespace flowdb::promql::detail
