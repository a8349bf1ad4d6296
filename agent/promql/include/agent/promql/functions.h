// The PromQL functions FlowDB supports, with Prometheus's signatures
// (promql/parser/functions.go): argument types, optional trailing arguments
// and return type. Immutable static data; safe from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "agent/promql/ast.h"

namespace flowdb::promql {

struct Function {
  std::string_view name;
  std::vector<ValueType> arg_types;
  // How many trailing arguments may be left out (round's to_nearest: 1).
  int optional_args = 0;
  ValueType return_type = ValueType::kVector;
};

// The supported function called `name`, or nullptr.
const Function* find_function(std::string_view name);
// Whether `name` is a function of Prometheus 2.x FlowDB does not support
// (absent, hour, sort, histogram_count, ...), for a clearer error message.
bool is_prometheus_function(std::string_view name);

}  // namespace flowdb::promql
