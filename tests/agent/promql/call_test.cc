// The PromQL parser on aggregations, function calls and vector matching.
// Cases marked "parse_test.go" are from Prometheus's
// promql/parser/parse_test.go, expected trees written as dump().
#include <catch2/catch.hpp>

#include "agent/promql/functions.h"
#include "agent/promql/parser.h"
#include "promql_test_util.h"

using flowdb::promql::AggregateExpr;
using flowdb::promql::AggregateOp;
using flowdb::promql::BinaryExpr;
using flowdb::promql::Cardinality;
using flowdb::promql::parse;
using flowdb::promql::testing::error_of;
using flowdb::promql::testing::tree;

TEST_CASE("Aggregations take by or without before or after their arguments",
          "[promql][aggregate]") {
  // parse_test.go
  CHECK(tree("sum by (foo)(some_metric)") == "(sum by(foo) (selector some_metric))");
  CHECK(tree("avg by (foo)(some_metric)") == "(avg by(foo) (selector some_metric))");
  CHECK(tree("max by (foo)(some_metric)") == "(max by(foo) (selector some_metric))");
  CHECK(tree("sum without (foo) (some_metric)") == "(sum without(foo) (selector some_metric))");
  CHECK(tree("sum (some_metric) without (foo)") == "(sum without(foo) (selector some_metric))");
  CHECK(tree("stddev(some_metric)") == "(stddev (selector some_metric))");
  CHECK(tree("sum by (foo,bar,)(some_metric)") == "(sum by(foo, bar) (selector some_metric))");
  CHECK(tree("sum by ()(some_metric)") == "(sum (selector some_metric))");
  CHECK(tree("SUM BY (foo)(some_metric)") == "(sum by(foo) (selector some_metric))");
  CHECK(tree("topk(5, some_metric)") == "(topk 5 (selector some_metric))");
  CHECK(tree("count_values(\"value\", some_metric)") ==
        "(count_values \"value\" (selector some_metric))");
  CHECK(tree("sum without(and, by, avg, count, alert, annotations)(some_metric)") ==
        "(sum without(and, by, avg, count, alert, annotations) (selector some_metric))");
  CHECK(tree("quantile(0.9, rate(x[5m])) by (le)") ==
        "(quantile by(le) 0.9 (call rate (matrix (selector x) 5m)))");

  auto r = parse("bottomk by (host) (3, x)");
  REQUIRE(r.ok());
  const AggregateExpr* a = r.expr().as<AggregateExpr>();
  REQUIRE(a != nullptr);
  CHECK(a->op == AggregateOp::kBottomk);
  CHECK(a->grouping == std::vector<std::string>{"host"});
  CHECK_FALSE(a->without);
}

TEST_CASE("Malformed aggregations are rejected", "[promql][aggregate]") {
  // parse_test.go
  CHECK(error_of("sum without(==)(some_metric)") ==
        "unexpected <op:==> in grouping opts, expected label");
  CHECK(error_of("sum without(,)(some_metric)") ==
        "unexpected \",\" in grouping opts, expected label");
  CHECK(error_of("sum without(foo,,)(some_metric)") ==
        "unexpected \",\" in grouping opts, expected label");
  CHECK(error_of("sum some_metric by (test)") == "unexpected identifier \"some_metric\"");
  CHECK(error_of("sum (some_metric) by test") ==
        "unexpected identifier \"test\" in grouping opts, expected \"(\"");
  CHECK(error_of("sum () by (test)") == "no arguments for aggregate expression provided");
  CHECK(error_of("MIN keep_common (some_metric)") == "unexpected identifier \"keep_common\"");
  CHECK(error_of("MIN (some_metric) keep_common") == "unexpected identifier \"keep_common\"");
  CHECK(error_of("sum (some_metric) without (test) by (test)") == "unexpected <by>");
  CHECK(error_of("sum without (test) (some_metric) by (test)") == "unexpected <by>");
  CHECK(error_of("topk(some_metric)") ==
        "wrong number of arguments for aggregate expression provided, expected 2, got 1");
  CHECK(error_of("topk(some_metric,)") == "trailing commas not allowed in function call args");
  CHECK(error_of("topk(some_metric, other_metric)") ==
        "expected type scalar in aggregation parameter, got instant vector");
  CHECK(error_of("count_values(5, other_metric)") ==
        "expected type string in aggregation parameter, got scalar");
  CHECK(error_of("sum(rate(x[5m]), y)") ==
        "wrong number of arguments for aggregate expression provided, expected 1, got 2");
  CHECK(error_of("sum(x[5m])") ==
        "expected type instant vector in aggregation expression, got range vector");
  CHECK(error_of("group(x)") == "aggregation \"group\" is not supported");
  CHECK(error_of("stdvar by (a) (x)") == "aggregation \"stdvar\" is not supported");
  CHECK(error_of("sum by (a:b) (x)") ==
        "unexpected identifier \"a:b\" in grouping opts, expected label");
}

TEST_CASE("Functions check arity and argument types as functions.go declares them",
          "[promql][function]") {
  // parse_test.go
  CHECK(tree("time()") == "(call time)");
  CHECK(tree("floor(some_metric{foo!=\"bar\"})") ==
        "(call floor (selector some_metric foo!=\"bar\"))");
  CHECK(tree("rate(some_metric[5m])") == "(call rate (matrix (selector some_metric) 5m))");
  CHECK(tree("round(some_metric)") == "(call round (selector some_metric))");
  CHECK(tree("round(some_metric, 5)") == "(call round (selector some_metric) 5)");
  CHECK(tree("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")") ==
        "(call label_replace (selector up) \"a\" \"$1\" \"b\" \"(.*)\")");
  CHECK(tree("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))") ==
        "(call histogram_quantile 0.9 (sum by(le) (call rate (matrix (selector x_bucket) "
        "5m))))");
  CHECK(tree("quantile_over_time(0.5, x[1h])") ==
        "(call quantile_over_time 0.5 (matrix (selector x) 1h))");
  CHECK(tree("clamp(x, 0, 1)") == "(call clamp (selector x) 0 1)");
  CHECK(tree("vector(1) + scalar(x)") == "(+ (call vector 1) (call scalar (selector x)))");
  CHECK(parse("scalar(x)").expr().type() == flowdb::promql::ValueType::kScalar);
  CHECK(error_of("floor()") == "expected 1 argument(s) in call to \"floor\", got 0");
  CHECK(error_of("floor(some_metric, other_metric)") ==
        "expected 1 argument(s) in call to \"floor\", got 2");
  CHECK(error_of("floor(1)") ==
        "expected type instant vector in call to function \"floor\", got scalar");
  CHECK(error_of("time(some_metric)") == "expected 0 argument(s) in call to \"time\", got 1");
  CHECK(error_of("round(x, 1, 2)") == "expected at most 2 argument(s) in call to \"round\", got 3");
  CHECK(error_of("round()") == "expected at least 1 argument(s) in call to \"round\", got 0");
  CHECK(error_of("non_existent_function_far_bar()") ==
        "unknown function with name \"non_existent_function_far_bar\"");
  CHECK(error_of("a>b()") == "unknown function with name \"b\"");
  CHECK(error_of("rate(some_metric)") ==
        "expected type range vector in call to function \"rate\", got instant vector");
  CHECK(error_of("rate(avg)") ==
        "expected type range vector in call to function \"rate\", got instant vector");
  CHECK(error_of("label_replace(a, `b`, `c\xff`, `d`, `.*`)") == "invalid UTF-8 rune");
  CHECK(error_of("hour(x)") == "function \"hour\" is not supported");
  CHECK(error_of("absent(x)") == "function \"absent\" is not supported");
  CHECK(error_of("histogram_count(x)") == "function \"histogram_count\" is not supported");
  CHECK(flowdb::promql::find_function("rate") != nullptr);
  CHECK(flowdb::promql::find_function("hour") == nullptr);
}

TEST_CASE("Vector matching takes on, ignoring and group modifiers only where Prometheus does",
          "[promql][matching]") {
  // parse_test.go
  CHECK(tree("foo * on(test,blub) bar") ==
        "(* one-to-one on(test, blub) include() (selector foo) (selector bar))");
  CHECK(tree("foo * on(test,blub) group_left bar") ==
        "(* many-to-one on(test, blub) include() (selector foo) (selector bar))");
  CHECK(tree("foo and on(test,blub) bar") ==
        "(and many-to-many on(test, blub) include() (selector foo) (selector bar))");
  CHECK(tree("foo and on() bar") ==
        "(and many-to-many on() include() (selector foo) (selector bar))");
  CHECK(tree("foo and ignoring(test,blub) bar") ==
        "(and many-to-many ignoring(test, blub) include() (selector foo) (selector bar))");
  CHECK(tree("foo unless on(bar) baz") ==
        "(unless many-to-many on(bar) include() (selector foo) (selector baz))");
  CHECK(tree("foo / on(test,blub) group_left(bar) bar") ==
        "(/ many-to-one on(test, blub) include(bar) (selector foo) (selector bar))");
  CHECK(tree("foo / ignoring(test,blub) group_left(blub) bar") ==
        "(/ many-to-one ignoring(test, blub) include(blub) (selector foo) (selector bar))");
  CHECK(tree("foo - on(test,blub) group_right(bar,foo) bar") ==
        "(- one-to-many on(test, blub) include(bar, foo) (selector foo) (selector bar))");
  CHECK(tree("foo == bool on(a) bar") ==
        "(== bool one-to-one on(a) include() (selector foo) (selector bar))");
  CHECK(tree("1 + foo") == "(+ 1 (selector foo))");

  auto r = parse("a > on(x) group_right(y) b");
  REQUIRE(r.ok());
  const BinaryExpr* b = r.expr().as<BinaryExpr>();
  REQUIRE(b != nullptr);
  REQUIRE(b->matching.has_value());
  CHECK(b->matching->card == Cardinality::kOneToMany);
  CHECK(b->matching->on);
  CHECK(b->matching->include == std::vector<std::string>{"y"});
  CHECK_FALSE(parse("1 + foo").expr().as<BinaryExpr>()->matching.has_value());

  CHECK(error_of("foo and on(bar) group_left(baz) bar") ==
        "no grouping allowed for \"and\" operation");
  CHECK(error_of("foo or on(bar) group_right(baz) bar") ==
        "no grouping allowed for \"or\" operation");
  CHECK(error_of("foo unless on(bar) group_left(baz) bar") ==
        "no grouping allowed for \"unless\" operation");
  CHECK(error_of("http_requests{group=\"production\"} + on(instance) group_left(job,instance) "
                 "cpu_count{type=\"smp\"}") ==
        "label \"instance\" must not occur in ON and GROUP clause at once");
  CHECK(error_of("foo + on bar") ==
        "unexpected identifier \"bar\" in grouping opts, expected \"(\"");
  // `bool` after on() is a metric name there (as in Prometheus), so `bar` is left over.
  CHECK(error_of("foo == on(a) bool bar") == "unexpected identifier \"bar\"");
}
