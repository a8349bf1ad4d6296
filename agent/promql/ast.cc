// Names and value types of the tree's nodes (ast.h), and the empty-string
// analysis of label matchers.
#include "agent/promql/ast.h"

#include <string>

#include "agent/promql/functions.h"

namespace flowdb::promql {
namespace {

// Whether an RE2 pattern can match the empty string, decided on its syntax:
// an alternative matches "" iff every piece of it does; a piece does if it is
// zero-width (^ $ \b \A \z, a flag group) or quantified by * ? {0,...}, or a
// group whose content does. Conservative on malformed input (answers false:
// the evaluator's RE2 compile then reports the pattern).
class Nullable {
 public:
  explicit Nullable(std::string_view re) : re_(re) {}
  bool run() {
    bool r = alternation();
    return i_ == re_.size() && r;
  }

 private:
  bool alternation() {
    bool any = sequence();
    while (i_ < re_.size() && re_[i_] == '|') {
      ++i_;
      any = sequence() || any;
    }
    return any;
  }
  bool sequence() {
    bool all = true;
    while (i_ < re_.size() && re_[i_] != '|' && re_[i_] != ')') {
      bool piece = atom();
      all = quantifier(piece) && all;
    }
    return all;
  }
  bool atom() {
    char c = re_[i_++];
    switch (c) {
      case '^':
      case '$':
        return true;
      case '\\':
        if (i_ >= re_.size()) return false;
        c = re_[i_++];
        if (c == 'p' || c == 'P') skip_class_name();
        return c == 'b' || c == 'B' || c == 'A' || c == 'z';
      case '[':
        skip_bracket();
        return false;
      case '(':
        return group();
      default:
        return false;  // a literal or '.'
    }
  }
  bool group() {
    if (i_ < re_.size() && re_[i_] == '?') {
      std::size_t close = re_.find_first_of(":)", i_);
      if (close == std::string_view::npos) return false;
      if (re_[close] == ')' && re_.substr(i_, 2) != "?P" && re_.substr(i_, 2) != "?<") {
        i_ = close + 1;  // (?flags)
        return true;
      }
      i_ = re_[close] == ':' ? close + 1 : past(">");  // (?P<name> / (?<name>
    }
    bool r = alternation();
    if (i_ < re_.size() && re_[i_] == ')') ++i_;
    return r;
  }
  bool quantifier(bool piece) {
    if (i_ >= re_.size()) return piece;
    char c = re_[i_];
    bool r = piece;
    if (c == '*' || c == '?') {
      ++i_, r = true;
    } else if (c == '+') {
      ++i_;
    } else if (c == '{' && i_ + 1 < re_.size() && re_[i_ + 1] >= '0' && re_[i_ + 1] <= '9') {
      std::size_t close = re_.find('}', i_);
      if (close == std::string_view::npos) return piece;
      r = piece || (re_[i_ + 1] == '0' && (re_[i_ + 2] == ',' || re_[i_ + 2] == '}'));
      i_ = close + 1;
    } else {
      return piece;
    }
    if (i_ < re_.size() && re_[i_] == '?') ++i_;  // non-greedy
    return r;
  }
  void skip_class_name() {
    if (i_ < re_.size() && re_[i_] == '{') {
      std::size_t close = re_.find('}', i_);
      i_ = close == std::string_view::npos ? re_.size() : close + 1;
    } else if (i_ < re_.size()) {
      ++i_;
    }
  }
  void skip_bracket() {
    if (i_ < re_.size() && re_[i_] == '^') ++i_;
    if (i_ < re_.size() && re_[i_] == ']') ++i_;  // a leading ] is a literal
    while (i_ < re_.size() && re_[i_] != ']') {
      if (re_.substr(i_, 2) == "[:") {
        i_ = past(":]");
      } else {
        i_ += re_[i_] == '\\' ? 2 : 1;
      }
    }
    ++i_;
  }
  // The index just after the next `token`, or the end.
  std::size_t past(std::string_view token) const {
    std::size_t at = re_.find(token, i_);
    return at == std::string_view::npos ? re_.size() : at + token.size();
  }

  std::string_view re_;
  std::size_t i_ = 0;
};

}  // namespace

std::string_view documented_name(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    case ValueType::kString:
      return "string";
    default:
      return "none";
  }
}

std::string_view raw_name(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
    default:
      return "none";
  }
}

std::string_view to_string(MatchOp op) {
  static constexpr std::string_view kNames[] = {"=", "!=", "=~", "!~"};
  return kNames[static_cast<int>(op)];
}

std::string_view to_string(BinaryOp op) {
  static constexpr std::string_view kNames[] = {"+",     "-",   "*",  "/",     "%", "^",
                                                "atan2", "==",  "!=", "<=",    "<", ">=",
                                                ">",     "and", "or", "unless"};
  return kNames[static_cast<int>(op)];
}

bool is_comparison(BinaryOp op) { return op >= BinaryOp::kEql && op <= BinaryOp::kGtr; }
bool is_set_operator(BinaryOp op) { return op >= BinaryOp::kAnd; }

std::string_view to_string(AggregateOp op) {
  static constexpr std::string_view kNames[] = {
      "sum", "avg", "count", "min", "max", "stddev", "topk", "bottomk", "quantile", "count_values"};
  return kNames[static_cast<int>(op)];
}

bool takes_param(AggregateOp op) { return op >= AggregateOp::kTopk; }

bool LabelMatcher::matches_empty() const {
  switch (op) {
    case MatchOp::kEqual:
      return value.empty();
    case MatchOp::kNotEqual:
      return !value.empty();
    case MatchOp::kRegexMatch:
      return Nullable(value).run();
    case MatchOp::kRegexNoMatch:
      return !Nullable(value).run();
  }
  return false;
}

ValueType Expr::type() const {
  struct Visitor {
    ValueType operator()(const NumberLiteral&) const { return ValueType::kScalar; }
    ValueType operator()(const StringLiteral&) const { return ValueType::kString; }
    ValueType operator()(const VectorSelector&) const { return ValueType::kVector; }
    ValueType operator()(const MatrixSelector&) const { return ValueType::kMatrix; }
    ValueType operator()(const SubqueryExpr&) const { return ValueType::kMatrix; }
    ValueType operator()(const Call& c) const {
      const Function* f = find_function(c.func);
      return f ? f->return_type : ValueType::kNone;
    }
    ValueType operator()(const AggregateExpr&) const { return ValueType::kVector; }
    ValueType operator()(const BinaryExpr& b) const {
      return b.lhs->type() == ValueType::kScalar && b.rhs->type() == ValueType::kScalar
                 ? ValueType::kScalar
                 : ValueType::kVector;
    }
    ValueType operator()(const UnaryExpr& u) const { return u.expr->type(); }
    ValueType operator()(const ParenExpr& p) const { return p.expr->type(); }
  };
  return std::visit(Visitor{}, node);
}

}  // namespace flowdb::promql
