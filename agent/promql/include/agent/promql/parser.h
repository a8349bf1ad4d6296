// parse(): PromQL text to an expression tree (ast.h), with Prometheus's
// grammar, operator precedence and type checks for the subset FlowDB
// evaluates (agent/promql/README.md lists what is rejected).
//
// A hand-written lexer and precedence-climbing parser; no global state, so
// concurrent calls are safe. The result owns its tree.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "agent/promql/ast.h"

namespace flowdb::promql {

struct ParseError {
  std::size_t pos = 0;  // byte offset in the query where the problem is
  std::string message;  // e.g. `unexpected end of input`
  // "parse error at char N: message", N = pos + 1 (Prometheus 2.x form).
  std::string to_string() const;
};

class ParseResult {
 public:
  explicit ParseResult(ExprPtr expr) : v_(std::move(expr)) {}
  explicit ParseResult(ParseError error) : v_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<ExprPtr>(v_); }
  // Precondition: ok().
  const Expr& expr() const { return *std::get<ExprPtr>(v_); }
  ExprPtr take_expr() { return std::move(std::get<ExprPtr>(v_)); }
  // Precondition: !ok().
  const ParseError& error() const { return std::get<ParseError>(v_); }

 private:
  std::variant<ExprPtr, ParseError> v_;
};

ParseResult parse(std::string_view query);

}  // namespace flowdb::promql
