// Pieces of parse() shared by its source files (internal to flowdb_promql):
// the type checker run on a finished tree, and literal conversions.
// Stateless functions; errors are thrown as SyntaxError (lexer.h).
#pragma once

#include <optional>
#include <string_view>

#include "agent/promql/ast.h"
#include "lexer.h"

namespace flowdb::promql::internal {

// Prometheus's checkAST: value types of operands and arguments, bool and
// vector-matching rules, selector rules. Normalises each BinaryExpr's
// matching (absent unless both sides are vectors; many-to-many for set ops).
void check(Expr& e);

// Go's ParseInt(s, 0, 64) then ParseFloat, as Prometheus reads a NUMBER.
double parse_number(const Token& t);

// Prometheus's model.ParseDuration ("1h30m", "500ms", "1y"); nullopt when
// `s` is not of that form or overflows.
std::optional<Duration> parse_duration(std::string_view s);

}  // namespace flowdb::promql::internal
