// The PromQL evaluator on hand-written cases: result formats, limits,
// selection windows, errors.
#include "agent/promql/eval.h"

#include <catch2/catch.hpp>

#include "agent/promql/parser.h"
#include "eval_test_util.h"
