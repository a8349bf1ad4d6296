// The PromQL expression tree: the node kinds of Prometheus's
// promql/parser/ast.go for the subset FlowDB evaluates (no @ modifier, no
// native histograms), each node with its Prometheus value type.
//
// An Expr owns its children (std::unique_ptr); a tree is a plain value, built
// by parse() (parser.h) and read by the evaluator. Durations are milliseconds,
// Prometheus's resolution. Distinct trees may be used from distinct threads;
// one tree is safe to read concurrently and must not be mutated meanwhile.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace flowdb::promql {

using Duration = std::chrono::milliseconds;

// Prometheus's ValueType. kMatrix is a range vector, kVector an instant vector.
enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };
// "scalar", "instant vector", "range vector", "string" (DocumentedType).
std::string_view documented_name(ValueType t);
// "scalar", "vector", "matrix", "string" (Prometheus's ValueType strings).
std::string_view raw_name(ValueType t);

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
std::string_view to_string(MatchOp op);  // "=", "!=", "=~", "!~"

// A label matcher. Regular expressions are RE2 syntax, fully anchored; the
// parser does not compile them (the evaluator does, with RE2).
struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kEqual;
  std::string value;
  // Whether the matcher accepts a missing (empty) label value. For regex
  // matchers this is decided by a syntactic analysis of the pattern.
  bool matches_empty() const;
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,  // arithmetic
  kEql,
  kNeq,
  kLte,
  kLss,
  kGte,
  kGtr,  // comparison
  kAnd,
  kOr,
  kUnless,  // set
};
std::string_view to_string(BinaryOp op);  // "+", ..., "atan2", "==", ..., "and"
bool is_comparison(BinaryOp op);
bool is_set_operator(BinaryOp op);

enum class AggregateOp {
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kStddev,
  kTopk,
  kBottomk,
  kQuantile,
  kCountValues
};
std::string_view to_string(AggregateOp op);  // "sum", ..., "count_values"
// topk, bottomk, quantile and count_values take a parameter first.
bool takes_param(AggregateOp op);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral {
  double value = 0;
};

struct StringLiteral {
  std::string value;  // unescaped
};

// `name{matchers} offset d`. `matchers` are the ones written in braces; a
// name written outside them is `name` only (the evaluator adds __name__).
// A `{__name__="x"}` selector has an empty `name` and that matcher.
struct VectorSelector {
  std::string name;
  std::vector<LabelMatcher> matchers;
  std::optional<Duration> offset;
};

// `selector[range]`; an offset written after the range is selector.offset.
struct MatrixSelector {
  VectorSelector selector;
  Duration range{0};
};

// `expr[range:step] offset d`; step 0 means the query's evaluation step.
struct SubqueryExpr {
  ExprPtr expr;
  Duration range{0};
  Duration step{0};
  std::optional<Duration> offset;
};

struct Call {
  std::string func;  // a name function() (functions.h) knows
  std::vector<ExprPtr> args;
};

struct AggregateExpr {
  AggregateOp op = AggregateOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // topk/bottomk/quantile/count_values only
  std::vector<std::string> grouping;
  bool without = false;  // grouping is `without (...)`, else `by (...)`
};

enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// Present on a BinaryExpr iff both sides are instant vectors.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  std::vector<std::string> matching_labels;
  bool on = false;                   // on(...), else ignoring(...)
  std::vector<std::string> include;  // group_left(...) / group_right(...)
};

struct BinaryExpr {
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  std::optional<VectorMatching> matching;
};

// Unary minus or plus of a non-literal (a literal is folded: `-1` is
// NumberLiteral{-1}).
struct UnaryExpr {
  bool negate = true;  // '-', else '+'
  ExprPtr expr;
};

struct ParenExpr {
  ExprPtr expr;
};

struct Expr {
  using Node = std::variant<NumberLiteral, StringLiteral, VectorSelector, MatrixSelector,
                            SubqueryExpr, Call, AggregateExpr, BinaryExpr, UnaryExpr, ParenExpr>;
  Node node;
  std::size_t pos = 0;  // byte offset of the node's first character in the query

  // The value type, as Prometheus's Expr.Type().
  ValueType type() const;

  template <typename T>
  const T* as() const {
    return std::get_if<T>(&node);
  }
  template <typename T>
  T* as() {
    return std::get_if<T>(&node);
  }
};

template <typename T>
ExprPtr make_expr(T node, std::size_t pos) {
  auto e = std::make_unique<Expr>();
  e->node = std::move(node);
  e->pos = pos;
  return e;
}

// Canonical PromQL (Prometheus's String()): parse(to_string(e)) has the same
// structure as e for every tree parse() returns.
std::string to_string(const Expr& e);
// Prometheus's duration form: "1h30m", "1d", "500ms", "0s".
std::string format_duration(Duration d);
// A Go-style double-quoted string literal.
std::string quote(std::string_view s);
// An S-expression of every field of the tree, for tests and structural
// comparison: dump(a) == dump(b) iff the trees are equal.
std::string dump(const Expr& e);

}  // namespace flowdb::promql
