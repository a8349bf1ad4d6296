// The type checker run on a parsed tree: Prometheus's checkAST
// (promql/parser/parse.go), with its messages.
#include <string>

#include "agent/promql/functions.h"
#include "parser_internal.h"

namespace flowdb::promql::internal {
namespace {

[[noreturn]] void fail(const Expr& at, std::string msg) {
  throw SyntaxError{at.pos, std::move(msg)};
}

std::string type_name(ValueType t) { return std::string(documented_name(t)); }

void expect_type(const Expr& e, ValueType want, const std::string& context) {
  if (e.type() != want) {
    fail(e, "expected type " + type_name(want) + " in " + context + ", got " + type_name(e.type()));
  }
}

void check_aggregate(AggregateExpr& a) {
  check(*a.expr);
  expect_type(*a.expr, ValueType::kVector, "aggregation expression");
  if (a.param) {
    check(*a.param);
    expect_type(*a.param,
                a.op == AggregateOp::kCountValues ? ValueType::kString : ValueType::kScalar,
                "aggregation parameter");
  }
}

void check_binary(const Expr& e, BinaryExpr& b) {
  check(*b.lhs);
  check(*b.rhs);
  ValueType lt = b.lhs->type(), rt = b.rhs->type();
  std::string op(to_string(b.op));
  if (b.return_bool && !is_comparison(b.op)) {
    fail(e, "bool modifier can only be used on comparison operators");
  }
  if (is_comparison(b.op) && !b.return_bool && lt == ValueType::kScalar &&
      rt == ValueType::kScalar) {
    fail(e, "comparisons between scalars must use BOOL modifier");
  }
  if (b.matching && b.matching->on) {
    for (const std::string& l : b.matching->matching_labels) {
      for (const std::string& inc : b.matching->include) {
        if (l == inc) fail(e, "label \"" + l + "\" must not occur in ON and GROUP clause at once");
      }
    }
  }
  for (const Expr* side : {b.lhs.get(), b.rhs.get()}) {
    if (side->type() != ValueType::kScalar && side->type() != ValueType::kVector) {
      fail(*side, "binary expression must contain only scalar and instant vector types");
    }
  }
  bool vectors = lt == ValueType::kVector && rt == ValueType::kVector;
  if (!vectors) {
    if (b.matching && !b.matching->matching_labels.empty()) {
      fail(e, "vector matching only allowed between instant vectors");
    }
    b.matching.reset();
  } else {
    if (!b.matching) b.matching.emplace();
    if (is_set_operator(b.op)) {
      if (b.matching->card == Cardinality::kOneToMany ||
          b.matching->card == Cardinality::kManyToOne) {
        fail(e, "no grouping allowed for \"" + op + "\" operation");
      }
      b.matching->card = Cardinality::kManyToMany;
    }
  }
  if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && is_set_operator(b.op)) {
    fail(e, "set operator \"" + op + "\" not allowed in binary scalar expression");
  }
}

void check_call(const Expr& e, Call& c) {
  const Function* f = find_function(c.func);
  std::size_t max = f->arg_types.size();
  std::size_t min = max - static_cast<std::size_t>(f->optional_args);
  std::string name = "\"" + c.func + "\"";
  if (f->optional_args == 0 && c.args.size() != max) {
    fail(e, "expected " + std::to_string(max) + " argument(s) in call to " + name + ", got " +
                std::to_string(c.args.size()));
  }
  if (c.args.size() < min) {
    fail(e, "expected at least " + std::to_string(min) + " argument(s) in call to " + name +
                ", got " + std::to_string(c.args.size()));
  }
  if (c.args.size() > max) {
    fail(e, "expected at most " + std::to_string(max) + " argument(s) in call to " + name +
                ", got " + std::to_string(c.args.size()));
  }
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    check(*c.args[i]);
    expect_type(*c.args[i], f->arg_types[i], "call to function " + name);
  }
}

void check_selector(const Expr& e, const VectorSelector& vs) {
  if (!vs.name.empty()) {
    for (const LabelMatcher& m : vs.matchers) {
      if (m.name == "__name__") {
        fail(e, "metric name must not be set twice: \"" + vs.name + "\" or \"" + m.value + "\"");
      }
    }
    return;
  }
  for (const LabelMatcher& m : vs.matchers) {
    if (!m.matches_empty()) return;
  }
  fail(e, "vector selector must contain at least one non-empty matcher");
}

}  // namespace

void check(Expr& e) {
  if (auto* a = e.as<AggregateExpr>()) return check_aggregate(*a);
  if (auto* b = e.as<BinaryExpr>()) return check_binary(e, *b);
  if (auto* c = e.as<Call>()) return check_call(e, *c);
  if (auto* p = e.as<ParenExpr>()) return check(*p->expr);
  if (auto* u = e.as<UnaryExpr>()) {
    check(*u->expr);
    ValueType t = u->expr->type();
    if (t != ValueType::kScalar && t != ValueType::kVector) {
      fail(e,
           "unary expression only allowed on expressions of type scalar or instant vector, "
           "got \"" +
               type_name(t) + "\"");
    }
    return;
  }
  if (auto* s = e.as<SubqueryExpr>()) {
    check(*s->expr);
    if (s->expr->type() != ValueType::kVector) {
      fail(e, "subquery is only allowed on instant vector, got " +
                  std::string(raw_name(s->expr->type())) + " instead");
    }
    return;
  }
  if (auto* m = e.as<MatrixSelector>()) return check_selector(e, m->selector);
  if (auto* vs = e.as<VectorSelector>()) return check_selector(e, *vs);
}

}  // namespace flowdb::promql::internal
