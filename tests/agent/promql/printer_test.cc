// to_string(): canonical PromQL that parses back to the same tree.
#include <catch2/catch.hpp>

#include "agent/promql/parser.h"
#include "promql_test_util.h"

using flowdb::promql::parse;
using flowdb::promql::testing::tree;

TEST_CASE("Printing a parsed query and parsing it again gives the same tree", "[promql][printer]") {
  const char* queries[] = {
      "1 + 2 * 3", "-1^2", "(1 + 2) * 3", "2 ^ 3 ^ 2", "-some_metric",
  };
  for (const char* q : queries) {
    auto first = parse(q);
    INFO("query: " << q);
    REQUIRE(first.ok());
    std::string printed = to_string(first.expr());
    INFO("printed: " << printed);
    CHECK(tree(printed) == dump(first.expr()));
  }
}

TEST_CASE("The printer writes Prometheus's canonical form", "[promql][printer]") {
  auto printed = [](const char* q) {
    auto r = parse(q);
    INFO("query: " << q);
    REQUIRE(r.ok());
    return to_string(r.expr());
  };
  CHECK(printed("sum(x) by (a,b)") == "sum by (a, b) (x)");
  CHECK(printed("foo{a='b'}") == "foo{a=\"b\"}");
  CHECK(printed("{__name__=\"x\"}") == "{__name__=\"x\"}");
  CHECK(printed("a*on(x)group_left b") == "a * on (x) group_left () b");
  CHECK(printed("a   ==bool   1") == "a == bool 1");
  CHECK(printed("x[90m:1m] offset 1d") == "x[1h30m:1m] offset 1d");
  CHECK(printed("rate(x[5m]   OFFSET 5m)") == "rate(x[5m] offset 5m)");
  CHECK(printed("1e3") == "1000");
  CHECK(printed("-0.5") == "-0.5");
  CHECK(printed("'\\u00e9\\t'") == "\"\u00e9\\t\"");
  CHECK(printed("topk(3,x)") == "topk(3, x)");
  CHECK(flowdb::promql::format_duration(flowdb::promql::Duration{0}) == "0s");
  CHECK(flowdb::promql::format_duration(flowdb::promql::Duration{93784005}) == "1d2h3m4s5ms");
}
