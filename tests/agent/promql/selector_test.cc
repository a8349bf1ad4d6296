// The PromQL parser on selectors, matchers, durations, offsets, ranges,
// subqueries and strings. Cases marked "parse_test.go" are from Prometheus's
// promql/parser/parse_test.go, expected trees written as dump().
#include <catch2/catch.hpp>

#include "agent/promql/parser.h"
#include "promql_test_util.h"

using flowdb::promql::Duration;
using flowdb::promql::MatchOp;
using flowdb::promql::parse;
using flowdb::promql::VectorSelector;
using flowdb::promql::testing::error_of;
using flowdb::promql::testing::tree;

TEST_CASE("Vector selectors keep the name and every matcher operator", "[promql][selector]") {
  // parse_test.go
  CHECK(tree("foo") == "(selector foo)");
  CHECK(tree("min") == "(selector min)");
  CHECK(tree("foo:bar{a=\"bc\"}") == "(selector foo:bar a=\"bc\")");
  CHECK(tree("foo{NaN='bc'}") == "(selector foo NaN=\"bc\")");
  CHECK(tree("foo{bar='}'}") == "(selector foo bar=\"}\")");
  CHECK(tree("foo{a=\"b\", foo!=\"bar\", test=~\"test\", bar!~\"baz\"}") ==
        "(selector foo a=\"b\" foo!=\"bar\" test=~\"test\" bar!~\"baz\")");
  CHECK(tree("foo{a=\"b\", foo!=\"bar\", test=~\"test\", bar!~\"baz\",}") ==
        "(selector foo a=\"b\" foo!=\"bar\" test=~\"test\" bar!~\"baz\")");
  CHECK(tree("{__name__=~\"foo.+\",__name__=~\".*bar\"}") ==
        "(selector - __name__=~\"foo.+\" __name__=~\".*bar\")");
  CHECK(tree("{__name__=\"bar\"}") == "(selector - __name__=\"bar\")");
  CHECK(tree("offset{step=\"1s\"}[5m]") == "(matrix (selector offset step=\"1s\") 5m)");
  CHECK(tree("foo{by=\"x\", on=\"y\"}") == "(selector foo by=\"x\" on=\"y\")");

  auto r = parse("foo{a!~\"b\"}");
  REQUIRE(r.ok());
  const VectorSelector* vs = r.expr().as<VectorSelector>();
  REQUIRE(vs != nullptr);
  CHECK(vs->name == "foo");
  REQUIRE(vs->matchers.size() == 1);
  CHECK(vs->matchers[0].op == MatchOp::kRegexNoMatch);
  CHECK(vs->matchers[0].value == "b");
}

TEST_CASE("A selector needs a name or a matcher that does not match the empty string",
          "[promql][selector]") {
  // parse_test.go
  const char* msg = "vector selector must contain at least one non-empty matcher";
  CHECK(error_of("{}") == msg);
  CHECK(error_of("{x=\"\"}") == msg);
  CHECK(error_of("{x=~\".*\"}") == msg);
  CHECK(error_of("{x!~\".+\"}") == msg);
  CHECK(error_of("{x!=\"a\"}") == msg);
  CHECK(error_of("{x=~\"a|\"}") == msg);
  CHECK(error_of("{x=~\"(a)?\"}") == msg);
  CHECK(error_of("{x=~\"(?i)^$\"}") == msg);
  CHECK(error_of("{x=~\"a{0,3}\"}") == msg);
  CHECK(tree("{x=~\".+\"}") == "(selector - x=~\".+\")");
  CHECK(tree("{x=~\"a*b\"}") == "(selector - x=~\"a*b\")");
  CHECK(tree("{x=~\"(?i)foo\"}") == "(selector - x=~\"(?i)foo\")");
  CHECK(tree("{x=~\"[a-z]{2,}\"}") == "(selector - x=~\"[a-z]{2,}\")");
  CHECK(tree("{x!~\"\"}") == "(selector - x!~\"\")");
  CHECK(tree("{x=\"\", y=\"a\"}") == "(selector - x=\"\" y=\"a\")");
  CHECK(error_of("foo{__name__=\"bar\"}") ==
        "metric name must not be set twice: \"foo\" or \"bar\"");
}

TEST_CASE("Malformed matchers are rejected with Prometheus's messages", "[promql][selector]") {
  // parse_test.go
  CHECK(error_of("{") == "unexpected end of input inside braces");
  CHECK(error_of("}") == "unexpected character: '}'");
  CHECK(error_of("some{") == "unexpected end of input inside braces");
  CHECK(error_of("some}") == "unexpected character: '}'");
  CHECK(error_of("some_metric{a=b}") ==
        "unexpected identifier \"b\" in label matching, expected string");
  CHECK(error_of("some_metric{a:b=\"b\"}") == "unexpected character inside braces: ':'");
  CHECK(error_of("foo{a*\"b\"}") == "unexpected character inside braces: '*'");
  CHECK(error_of("foo{a>=\"b\"}") == "unexpected character inside braces: '>'");
  CHECK(error_of("some_metric{a=\"\xff\"}") == "invalid UTF-8 rune");
  CHECK(error_of("foo{gibberish}") ==
        "unexpected \"}\" in label matching, expected label matching operator");
  CHECK(error_of("foo{1}") == "unexpected character inside braces: '1'");
  CHECK(error_of("foo{__name__= =}") == "unexpected \"=\" in label matching, expected string");
  CHECK(error_of("foo{,}") == "unexpected \",\" in label matching, expected identifier or \"}\"");
  CHECK(error_of("foo{__name__ == \"bar\"}") ==
        "unexpected \"=\" in label matching, expected string");
  CHECK(error_of("foo{__name__=\"bar\" lol}") ==
        "unexpected identifier \"lol\" in label matching, expected \",\" or \"}\"");
}

TEST_CASE("Durations combine units from y down to ms", "[promql][duration]") {
  // parse_test.go: test[5s], test[5m], test[5h] OFFSET 5m, test[5d] OFFSET 10s, test[1000ms]
  CHECK(tree("test[5s]") == "(matrix (selector test) 5s)");
  CHECK(tree("test[5h] OFFSET 5m") == "(matrix (selector test offset 5m) 5h)");
  CHECK(tree("test[5d] OFFSET 10s") == "(matrix (selector test offset 10s) 5d)");
  CHECK(tree("test[1000ms]") == "(matrix (selector test) 1s)");
  CHECK(tree("test[1h30m]") == "(matrix (selector test) 1h30m)");
  CHECK(tree("test[2w]") == "(matrix (selector test) 2w)");
  CHECK(tree("test[1y]") == "(matrix (selector test) 1y)");
  CHECK(tree("test[500ms]") == "(matrix (selector test) 500ms)");
  CHECK(tree("test[90m]") == "(matrix (selector test) 1h30m)");
  auto r = parse("test[1h30m]");
  REQUIRE(r.ok());
  CHECK(r.expr().as<flowdb::promql::MatrixSelector>()->range == Duration{5400000});
  // parse_test.go
  CHECK(error_of("foo[5mm]") == "bad number or duration syntax: \"5mm\"");
  CHECK(error_of("foo[5m1]") == "bad number or duration syntax: \"5m1\"");
  CHECK(error_of("foo[5m:1m1]") == "bad number or duration syntax: \"1m1\"");
  CHECK(error_of("foo[5m1h]") == "not a valid duration string: \"5m1h\"");
  CHECK(error_of("foo[5m1m]") == "not a valid duration string: \"5m1m\"");
  CHECK(error_of("foo[5y1hs]") == "not a valid duration string: \"5y1hs\"");
  CHECK(error_of("foo[0m]") == "duration must be greater than 0");
  CHECK(error_of("foo[\"5m\"]") == "unexpected character inside brackets: '\"'");
  CHECK(error_of("foo[]") == "unexpected \"]\" in subquery or range selector, expected duration");
  CHECK(error_of("foo{bar=\"baz\"}[") == "unexpected end of input inside brackets");
  CHECK(error_of("foo[5s x 5s]") == "unexpected character inside brackets: 'x'");
}

TEST_CASE("Offsets apply to selectors and subqueries, once, after the range", "[promql][offset]") {
  // parse_test.go
  CHECK(tree("foo offset 5m") == "(selector foo offset 5m)");
  CHECK(tree("foo OFFSET 1h30m") == "(selector foo offset 1h30m)");
  CHECK(tree("foo offset 0s") == "(selector foo offset 0s)");
  CHECK(tree("a + b offset 5m") ==
        "(+ one-to-one ignoring() include() (selector a) (selector b offset 5m))");
  CHECK(error_of("1 offset 1d") ==
        "offset modifier must be preceded by an instant vector selector or range vector "
        "selector or a subquery");
  CHECK(error_of("sum(foo) offset 1d") ==
        "offset modifier must be preceded by an instant vector selector or range vector "
        "selector or a subquery");
  CHECK(error_of("foo offset 1s offset 2s") == "offset may not be set multiple times");
  CHECK(error_of("some_metric OFFSET 1m[5m]") == "no offset modifiers allowed before range");
  CHECK(error_of("some_metric[5m] OFFSET 1mm") == "bad number or duration syntax: \"1mm\"");
  CHECK(error_of("some_metric[5m] OFFSET") ==
        "unexpected end of input in offset, expected duration");
  CHECK(error_of("(foo + bar)[5m]") == "ranges only allowed for vector selectors");
  CHECK(error_of("foo @ 1234") == "the @ modifier is not supported");
  CHECK(error_of("foo[5m] @ start()") == "the @ modifier is not supported");
}

TEST_CASE("Subqueries take a range, an optional step and an offset", "[promql][subquery]") {
  // parse_test.go
  CHECK(tree("foo{bar=\"baz\"}[10m:6s]") == "(subquery (selector foo bar=\"baz\") 10m 6s)");
  CHECK(tree("foo{bar=\"baz\"}[10m5s:1h6ms]") ==
        "(subquery (selector foo bar=\"baz\") 10m5s 1h6ms)");
  CHECK(tree("foo[10m:]") == "(subquery (selector foo) 10m 0s)");
  CHECK(tree("min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:5s])") ==
        "(call min_over_time (subquery (call rate (matrix (selector foo bar=\"baz\") 2s)) 5m "
        "5s))");
  CHECK(tree("min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:])[4m:3s]") ==
        "(subquery (call min_over_time (subquery (call rate (matrix (selector foo bar=\"baz\") "
        "2s)) 5m 0s)) 4m 3s)");
  CHECK(tree("sum without(and, by, avg, count, alert, annotations)(some_metric) [30m:10s]") ==
        "(subquery (sum without(and, by, avg, count, alert, annotations) (selector "
        "some_metric)) 30m 10s)");
  CHECK(tree("some_metric OFFSET 1m [10m:5s]") ==
        "(subquery (selector some_metric offset 1m) 10m 5s)");
  CHECK(tree("(foo + bar{nm=\"val\"})[5m:] offset 10m") ==
        "(subquery (paren (+ one-to-one ignoring() include() (selector foo) (selector bar "
        "nm=\"val\"))) 5m 0s offset 10m)");
  CHECK(error_of("-foo[5m:1m]") ==
        "unary expression only allowed on expressions of type scalar or instant vector, got "
        "\"range vector\"");
  CHECK(error_of("test[5d] OFFSET 10s [10m:5s]") ==
        "subquery is only allowed on instant vector, got matrix instead");
  CHECK(error_of("(foo + bar{nm=\"val\"})[5m:][10m:5s]") ==
        "subquery is only allowed on instant vector, got matrix instead");
  CHECK(error_of("rate(food[1m])[1h] offset 1h") == "ranges only allowed for vector selectors");
  CHECK(error_of("1[5m:]") == "subquery is only allowed on instant vector, got scalar instead");
}

TEST_CASE("Strings take Go escapes in double and single quotes, none in backticks",
          "[promql][string]") {
  // parse_test.go
  CHECK(tree("\"double-quoted string \\\" with escaped quote\"") ==
        "\"double-quoted string \\\" with escaped quote\"");
  CHECK(tree("'single-quoted string \\' with escaped quote'") ==
        "\"single-quoted string ' with escaped quote\"");
  CHECK(tree("`backtick-quoted string`") == "\"backtick-quoted string\"");
  CHECK(tree("\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\" - \\xFF\\377\\u1234\\U00010111\\U0001011111☺\"") ==
        "\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\" - \\xff\\xff\u1234\U00010111\U0001011111☺\"");
  CHECK(tree("`\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\\' - \\xFF\\377\\u1234\\U00010111\\U0001011111☺`") ==
        "\"\\\\a\\\\b\\\\f\\\\n\\\\r\\\\t\\\\v\\\\\\\\\\\\\\\"\\\\' - "
        "\\\\xFF\\\\377\\\\u1234\\\\U00010111\\\\U0001011111☺\"");
  auto r = parse("'a\\tb\\x41\\101\\u00e9'");
  REQUIRE(r.ok());
  CHECK(r.expr().as<flowdb::promql::StringLiteral>()->value == "a\tbAA\xc3\xa9");
  CHECK(error_of("`\\``") == "unterminated raw string");
  CHECK(error_of("\"\\") == "escape sequence not terminated");
  CHECK(error_of("\"\\c\"") == "unknown escape sequence U+0063 'c'");
  CHECK(error_of("\"\\x.\"") == "illegal character U+002E '.' in escape sequence");
  CHECK(error_of("\"\\'\"") == "unknown escape sequence U+0027 '''");
  CHECK(error_of("\"abc") == "unterminated quoted string");
  CHECK(error_of("\"\\uD800\"") == "escape sequence is an invalid Unicode code point");
  CHECK(error_of("sum by (\"foo)(some_metric{})") == "unterminated quoted string");
}
