// The evaluator against Prometheus 2.42's own test scripts
// (promql/testdata/*.test, Apache-2.0, copied unchanged into testdata/):
// every eval instant is run in instant and range mode; evals of queries the
// parser rejects (functions and syntax outside FlowDB's subset) are skipped
// and counted, so that a regression in support shows as a larger count.
#include <catch2/catch.hpp>
#include <string>

#include "eval_test_util.h"

using flowdb::promql::testing::read_file;
using flowdb::promql::testing::run_script;
using flowdb::promql::testing::ScriptResult;

namespace {

ScriptResult run(const std::string& name, int max_skipped) {
  ScriptResult r = run_script(read_file(std::string(PROMQL_TESTDATA_DIR) + "/" + name));
  // One assertion per eval, so that each failure names its line.
  for (const auto& [what, problem] : r.outcomes) {
    INFO(name << " " << what);
    CHECK(problem == "");
  }
  INFO(name << ": " << r.passed << " passed, " << r.skipped << " skipped");
  for (const std::string& s : r.skipped_queries) UNSCOPED_INFO("skipped " << s);
  CHECK(r.skipped <= max_skipped);
  CHECK(r.passed > 0);
  return r;
}

}  // namespace

TEST_CASE("Prometheus's aggregator tests pass", "[promql][eval][testdata]") {
  run("aggregators.test", 5);
}

TEST_CASE("Prometheus's collision test passes", "[promql][eval][testdata]") {
  run("collision.test", 0);
}

TEST_CASE("Prometheus's function tests pass for the supported functions",
          "[promql][eval][testdata]") {
  run("functions.test", 106);
}

TEST_CASE("Prometheus's classic histogram tests pass", "[promql][eval][testdata]") {
  run("histograms.test", 0);
}

TEST_CASE("Prometheus's literal tests pass", "[promql][eval][testdata]") {
  run("literals.test", 0);
}

TEST_CASE("Prometheus's operator tests pass", "[promql][eval][testdata]") {
  run("operators.test", 0);
}

TEST_CASE("Prometheus's selector tests pass", "[promql][eval][testdata]") {
  run("selectors.test", 1);
}

TEST_CASE("Prometheus's staleness tests pass", "[promql][eval][testdata]") {
  run("staleness.test", 0);
}

TEST_CASE("Prometheus's subquery tests pass", "[promql][eval][testdata]") {
  run("subquery.test", 0);
}
