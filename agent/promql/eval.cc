// The evaluator's tree walk (eval.h), as Prometheus 2.42's promql/engine.go:
// series are selected once per selector for the whole query, then every
// node is evaluated over all steps of its evaluator (rangeEval), an instant
// query being a range query of one step.
#include "agent/promql/eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/promql/matcher.h"
#include "eval_internal.h"

namespace flowdb::promql {
namespace {

using namespace detail;
using Clock = std::chrono::steady_clock;

const Expr& unwrap(const Expr& e) {
  const Expr* p = &e;
  while (const ParenExpr* pe = p->as<ParenExpr>()) p = pe->expr.get();
  return *p;
}

int64_t ms_of(const std::optional<Duration>& d) { return d ? d->count() : 0; }

// State of one query shared by the evaluators of its subqueries.
struct Context {
  Context(Querier& querier, const Limits& l)
      : q(querier), limits(l), deadline(deadline_after(l.timeout)) {}

  // A huge timeout (milliseconds::max() for "none") must not overflow.
  static Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
    auto now = Clock::now();
    if (timeout >=
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now)) {
      return Clock::time_point::max();
    }
    return now + timeout;
  }

  Querier& q;
  const Limits& limits;
  Clock::time_point deadline;
  // Samples held (Prometheus's currentSamples), checked against max_samples.
  size_t current = 0;
  std::unordered_map<const VectorSelector*, std::vector<Series>> selected;

  void check_timeout() const {
    // Prometheus's contextDone(ctx, "expression evaluation").
    if (Clock::now() >= deadline) {
      throw EvalError("timeout", "query timed out in expression evaluation");
    }
  }
  // Takes n more samples into memory, as Prometheus's checks before append.
  void add(size_t n) {
    if (current + n > limits.max_samples) fail_too_many_samples();
    current += n;
  }
};

// Selects one selector's series over [mint, maxt], as Prometheus's
// populateSeries does before evaluation; sorted by labels, as a TSDB
// querier returns them, which makes every result order deterministic.
void select_one(Context& ctx, const VectorSelector& vs, int64_t mint, int64_t maxt) {
  Matchers matchers;
  try {
    matchers = compile(vs);
  } catch (const std::invalid_argument& e) {
    throw EvalError("bad_data", e.what());
  }
  std::vector<Series> out;
  // Limits stop the Querier by returning false rather than by throwing
  // through it, so that its implementation need not be exception-safe.
  bool too_many = false;
  bool late = false;
  try {
    ctx.q.select(matchers, mint, maxt, [&](Series&& s) {
      too_many = ctx.limits.max_series != 0 && out.size() >= ctx.limits.max_series;
      late = (out.size() & 255) == 255 && Clock::now() >= ctx.deadline;
      if (too_many || late) return false;
      out.push_back(std::move(s));
      return true;
    });
  } catch (const StorageError& e) {
    throw EvalError("execution", e.what());
  }
  if (too_many) {
    fail_exec("query would select more than " + std::to_string(ctx.limits.max_series) +
              " series in one selector");
  }
  ctx.check_timeout();
  std::sort(out.begin(), out.end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
  ctx.selected[&vs] = std::move(out);
}

// Prometheus's getTimeRangesForSelector: the evaluation range widened by the
// offsets and ranges of enclosing subqueries, the selector's own range (or
// the lookback) and offset. Both ends are inclusive in 2.42.
struct SelectWalk {
  Context& ctx;
  int64_t start;
  int64_t end;

  void walk(const Expr& e, int64_t subq_offset, int64_t subq_range) {
    const auto& n = e.node;
    if (const auto* vs = std::get_if<VectorSelector>(&n)) {
      select_at(*vs, 0, subq_offset, subq_range);
    } else if (const auto* ms = std::get_if<MatrixSelector>(&n)) {
      select_at(ms->selector, ms->range.count(), subq_offset, subq_range);
    } else if (const auto* sq = std::get_if<SubqueryExpr>(&n)) {
      walk(*sq->expr, subq_offset + ms_of(sq->offset), subq_range + sq->range.count());
    } else if (const auto* c = std::get_if<Call>(&n)) {
      for (const ExprPtr& a : c->args) walk(*a, subq_offset, subq_range);
    } else if (const auto* a = std::get_if<AggregateExpr>(&n)) {
      if (a->param) walk(*a->param, subq_offset, subq_range);
      walk(*a->expr, subq_offset, subq_range);
    } else if (const auto* b = std::get_if<BinaryExpr>(&n)) {
      walk(*b->lhs, subq_offset, subq_range);
      walk(*b->rhs, subq_offset, subq_range);
    } else if (const auto* u = std::get_if<UnaryExpr>(&n)) {
      walk(*u->expr, subq_offset, subq_range);
    } else if (const auto* p = std::get_if<ParenExpr>(&n)) {
      walk(*p->expr, subq_offset, subq_range);
    }
  }

  void select_at(const VectorSelector& vs, int64_t range, int64_t subq_offset, int64_t subq_range) {
    int64_t off = ms_of(vs.offset) + subq_offset;
    int64_t back = range != 0 ? range : ctx.limits.lookback_delta;
    select_one(ctx, vs, start - off - subq_range - back, end - off);
  }
};

// The non-stale points of `s` in [mint, maxt] (Prometheus's matrixIterSlice).
void window(const std::vector<Sample>& s, int64_t mint, int64_t maxt, std::vector<Sample>& out) {
  out.clear();
  auto it = std::lower_bound(s.begin(), s.end(), mint,
                             [](const Sample& x, int64_t t) { return x.t < t; });
  for (; it != s.end() && it->t <= maxt; ++it) {
    if (!is_stale_nan(it->v)) out.push_back(*it);
  }
}

// The sample an instant selector sees at ref (Prometheus's
// vectorSelectorSingle): the latest at or before ref, not older than the
// lookback, and not a staleness marker.
const Sample* sample_at(const std::vector<Sample>& s, int64_t ref, int64_t lookback) {
  auto it =
      std::upper_bound(s.begin(), s.end(), ref, [](int64_t t, const Sample& x) { return t < x.t; });
  if (it == s.begin()) return nullptr;
  --it;
  if (it->t < ref - lookback || is_stale_nan(it->v)) return nullptr;
  return &*it;
}

void check_unique_series(const Matrix& m) {
  std::vector<const Labels*> ls;
  ls.reserve(m.size());
  for (const Series& s : m) ls.push_back(&s.labels);
  check_unique(std::move(ls));
}

// A scalar argument's value at a step (a scalar has one every step).
double scalar_of(const Vector& v) { return v.empty() ? NAN : v[0].v; }

size_t total_samples(const Matrix& m) {
  size_t n = 0;
  for (const Series& s : m) n += s.samples.size();
  return n;
}

class Evaluator {
 public:
  Evaluator(Context& ctx, int64_t start, int64_t end, int64_t interval)
      : ctx_(ctx), start_(start), end_(end), interval_(interval) {}

  Value eval(const Expr& e);
  Matrix matrix(const Expr& e) { return std::get<Matrix>(eval(e)); }

 private:
  using StepFn = std::function<Vector(const std::vector<Vector>& args, int64_t ts)>;

  Matrix range_eval(const StepFn& fn, std::vector<const Expr*> exprs);
  Matrix eval_selector(const VectorSelector& vs);
  Matrix eval_matrix_selector(const MatrixSelector& ms);
  Matrix eval_subquery(const SubqueryExpr& sq);
  Matrix eval_call(const Call& c);
  Matrix eval_range_call(const Call& c, size_t index);
  Matrix eval_aggregate(const AggregateExpr& a);
  Matrix eval_binary(const BinaryExpr& b);
  Matrix eval_unary(const UnaryExpr& u);
  void gather(const Matrix& m, std::vector<size_t>& cursor, int64_t ts, Vector& out);

  Context& ctx_;
  int64_t start_;
  int64_t end_;
  int64_t interval_;
};

Value Evaluator::eval(const Expr& e) {
  ctx_.check_timeout();
  const auto& n = e.node;
  if (const auto* lit = std::get_if<NumberLiteral>(&n)) {
    double v = lit->value;
    return range_eval([v](const std::vector<Vector>&, int64_t) { return Vector{{{}, 0, v}}; }, {});
  }
  if (const auto* s = std::get_if<StringLiteral>(&n)) return String{start_, s->value};
  if (const auto* vs = std::get_if<VectorSelector>(&n)) return eval_selector(*vs);
  if (const auto* ms = std::get_if<MatrixSelector>(&n)) return eval_matrix_selector(*ms);
  if (const auto* sq = std::get_if<SubqueryExpr>(&n)) return eval_subquery(*sq);
  if (const auto* c = std::get_if<Call>(&n)) return eval_call(*c);
  if (const auto* a = std::get_if<AggregateExpr>(&n)) return eval_aggregate(*a);
  if (const auto* b = std::get_if<BinaryExpr>(&n)) return eval_binary(*b);
  if (const auto* u = std::get_if<UnaryExpr>(&n)) return eval_unary(*u);
  return eval(*std::get<ParenExpr>(n).expr);
}

// The input samples of one step: each series' point at ts, if any. Points
// are at step times, so a cursor per series moves forward only.
void Evaluator::gather(const Matrix& m, std::vector<size_t>& cursor, int64_t ts, Vector& out) {
  // `out` holds the last step's vector: mostly the same series in the same
  // order, so its label sets are reused, not copied anew every step.
  size_t n = 0;
  for (size_t si = 0; si < m.size(); ++si) {
    const auto& pts = m[si].samples;
    if (cursor[si] >= pts.size() || pts[cursor[si]].t != ts) continue;
    if (ctx_.current >= ctx_.limits.max_samples) fail_too_many_samples();
    if (n < out.size()) {
      if (out[n].labels != m[si].labels) out[n].labels = m[si].labels;
      out[n].t = ts;
      out[n].v = pts[cursor[si]].v;
    } else {
      out.push_back({m[si].labels, ts, pts[cursor[si]].v});
    }
    ++n;
    ++cursor[si];
    ++ctx_.current;
  }
  out.resize(n);
}

// Prometheus's rangeEval: evaluates the arguments over all steps, then calls
// fn step by step with their values at that step and merges the results into
// series by labelset. String arguments (nullptr or string-typed) are not
// evaluated; fn reads them from the tree.
Matrix Evaluator::range_eval(const StepFn& fn, std::vector<const Expr*> exprs) {
  size_t original = ctx_.current;
  std::vector<Matrix> mats(exprs.size());
  std::vector<std::vector<size_t>> cursors(exprs.size());
  for (size_t i = 0; i < exprs.size(); ++i) {
    if (exprs[i] == nullptr || exprs[i]->type() == ValueType::kString) continue;
    mats[i] = matrix(*exprs[i]);
    cursors[i].assign(mats[i].size(), 0);
  }
  std::vector<Vector> args(exprs.size());
  size_t temp = ctx_.current;
  std::unordered_map<std::string, size_t> index;
  std::vector<size_t> by_position;
  Matrix out;
  for (int64_t ts = start_; ts <= end_; ts += interval_) {
    ctx_.check_timeout();
    ctx_.current = temp;  // inputs of the last step are released
    for (size_t i = 0; i < exprs.size(); ++i) gather(mats[i], cursors[i], ts, args[i]);
    Vector result = fn(args, ts);
    ctx_.current += result.size();
    temp += result.size();
    if (ctx_.current > ctx_.limits.max_samples) fail_too_many_samples();
    if (by_position.size() < result.size()) by_position.resize(result.size(), SIZE_MAX);
    for (size_t i = 0; i < result.size(); ++i) {
      VectorSample& s = result[i];
      // Results mostly come in the same order every step: compare with the
      // series at this position last time before hashing the labels.
      size_t k = by_position[i];
      if (k == SIZE_MAX || out[k].labels != s.labels) {
        auto [it, fresh] = index.try_emplace(labels_key(s.labels), out.size());
        if (fresh) out.push_back({std::move(s.labels), {}});
        k = by_position[i] = it->second;
      }
      // Two results of one step in one series: Prometheus's
      // ContainsSameLabelset check.
      if (!out[k].samples.empty() && out[k].samples.back().t == ts) {
        fail_exec("vector cannot contain metrics with the same labelset");
      }
      out[k].samples.push_back({ts, s.v});
    }
  }
  ctx_.current = original + total_samples(out);
  return out;
}

Matrix Evaluator::eval_selector(const VectorSelector& vs) {
  const std::vector<Series>& series = ctx_.selected.at(&vs);
  int64_t offset = ms_of(vs.offset);
  Matrix out;
  for (const Series& s : series) {
    Series ss{s.labels, {}};
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      const Sample* p = sample_at(s.samples, ts - offset, ctx_.limits.lookback_delta);
      if (p == nullptr) continue;
      if (ctx_.current >= ctx_.limits.max_samples) fail_too_many_samples();
      ss.samples.push_back({ts, p->v});
      ++ctx_.current;
    }
    if (!ss.samples.empty()) out.push_back(std::move(ss));
  }
  return out;
}

// A range selector at the top of an instant query (Prometheus's
// matrixSelector): the raw points of each series in the window.
Matrix Evaluator::eval_matrix_selector(const MatrixSelector& ms) {
  if (start_ != end_) fail_exec("cannot do range evaluation of matrix selector");
  int64_t maxt = start_ - ms_of(ms.selector.offset);
  Matrix out;
  for (const Series& s : ctx_.selected.at(&ms.selector)) {
    ctx_.check_timeout();
    Series ss{s.labels, {}};
    window(s.samples, maxt - ms.range.count(), maxt, ss.samples);
    ctx_.add(ss.samples.size());
    if (!ss.samples.empty()) out.push_back(std::move(ss));
  }
  return out;
}

// A subquery's inner expression evaluated at the multiples of its step in
// (start - offset - range, end - offset], as Prometheus aligns them.
Matrix Evaluator::eval_subquery(const SubqueryExpr& sq) {
  int64_t offset = ms_of(sq.offset);
  int64_t range = sq.range.count();
  int64_t step = sq.step.count() != 0 ? sq.step.count() : ctx_.limits.default_subquery_step;
  int64_t from = start_ - offset - range;
  int64_t first = step * (from / step);
  if (first < from) first += step;
  Evaluator inner(ctx_, first, end_ - offset, step);
  return inner.matrix(*sq.expr);
}

Matrix Evaluator::eval_call(const Call& c) {
  if (c.func == "timestamp") {
    // Prometheus special-cases a selector argument: timestamp() reads the
    // sample's own time, which the step-aligned matrix has lost.
    if (const auto* vs = unwrap(*c.args[0]).as<VectorSelector>()) {
      const std::vector<Series>& series = ctx_.selected.at(vs);
      int64_t offset = ms_of(vs->offset);
      int64_t lookback = ctx_.limits.lookback_delta;
      return range_eval(
          [&series, offset, lookback](const std::vector<Vector>&, int64_t ts) {
            Vector out;
            for (const Series& s : series) {
              if (const Sample* p = sample_at(s.samples, ts - offset, lookback)) {
                out.push_back({without_name(s.labels), ts, static_cast<double>(p->t) / 1000});
              }
            }
            return out;
          },
          {});
    }
  }
  for (size_t i = 0; i < c.args.size(); ++i) {
    const Expr& a = unwrap(*c.args[i]);
    if (a.as<MatrixSelector>() || a.as<SubqueryExpr>()) return eval_range_call(c, i);
  }
  VectorFn fn = vector_function(c);
  std::vector<const Expr*> args;
  for (const ExprPtr& a : c.args) args.push_back(a.get());
  return range_eval(fn, std::move(args));
}

// A function of a range vector, series by series and step by step
// (Prometheus's matrix-argument path of eval for *parser.Call).
Matrix Evaluator::eval_range_call(const Call& c, size_t index) {
  RangeFn fn = range_function(c.func);
  if (fn == nullptr) throw EvalError("bad_data", "function \"" + c.func + "\" is not supported");
  std::vector<Matrix> others(c.args.size());
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (i != index) others[i] = matrix(*c.args[i]);
  }
  const Expr& arg = unwrap(*c.args[index]);
  Matrix subquery;
  const std::vector<Series>* series = nullptr;
  int64_t range = 0;
  int64_t offset = 0;
  size_t held = 0;
  if (const auto* ms = arg.as<MatrixSelector>()) {
    series = &ctx_.selected.at(&ms->selector);
    range = ms->range.count();
    offset = ms_of(ms->selector.offset);
  } else {
    const auto& sq = *arg.as<SubqueryExpr>();
    subquery = eval_subquery(sq);
    held = total_samples(subquery);
    series = &subquery;
    range = sq.range.count();
    offset = ms_of(sq.offset);
  }
  // last_over_time acts like an offset and keeps the metric name.
  bool keep_name = c.func == "last_over_time";
  std::vector<double> scalars(c.args.size());
  std::vector<Sample> points;
  Matrix out;
  for (const Series& s : *series) {
    ctx_.check_timeout();
    Series ss{keep_name ? s.labels : without_name(s.labels), {}};
    size_t step = 0;
    for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
      for (size_t j = 0; j < others.size(); ++j) {
        if (j != index && !others[j].empty() && step < others[j][0].samples.size()) {
          scalars[j] = others[j][0].samples[step].v;
        }
      }
      window(s.samples, ts - offset - range, ts - offset, points);
      if (points.empty()) continue;
      ctx_.add(points.size());
      ctx_.current -= points.size();
      double v = 0;
      if (fn(RangeInput{points, ts, range, offset, scalars}, v)) ss.samples.push_back({ts, v});
    }
    if (ss.samples.empty()) continue;
    ctx_.add(ss.samples.size());
    out.push_back(std::move(ss));
  }
  ctx_.current -= std::min(held, ctx_.current);
  check_unique_series(out);
  return out;
}

Matrix Evaluator::eval_aggregate(const AggregateExpr& a) {
  if (a.param && unwrap(*a.param).as<StringLiteral>()) {
    std::string label = unwrap(*a.param).as<StringLiteral>()->value;
    return range_eval(
        [&a, label](const std::vector<Vector>& v, int64_t) { return aggregate(a, 0, label, v[0]); },
        {a.expr.get()});
  }
  return range_eval(
      [&a](const std::vector<Vector>& v, int64_t) {
        double param = a.param && !v[0].empty() ? v[0][0].v : 0;
        return aggregate(a, param, std::string(), v[1]);
      },
      {a.param.get(), a.expr.get()});
}

Matrix Evaluator::eval_binary(const BinaryExpr& b) {
  ValueType lt = b.lhs->type();
  ValueType rt = b.rhs->type();
  std::vector<const Expr*> sides{b.lhs.get(), b.rhs.get()};
  if (lt == ValueType::kScalar && rt == ValueType::kScalar) {
    return range_eval(
        [&b](const std::vector<Vector>& v, int64_t) {
          return Vector{{{}, 0, scalar_binop(b.op, scalar_of(v[0]), scalar_of(v[1]))}};
        },
        sides);
  }
  if (lt == ValueType::kVector && rt == ValueType::kVector) {
    return range_eval(
        [&b](const std::vector<Vector>& v, int64_t) { return vector_binop(b, v[0], v[1]); }, sides);
  }
  bool swap = lt == ValueType::kScalar;
  return range_eval(
      [&b, swap](const std::vector<Vector>& v, int64_t) {
        const Vector& vec = swap ? v[1] : v[0];
        double s = scalar_of(swap ? v[0] : v[1]);
        return vector_scalar_binop(b.op, vec, s, swap, b.return_bool);
      },
      sides);
}

Matrix Evaluator::eval_unary(const UnaryExpr& u) {
  Matrix m = matrix(*u.expr);
  if (!u.negate) return m;
  for (Series& s : m) {
    s.labels = without_name(std::move(s.labels));
    for (Sample& p : s.samples) p.v = -p.v;
  }
  check_unique_series(m);
  return m;
}

bool by_labels(const Series& a, const Series& b) { return a.labels < b.labels; }

// Prometheus keeps an instant vector in evaluation order; topk and bottomk
// order by value, everything else is sorted by labels for a stable answer.
bool keeps_order(const Expr& e) {
  const auto* a = unwrap(e).as<AggregateExpr>();
  return a != nullptr && (a->op == AggregateOp::kTopk || a->op == AggregateOp::kBottomk);
}

template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const StorageError& e) {
    throw EvalError("execution", e.what());
  } catch (const std::bad_alloc&) {
    throw EvalError("execution", "out of memory in query execution");
  }
}

}  // namespace

Value eval_instant(const Expr& e, Querier& q, int64_t t, const Limits& limits) {
  return guarded([&]() -> Value {
    Context ctx(q, limits);
    SelectWalk{ctx, t, t}.walk(e, 0, 0);
    Value v = Evaluator(ctx, t, t, 1).eval(e);
    if (std::holds_alternative<String>(v)) return v;
    Matrix m = std::get<Matrix>(std::move(v));
    switch (e.type()) {
      case ValueType::kScalar:
        return Scalar{t, m.empty() || m[0].samples.empty() ? 0 : m[0].samples[0].v};
      case ValueType::kVector: {
        if (!keeps_order(e)) std::stable_sort(m.begin(), m.end(), by_labels);
        Vector out;
        out.reserve(m.size());
        for (Series& s : m) out.push_back({std::move(s.labels), t, s.samples[0].v});
        return out;
      }
      default:
        std::stable_sort(m.begin(), m.end(), by_labels);
        return m;
    }
  });
}

Matrix eval_range(const Expr& e, Querier& q, int64_t start, int64_t end, int64_t step,
                  const Limits& limits) {
  if (e.type() != ValueType::kVector && e.type() != ValueType::kScalar) {
    throw EvalError("bad_data", "invalid expression type \"" +
                                    std::string(documented_name(e.type())) +
                                    "\" for range query, must be Scalar or instant Vector");
  }
  if (step <= 0 || end < start) {
    throw EvalError("bad_data", "end timestamp must not be before start time");
  }
  return guarded([&] {
    Context ctx(q, limits);
    SelectWalk{ctx, start, end}.walk(e, 0, 0);
    Matrix m = Evaluator(ctx, start, end, step).matrix(e);
    std::sort(m.begin(), m.end(), by_labels);
    return m;
  });
}

}  // namespace flowdb::promql
