// The supported functions' signatures (Prometheus's promql/parser/functions.go).
#include "agent/promql/functions.h"

#include <algorithm>
#include <iterator>

namespace flowdb::promql {
namespace {

constexpr ValueType S = ValueType::kScalar;
constexpr ValueType V = ValueType::kVector;
constexpr ValueType M = ValueType::kMatrix;
constexpr ValueType Str = ValueType::kString;

const std::vector<Function>& functions() {
  static const std::vector<Function> kFunctions = {
      {"abs", {V}},
      {"avg_over_time", {M}},
      {"ceil", {V}},
      {"changes", {M}},
      {"clamp", {V, S, S}},
      {"clamp_max", {V, S}},
      {"clamp_min", {V, S}},
      {"count_over_time", {M}},
      {"delta", {M}},
      {"deriv", {M}},
      {"floor", {V}},
      {"histogram_quantile", {S, V}},
      {"idelta", {M}},
      {"increase", {M}},
      {"irate", {M}},
      {"label_replace", {V, Str, Str, Str, Str}},
      {"last_over_time", {M}},
      {"max_over_time", {M}},
      {"min_over_time", {M}},
      {"quantile_over_time", {S, M}},
      {"rate", {M}},
      {"resets", {M}},
      {"round", {V, S}, 1},
      {"scalar", {V}, 0, S},
      {"stddev_over_time", {M}},
      {"sum_over_time", {M}},
      {"time", {}, 0, S},
      {"timestamp", {V}},
      {"vector", {S}},
  };
  return kFunctions;
}

// Prometheus 2.x/3.x functions outside FlowDB's subset.
constexpr std::string_view kOther[] = {"absent",
                                       "absent_over_time",
                                       "acos",
                                       "acosh",
                                       "asin",
                                       "asinh",
                                       "atan",
                                       "atanh",
                                       "cos",
                                       "cosh",
                                       "day_of_month",
                                       "day_of_week",
                                       "day_of_year",
                                       "days_in_month",
                                       "deg",
                                       "double_exponential_smoothing",
                                       "exp",
                                       "histogram_avg",
                                       "histogram_count",
                                       "histogram_fraction",
                                       "histogram_stddev",
                                       "histogram_stdvar",
                                       "histogram_sum",
                                       "holt_winters",
                                       "hour",
                                       "info",
                                       "label_join",
                                       "ln",
                                       "log10",
                                       "log2",
                                       "mad_over_time",
                                       "minute",
                                       "month",
                                       "pi",
                                       "predict_linear",
                                       "present_over_time",
                                       "rad",
                                       "sgn",
                                       "sin",
                                       "sinh",
                                       "sort",
                                       "sort_by_label",
                                       "sort_by_label_desc",
                                       "sort_desc",
                                       "sqrt",
                                       "stdvar_over_time",
                                       "tan",
                                       "tanh",
                                       "year",
                                       "limitk",
                                       "limit_ratio",
                                       "first_over_time",
                                       "ts_of_max_over_time",
                                       "ts_of_min_over_time",
                                       "ts_of_last_over_time",
                                       "histogram_quantiles",
                                       "xrate",
                                       "xincrease",
                                       "xdelta"};

}  // namespace

const Function* find_function(std::string_view name) {
  for (const Function& f : functions()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool is_prometheus_function(std::string_view name) {
  return std::find(std::begin(kOther), std::end(kOther), name) != std::end(kOther);
}

}  // namespace flowdb::promql
