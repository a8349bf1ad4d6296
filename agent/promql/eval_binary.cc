// Binary operators (eval_internal.h), as Prometheus 2.42's VectorAnd,
// VectorOr, VectorUnless, VectorBinop, VectorscalarBinop and scalarBinop.
#include <cmath>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "eval_internal.h"

namespace flowdb::promql::detail {
namespace {

// Arithmetic drops the metric name; comparisons and atan2 keep it (2.42).
bool drops_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kPow:
    case BinaryOp::kMod:
      return true;
    default:
      return false;
  }
}

// The value of `lhs op rhs` and whether a comparison keeps the element
// (vectorElemBinop): comparisons yield the left value.
double elem_binop(BinaryOp op, double l, double r, bool& keep) {
  keep = true;
  switch (op) {
    case BinaryOp::kEql:
      keep = l == r;
      return l;
    case BinaryOp::kNeq:
      keep = l != r;
      return l;
    case BinaryOp::kGtr:
      keep = l > r;
      return l;
    case BinaryOp::kLss:
      keep = l < r;
      return l;
    case BinaryOp::kGte:
      keep = l >= r;
      return l;
    case BinaryOp::kLte:
      keep = l <= r;
      return l;
    default:
      return scalar_binop(op, l, r);
  }
}

// The join signature: the `on` labels, or all but the `ignoring` ones and
// the metric name (Prometheus's signatureFunc).
std::string signature(const Labels& ls, const VectorMatching& m) {
  return labels_key(m.on ? keep_only(ls, m.matching_labels) : drop(ls, m.matching_labels, true));
}

Vector set_op(BinaryOp op, const Vector& lhs, const Vector& rhs, const VectorMatching& m) {
  Vector out;
  if (op == BinaryOp::kAnd && (lhs.empty() || rhs.empty())) return out;
  if (op == BinaryOp::kOr && (lhs.empty() || rhs.empty())) {
    out = lhs;
    out.insert(out.end(), rhs.begin(), rhs.end());
    return out;
  }
  if (op == BinaryOp::kUnless && (lhs.empty() || rhs.empty())) return lhs;
  std::unordered_set<std::string> sigs;
  if (op == BinaryOp::kOr) {
    for (const VectorSample& s : lhs) sigs.insert(signature(s.labels, m));
    out = lhs;
    for (const VectorSample& s : rhs) {
      if (!sigs.count(signature(s.labels, m))) out.push_back(s);
    }
    return out;
  }
  for (const VectorSample& s : rhs) sigs.insert(signature(s.labels, m));
  bool want = op == BinaryOp::kAnd;
  for (const VectorSample& s : lhs) {
    if (sigs.count(signature(s.labels, m)) == (want ? 1u : 0u)) out.push_back(s);
  }
  return out;
}

// Prometheus's resultMetric: the many side's labels, without the name for
// arithmetic, reduced to the matching labels for one-to-one, with the
// group_x labels copied from the one side.
Labels result_metric(const Labels& lhs, const Labels& rhs, const BinaryExpr& e) {
  const VectorMatching& m = *e.matching;
  Labels out = drops_name(e.op) ? without_name(lhs) : lhs;
  if (m.card == Cardinality::kOneToOne) {
    out = m.on ? keep_only(out, m.matching_labels) : drop(out, m.matching_labels, false);
  }
  for (const std::string& name : m.include) set_label(out, name, label_value(rhs, name));
  if (e.return_bool) out = without_name(std::move(out));
  return out;
}

[[noreturn]] void duplicate_on_one_side(const VectorSample& a, const VectorSample& b,
                                        const VectorMatching& m) {
  Labels match =
      m.on ? keep_only(a.labels, m.matching_labels) : drop(a.labels, m.matching_labels, true);
  std::string side = m.card == Cardinality::kOneToMany ? "left" : "right";
  fail_exec("found duplicate series for the match group " + labels_string(match) + " on the " +
            side + " hand-side of the operation: [" + labels_string(a.labels) + ", " +
            labels_string(b.labels) +
            "];many-to-many matching not allowed: matching labels must be unique on one side");
}

}  // namespace

double scalar_binop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kAtan2:
      return std::atan2(l, r);
    case BinaryOp::kEql:
      return l == r;
    case BinaryOp::kNeq:
      return l != r;
    case BinaryOp::kGtr:
      return l > r;
    case BinaryOp::kLss:
      return l < r;
    case BinaryOp::kGte:
      return l >= r;
    case BinaryOp::kLte:
      return l <= r;
    default:
      fail_exec("operator \"" + std::string(to_string(op)) +
                "\" not allowed for Scalar operations");
  }
}

Vector vector_scalar_binop(BinaryOp op, const Vector& lhs, double rhs, bool swap,
                           bool return_bool) {
  Vector out;
  for (const VectorSample& s : lhs) {
    double l = swap ? rhs : s.v;
    double r = swap ? s.v : rhs;
    bool keep = true;
    double v = elem_binop(op, l, r, keep);
    // A comparison keeps the vector's value even when it is on the right.
    if (is_comparison(op) && swap) v = r;
    if (return_bool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    Labels ls = drops_name(op) || return_bool ? without_name(s.labels) : s.labels;
    out.push_back({std::move(ls), s.t, v});
  }
  return out;
}

Vector vector_binop(const BinaryExpr& e, const Vector& lhs_in, const Vector& rhs_in) {
  const VectorMatching& m = *e.matching;
  if (is_set_operator(e.op)) return set_op(e.op, lhs_in, rhs_in, m);
  Vector out;
  if (lhs_in.empty() || rhs_in.empty()) return out;
  // One-to-many is many-to-one with the sides swapped.
  bool swapped = m.card == Cardinality::kOneToMany;
  const Vector& lhs = swapped ? rhs_in : lhs_in;
  const Vector& rhs = swapped ? lhs_in : rhs_in;
  std::unordered_map<std::string, const VectorSample*> right;
  for (const VectorSample& rs : rhs) {
    auto [it, fresh] = right.try_emplace(signature(rs.labels, m), &rs);
    if (!fresh) duplicate_on_one_side(rs, *it->second, m);
  }
  // Per match group: for one-to-one whether it matched, for many-to-one the
  // result label sets it produced.
  std::unordered_map<std::string, std::unordered_set<std::string>> matched;
  for (const VectorSample& ls : lhs) {
    std::string sig = signature(ls.labels, m);
    auto r = right.find(sig);
    if (r == right.end()) continue;
    const VectorSample& rs = *r->second;
    double vl = swapped ? rs.v : ls.v;
    double vr = swapped ? ls.v : rs.v;
    bool keep = true;
    double v = elem_binop(e.op, vl, vr, keep);
    if (e.return_bool) {
      v = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    Labels metric = result_metric(ls.labels, rs.labels, e);
    auto [group, fresh] = matched.try_emplace(sig);
    if (m.card == Cardinality::kOneToOne) {
      if (!fresh) {
        fail_exec(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else if (!group->second.insert(labels_key(metric)).second) {
      fail_exec("multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back({std::move(metric), ls.t, v});
  }
  return out;
}

}  // namespace flowdb::promql::detail
