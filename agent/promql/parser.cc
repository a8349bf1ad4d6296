// parse(): the precedence-climbing parser over lexer.h's tokens. Grammar and
// messages follow Prometheus's generated_parser.y; see README.md.
#include "agent/promql/parser.h"

#include <algorithm>
#include <deque>

#include "agent/promql/functions.h"
#include "lexer.h"
#include "parser_internal.h"

namespace flowdb::promql {
namespace internal {
namespace {

// Binding strength of the binary operators (Prometheus's %left/%right list).
constexpr int kPrecPow = 6;
// Deepest nesting of expressions (parentheses, arguments, unary operators).
constexpr int kMaxDepth = 1000;

struct OpInfo {
  BinaryOp op;
  int prec;
};

std::optional<OpInfo> binary_op(const Token& t) {
  static const std::pair<std::string_view, OpInfo> kOps[] = {
      {"+", {BinaryOp::kAdd, 4}},  {"-", {BinaryOp::kSub, 4}},   {"*", {BinaryOp::kMul, 5}},
      {"/", {BinaryOp::kDiv, 5}},  {"%", {BinaryOp::kMod, 5}},   {"atan2", {BinaryOp::kAtan2, 5}},
      {"^", {BinaryOp::kPow, 6}},  {"==", {BinaryOp::kEql, 3}},  {"!=", {BinaryOp::kNeq, 3}},
      {"<=", {BinaryOp::kLte, 3}}, {"<", {BinaryOp::kLss, 3}},   {">=", {BinaryOp::kGte, 3}},
      {">", {BinaryOp::kGtr, 3}},  {"and", {BinaryOp::kAnd, 2}}, {"unless", {BinaryOp::kUnless, 2}},
      {"or", {BinaryOp::kOr, 1}},
  };
  if (t.kind != Tok::kOp && t.kind != Tok::kIdentifier) return std::nullopt;
  std::string w = lower(t.text);
  if (t.kind == Tok::kIdentifier && w != "and" && w != "or" && w != "unless" && w != "atan2") {
    return std::nullopt;
  }
  for (const auto& [text, info] : kOps) {
    if (text == w) return info;
  }
  return std::nullopt;
}

std::optional<AggregateOp> aggregate_op(std::string_view word) {
  static const std::pair<std::string_view, AggregateOp> kOps[] = {
      {"sum", AggregateOp::kSum},           {"avg", AggregateOp::kAvg},
      {"count", AggregateOp::kCount},       {"min", AggregateOp::kMin},
      {"max", AggregateOp::kMax},           {"stddev", AggregateOp::kStddev},
      {"topk", AggregateOp::kTopk},         {"bottomk", AggregateOp::kBottomk},
      {"quantile", AggregateOp::kQuantile}, {"count_values", AggregateOp::kCountValues},
  };
  std::string w = lower(word);
  for (const auto& [text, op] : kOps) {
    if (text == w) return op;
  }
  return std::nullopt;
}

bool is_word(const Token& t, std::string_view word) {
  return t.kind == Tok::kIdentifier && lower(t.text) == word;
}

class Parser {
 public:
  explicit Parser(std::string_view q) : lex_(q) {}

  ExprPtr parse_query() {
    if (peek().kind == Tok::kEOF) fail(0, "no expression found in input");
    ExprPtr e = parse_expr(0);
    if (peek().kind != Tok::kEOF) unexpected(peek(), "", "");
    check(*e);
    return e;
  }

 private:
  const Token& peek(std::size_t k = 0) {
    while (buf_.size() <= k) buf_.push_back(lex_.next());
    return buf_[k];
  }
  Token take() {
    peek();
    Token t = std::move(buf_.front());
    buf_.pop_front();
    return t;
  }
  [[noreturn]] void fail(std::size_t pos, std::string msg) {
    throw SyntaxError{pos, std::move(msg)};
  }
  [[noreturn]] void unexpected(const Token& t, std::string_view context,
                               std::string_view expected) {
    std::string msg = "unexpected " + describe(t);
    if (!context.empty()) msg += " in " + std::string(context);
    if (!expected.empty()) msg += ", expected " + std::string(expected);
    fail(t.pos, std::move(msg));
  }
  Token expect(Tok kind, std::string_view context, std::string_view expected) {
    if (peek().kind != kind) unexpected(peek(), context, expected);
    return take();
  }

  ExprPtr parse_expr(int min_prec);
  ExprPtr parse_binary_rhs(ExprPtr lhs, OpInfo op);
  void parse_bin_modifiers(BinaryExpr& b);
  ExprPtr parse_unary();
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_range_or_subquery(ExprPtr e);
  void apply_offset(Expr& e, const Token& kw);
  ExprPtr parse_selector(std::string name, std::size_t pos);
  LabelMatcher parse_matcher();
  ExprPtr parse_aggregate(const Token& kw);
  ExprPtr parse_call(const Token& name);
  std::vector<ExprPtr> parse_args();
  std::vector<std::string> parse_grouping_labels();
  Duration parse_duration_token(const Token& t, bool must_be_positive);

  Lexer lex_;
  std::deque<Token> buf_;
  int depth_ = 0;
};

ExprPtr Parser::parse_expr(int min_prec) {
  // Queries come from HTTP clients: bound the recursion, not the stack.
  if (++depth_ > kMaxDepth) fail(peek().pos, "expression nested too deeply");
  struct Leave {
    int& d;
    ~Leave() { --d; }
  } leave{depth_};
  ExprPtr lhs = parse_unary();
  for (;;) {
    std::optional<OpInfo> op = binary_op(peek());
    if (!op || op->prec < min_prec) return lhs;
    take();
    lhs = parse_binary_rhs(std::move(lhs), *op);
  }
}

ExprPtr Parser::parse_binary_rhs(ExprPtr lhs, OpInfo op) {
  BinaryExpr b;
  b.op = op.op;
  parse_bin_modifiers(b);
  if (peek().kind == Tok::kEOF) unexpected(peek(), "", "");
  // ^ is right-associative; every other operator is left-associative.
  b.rhs = parse_expr(op.op == BinaryOp::kPow ? op.prec : op.prec + 1);
  std::size_t pos = lhs->pos;
  b.lhs = std::move(lhs);
  return make_expr(std::move(b), pos);
}

// [bool] [on|ignoring (labels) [group_left|group_right [(labels)]]]
void Parser::parse_bin_modifiers(BinaryExpr& b) {
  if (is_word(peek(), "bool")) {
    take();
    b.return_bool = true;
  }
  if (!is_word(peek(), "on") && !is_word(peek(), "ignoring")) return;
  VectorMatching m;
  m.on = is_word(take(), "on");
  m.matching_labels = parse_grouping_labels();
  if (is_word(peek(), "group_left") || is_word(peek(), "group_right")) {
    m.card = is_word(take(), "group_left") ? Cardinality::kManyToOne : Cardinality::kOneToMany;
    if (peek().kind == Tok::kLeftParen) m.include = parse_grouping_labels();
  }
  b.matching = std::move(m);
}

// Unary +/- binds below ^ and above * (Prometheus: unary_expr %prec MUL).
ExprPtr Parser::parse_unary() {
  const Token& t = peek();
  if (t.kind != Tok::kOp || (t.text != "-" && t.text != "+")) return parse_postfix(parse_primary());
  Token op = take();
  ExprPtr operand = parse_expr(kPrecPow);
  if (auto* n = operand->as<NumberLiteral>()) {
    if (op.text == "-") n->value = -n->value;
    operand->pos = op.pos;
    return operand;
  }
  return make_expr(UnaryExpr{op.text == "-", std::move(operand)}, op.pos);
}

ExprPtr Parser::parse_primary() {
  const Token& t = peek();
  switch (t.kind) {
    case Tok::kNumber: {
      Token n = take();
      return make_expr(NumberLiteral{parse_number(n)}, n.pos);
    }
    case Tok::kString: {
      Token s = take();
      return make_expr(StringLiteral{std::move(s.value)}, s.pos);
    }
    case Tok::kLeftParen: {
      std::size_t pos = take().pos;
      ExprPtr inner = parse_expr(0);
      expect(Tok::kRightParen, "", "\")\"");
      return make_expr(ParenExpr{std::move(inner)}, pos);
    }
    case Tok::kLeftBrace:
      return parse_selector("", t.pos);
    case Tok::kIdentifier: {
      const Token& after = peek(1);
      bool call = after.kind == Tok::kLeftParen;
      if (is_aggregator(t.text) && (call || is_word(after, "by") || is_word(after, "without"))) {
        return parse_aggregate(take());
      }
      if (call && is_keyword(t.text)) unexpected(t, "", "");
      if (call) return parse_call(take());
      Token name = take();
      return parse_selector(std::string(name.text), name.pos);
    }
    default:
      unexpected(t, "", "");
  }
}

ExprPtr Parser::parse_postfix(ExprPtr e) {
  for (;;) {
    const Token& t = peek();
    if (t.kind == Tok::kLeftBracket) {
      e = parse_range_or_subquery(std::move(e));
    } else if (is_word(t, "offset")) {
      apply_offset(*e, take());
    } else if (t.kind == Tok::kOp && t.text == "@") {
      fail(t.pos, "the @ modifier is not supported");
    } else {
      return e;
    }
  }
}

ExprPtr Parser::parse_range_or_subquery(ExprPtr e) {
  std::size_t bracket = take().pos;
  constexpr std::string_view kCtx = "subquery or range selector";
  Token range_tok = expect(Tok::kDuration, kCtx, "duration");
  Duration range = parse_duration_token(range_tok, true);
  if (peek().kind == Tok::kColon) {
    take();
    SubqueryExpr s;
    s.range = range;
    if (peek().kind == Tok::kDuration) s.step = parse_duration_token(take(), true);
    expect(Tok::kRightBracket, kCtx, "\"]\"");
    std::size_t pos = e->pos;
    s.expr = std::move(e);
    return make_expr(std::move(s), pos);
  }
  if (peek().kind != Tok::kRightBracket) {
    if (peek().kind == Tok::kIdentifier || peek().kind == Tok::kDuration) {
      fail(peek().pos,
           "unexpected character: '" + std::string(peek().text.substr(0, 1)) + "', expected ':'");
    }
    unexpected(peek(), kCtx, "\":\" or \"]\"");
  }
  take();
  auto* vs = e->as<VectorSelector>();
  if (vs == nullptr) fail(bracket, "ranges only allowed for vector selectors");
  if (vs->offset) fail(bracket, "no offset modifiers allowed before range");
  return make_expr(MatrixSelector{std::move(*vs), range}, e->pos);
}

void Parser::apply_offset(Expr& e, const Token& kw) {
  Token d = expect(Tok::kDuration, "offset", "duration");
  Duration off = parse_duration_token(d, false);
  std::optional<Duration>* slot = nullptr;
  if (auto* vs = e.as<VectorSelector>()) slot = &vs->offset;
  if (auto* ms = e.as<MatrixSelector>()) slot = &ms->selector.offset;
  if (auto* sq = e.as<SubqueryExpr>()) slot = &sq->offset;
  if (slot == nullptr) {
    fail(kw.pos,
         "offset modifier must be preceded by an instant vector selector or range vector "
         "selector or a subquery");
  }
  if (slot->has_value()) fail(kw.pos, "offset may not be set multiple times");
  *slot = off;
}

Duration Parser::parse_duration_token(const Token& t, bool must_be_positive) {
  std::optional<Duration> d = parse_duration(t.text);
  if (!d) fail(t.pos, "not a valid duration string: \"" + std::string(t.text) + "\"");
  if (must_be_positive && d->count() <= 0) fail(t.pos, "duration must be greater than 0");
  return *d;
}

ExprPtr Parser::parse_selector(std::string name, std::size_t pos) {
  VectorSelector vs;
  vs.name = std::move(name);
  if (peek().kind == Tok::kLeftBrace) {
    take();
    while (peek().kind != Tok::kRightBrace) {
      vs.matchers.push_back(parse_matcher());
      if (peek().kind == Tok::kComma) {
        take();
      } else if (peek().kind != Tok::kRightBrace) {
        unexpected(peek(), "label matching", "\",\" or \"}\"");
      }
    }
    take();
  }
  return make_expr(std::move(vs), pos);
}

LabelMatcher Parser::parse_matcher() {
  constexpr std::string_view kCtx = "label matching";
  Token name = expect(Tok::kIdentifier, kCtx, "identifier or \"}\"");
  LabelMatcher m;
  m.name = std::string(name.text);
  const Token& op = peek();
  if (op.kind == Tok::kAssign) {
    m.op = MatchOp::kEqual;
  } else if (op.kind == Tok::kOp && op.text == "!=") {
    m.op = MatchOp::kNotEqual;
  } else if (op.kind == Tok::kOp && op.text == "=~") {
    m.op = MatchOp::kRegexMatch;
  } else if (op.kind == Tok::kOp && op.text == "!~") {
    m.op = MatchOp::kRegexNoMatch;
  } else {
    unexpected(op, kCtx, "label matching operator");
  }
  take();
  m.value = expect(Tok::kString, kCtx, "string").value;
  return m;
}

ExprPtr Parser::parse_aggregate(const Token& kw) {
  std::optional<AggregateOp> op = aggregate_op(kw.text);
  if (!op) fail(kw.pos, "aggregation \"" + lower(kw.text) + "\" is not supported");
  AggregateExpr a;
  a.op = *op;
  bool grouped = false;
  if (is_word(peek(), "by") || is_word(peek(), "without")) {
    a.without = is_word(take(), "without");
    a.grouping = parse_grouping_labels();
    grouped = true;
  }
  std::size_t args_pos = peek().pos;
  if (peek().kind != Tok::kLeftParen) unexpected(peek(), "aggregation", "\"(\"");
  std::vector<ExprPtr> args = parse_args();
  if (!grouped && (is_word(peek(), "by") || is_word(peek(), "without"))) {
    a.without = is_word(take(), "without");
    a.grouping = parse_grouping_labels();
  }
  if (args.empty()) fail(args_pos, "no arguments for aggregate expression provided");
  std::size_t want = takes_param(*op) ? 2 : 1;
  if (args.size() != want) {
    fail(args_pos, "wrong number of arguments for aggregate expression provided, expected " +
                       std::to_string(want) + ", got " + std::to_string(args.size()));
  }
  if (want == 2) a.param = std::move(args[0]);
  a.expr = std::move(args.back());
  return make_expr(std::move(a), kw.pos);
}

ExprPtr Parser::parse_call(const Token& name) {
  std::string fname(name.text);
  if (find_function(fname) == nullptr) {
    if (is_prometheus_function(fname))
      fail(name.pos, "function \"" + fname + "\" is not supported");
    fail(name.pos, "unknown function with name \"" + fname + "\"");
  }
  return make_expr(Call{fname, parse_args()}, name.pos);
}

// ( [expr {, expr}] )
std::vector<ExprPtr> Parser::parse_args() {
  take();  // (
  std::vector<ExprPtr> args;
  if (peek().kind == Tok::kRightParen) {
    take();
    return args;
  }
  for (;;) {
    args.push_back(parse_expr(0));
    if (peek().kind == Tok::kRightParen) break;
    if (peek().kind != Tok::kComma) unexpected(peek(), "function call args", "\",\" or \")\"");
    Token comma = take();
    if (peek().kind == Tok::kRightParen) {
      fail(comma.pos, "trailing commas not allowed in function call args");
    }
  }
  take();
  return args;
}

// ( [label {, label}] [,] ); labels may be keywords, not metric names with ':'.
std::vector<std::string> Parser::parse_grouping_labels() {
  constexpr std::string_view kCtx = "grouping opts";
  expect(Tok::kLeftParen, kCtx, "\"(\"");
  std::vector<std::string> labels;
  for (;;) {
    const Token& t = peek();
    if (t.kind == Tok::kRightParen) break;
    if (t.kind != Tok::kIdentifier || t.has_colon) unexpected(t, kCtx, "label");
    labels.emplace_back(take().text);
    if (peek().kind == Tok::kComma) {
      take();
    } else if (peek().kind != Tok::kRightParen) {
      unexpected(peek(), kCtx, "\",\" or \")\"");
    }
  }
  take();
  return labels;
}

}  // namespace
}  // namespace internal

std::string ParseError::to_string() const {
  return "parse error at char " + std::to_string(pos + 1) + ": " + message;
}

ParseResult parse(std::string_view query) {
  try {
    return ParseResult(internal::Parser(query).parse_query());
  } catch (const internal::SyntaxError& e) {
    return ParseResult(ParseError{e.pos, e.message});
  }
}

}  // namespace flowdb::promql
