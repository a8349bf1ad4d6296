// The PromQL parser: trees of valid queries and messages of invalid ones.
// Cases marked "parse_test.go" are taken from Prometheus's
// promql/parser/parse_test.go (github.com/prometheus/prometheus), with the
// expected tree written as dump() and, for errors, the message substring.
#include "agent/promql/parser.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "promql_test_util.h"

using Catch::Matchers::Contains;
using flowdb::promql::parse;
using flowdb::promql::testing::error_of;
using flowdb::promql::testing::tree;

TEST_CASE("Number literals are decimal, hex, octal, exponent, Inf and NaN", "[promql][lexer]") {
  // parse_test.go
  CHECK(tree("1") == "1");
  CHECK(tree("+Inf") == "+Inf");
  CHECK(tree("-Inf") == "-Inf");
  CHECK(tree(".5") == "0.5");
  CHECK(tree("5.") == "5");
  CHECK(tree("123.4567") == "123.4567");
  CHECK(tree("5e-3") == "0.005");
  CHECK(tree("5e3") == "5000");
  CHECK(tree("0xc") == "12");
  CHECK(tree("0755") == "493");
  CHECK(tree("+5.5e-3") == "0.0055");
  CHECK(tree("-0755") == "-493");
  CHECK(tree("NaN") == "NaN");
  CHECK(tree("nan") == "NaN");
  CHECK(tree("inf") == "+Inf");
  CHECK(std::isnan(parse("NaN").expr().as<flowdb::promql::NumberLiteral>()->value));
}

TEST_CASE("Malformed numbers are rejected with the lexer's message", "[promql][lexer]") {
  // parse_test.go
  CHECK(error_of("2.5.") == "bad number or duration syntax: \"2.5.\"");
  CHECK(error_of("100..4") == "bad number or duration syntax: \"100..\"");
  CHECK(error_of("0deadbeef") == "bad number or duration syntax: \"0de\"");
  CHECK(error_of(".") == "unexpected character: '.'");
  CHECK_THAT(error_of(std::string(320, '9')), Contains("value out of range"));
}

TEST_CASE(
    "Operators bind as in Prometheus: ^ right-assoc, then * / % atan2, + -, comparisons, "
    "and unless, or",
    "[promql][precedence]") {
  // parse_test.go
  CHECK(tree("1 + 2 * 3") == "(+ 1 (* 2 3))");
  CHECK(tree("1 * 2 + 3") == "(+ (* 1 2) 3)");
  CHECK(tree("1 - 2 - 3") == "(- (- 1 2) 3)");
  CHECK(tree("2 ^ 3 ^ 2") == "(^ 2 (^ 3 2))");
  CHECK(tree("1 + 2/(3*1)") == "(+ 1 (/ 2 (paren (* 3 1))))");
  CHECK(tree("1 < bool 2 - 1 * 2") == "(< bool 1 (- 2 (* 1 2)))");
  CHECK(tree("a atan2 b + c") ==
        "(+ one-to-one ignoring() include() (atan2 one-to-one ignoring() include() (selector a) "
        "(selector b)) (selector c))");
  CHECK(tree("foo == 1 and bar or baz") ==
        "(or many-to-many ignoring() include() (and many-to-many ignoring() include() "
        "(== (selector foo) 1) (selector bar)) (selector baz))");
  CHECK(tree("a or b and c unless d") ==
        "(or many-to-many ignoring() include() (selector a) (unless many-to-many ignoring() "
        "include() (and many-to-many ignoring() include() (selector b) (selector c)) "
        "(selector d)))");
  CHECK(tree("1 == bool 2 + 3") == "(== bool 1 (+ 2 3))");
}

TEST_CASE("Unary minus binds below ^ and folds into number literals", "[promql][precedence]") {
  // parse_test.go: "-1^2" is -(1^2); "-some_metric" a UnaryExpr.
  CHECK(tree("-1^2") == "(neg (^ 1 2))");
  CHECK(tree("-1") == "-1");
  CHECK(tree("-1 * 2") == "(* -1 2)");
  CHECK(tree("2 ^ -1") == "(^ 2 -1)");
  CHECK(tree("-some_metric") == "(neg (selector some_metric))");
  CHECK(tree("+some_metric") == "(pos (selector some_metric))");
  CHECK(tree("-a * b") == "(* one-to-one ignoring() include() (neg (selector a)) (selector b))");
  CHECK(tree("- - 1") == "1");
  CHECK(error_of("-\"string\"") ==
        "unary expression only allowed on expressions of type scalar or instant vector, got "
        "\"string\"");
  CHECK(error_of("-test[5m]") ==
        "unary expression only allowed on expressions of type scalar or instant vector, got "
        "\"range vector\"");
}

TEST_CASE("Syntax errors name the unexpected token", "[promql][errors]") {
  // parse_test.go
  CHECK(error_of("") == "no expression found in input");
  CHECK(error_of("# just a comment\n\n") == "no expression found in input");
  CHECK(error_of("1+") == "unexpected end of input");
  CHECK(error_of("1 /") == "unexpected end of input");
  CHECK(error_of("*1") == "unexpected <op:*>");
  CHECK(error_of("*test") == "unexpected <op:*>");
  CHECK(error_of("(1))") == "unexpected right parenthesis ')'");
  CHECK(error_of("((1)") == "unclosed left parenthesis");
  CHECK(error_of("(") == "unclosed left parenthesis");
  CHECK(error_of("1 !~ 1") == "unexpected character after '!': '~'");
  CHECK(error_of("1 =~ 1") == "unexpected character after '=': '~'");
  CHECK(error_of("-=") == "unexpected \"=\"");
  CHECK(error_of("++-++-+-+-<") == "unexpected <op:<>");
  CHECK(error_of("e-+=/(0)") == "unexpected \"=\"");
  CHECK(error_of("a - on(b) ignoring(c) d") == "unexpected <ignoring>");
  CHECK(error_of("foo + group_left(baz) bar") == "unexpected <group_left>");
  CHECK(error_of("sum(") == "unclosed left parenthesis");
  CHECK(error_of("sum(rate(") == "unclosed left parenthesis");
  CHECK(error_of("foo 5m") == "unexpected duration \"5m\"");
}

TEST_CASE("An error carries its position in a Prometheus-like message", "[promql][errors]") {
  auto r = parse("foo + ");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().pos == 6);
  CHECK(r.error().to_string() == "parse error at char 7: unexpected end of input");
  auto bad = parse("sum(x) offset 5m");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().pos == 7);
}

TEST_CASE("Scalar binary expressions follow Prometheus's type rules", "[promql][types]") {
  // parse_test.go
  CHECK(error_of("1 and 1") == "set operator \"and\" not allowed in binary scalar expression");
  CHECK(error_of("1 or 1") == "set operator \"or\" not allowed in binary scalar expression");
  CHECK(error_of("1 unless 1") ==
        "set operator \"unless\" not allowed in binary scalar expression");
  CHECK(error_of("1 == 1") == "comparisons between scalars must use BOOL modifier");
  CHECK(error_of("foo and 1") == "set operator \"and\" not allowed in binary scalar expression");
  CHECK(error_of("1 unless foo") ==
        "set operator \"unless\" not allowed in binary scalar expression");
  CHECK(error_of("1 or on(bar) foo") == "vector matching only allowed between instant vectors");
  CHECK(error_of("foo == on(bar) 10") == "vector matching only allowed between instant vectors");
  CHECK(error_of("foo + bool bar") == "bool modifier can only be used on comparison operators");
  CHECK(error_of("foo + bool 10") == "bool modifier can only be used on comparison operators");
  CHECK(error_of("foo and bool 10") == "bool modifier can only be used on comparison operators");
  CHECK(error_of("foo[5m] + 1") ==
        "binary expression must contain only scalar and instant vector types");
  CHECK(tree("1 == bool 1") == "(== bool 1 1)");
  CHECK(tree("foo * 2") == "(* (selector foo) 2)");
}

TEST_CASE("Deep nesting is an error, not a stack overflow", "[promql][errors]") {
  std::string deep = std::string(100000, '(') + "1" + std::string(100000, ')');
  CHECK(error_of(deep) == "expression nested too deeply");
  std::string ok = std::string(500, '(') + "1" + std::string(500, ')');
  CHECK(tree(ok).rfind("(paren (paren ", 0) == 0);
  // parse_test.go: a long operator chain; its first error is the innermost one.
  std::string chain = "(";
  for (int i = 0; i < 10000; ++i) chain += "-{}-1";
  chain += ")";
  for (int i = 0; i < 1000; ++i) chain += "[1m:]";
  CHECK(error_of(chain) == "vector selector must contain at least one non-empty matcher");
}
