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
