// Aggregations (eval_internal.h), as Prometheus 2.42's evaluator.aggregation:
// groups in order of first appearance, the same running formulas (avg's
// incremental mean, stddev's Welford), and topk/bottomk on Go's heap so that
// ties keep the same elements Prometheus keeps.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "eval_internal.h"

namespace flowdb::promql::detail {
namespace {

struct Group {
  Labels labels;
  double value = 0;
  double mean = 0;
  size_t count = 0;
  Vector heap;  // topk, bottomk; quantile's values
};

// Go's container/heap on `less`, for topk (min-heap) and bottomk (max-heap).
template <typename Less>
void heap_up(Vector& h, size_t j, Less less) {
  while (j > 0) {
    size_t i = (j - 1) / 2;
    if (!less(h[j].v, h[i].v)) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}

template <typename Less>
void heap_down(Vector& h, size_t i, size_t n, Less less) {
  for (;;) {
    size_t j = 2 * i + 1;
    if (j >= n) break;
    if (j + 1 < n && less(h[j + 1].v, h[j].v)) ++j;
    if (!less(h[j].v, h[i].v)) break;
    std::swap(h[i], h[j]);
    i = j;
  }
}

// One topk/bottomk step: keep the k best by `less` (Prometheus's
// vectorByValueHeap / vectorByReverseValueHeap, NaN always "less").
template <typename Less>
void heap_offer(Vector& h, size_t k, const VectorSample& s, Less less) {
  if (!(h.size() < k || less(h[0].v, s.v) || std::isnan(h[0].v))) return;
  if (h.size() == k) {
    if (k == 1) {
      h[0] = s;
      return;
    }
    std::swap(h[0], h.back());
    heap_down(h, 0, h.size() - 1, less);
    h.pop_back();
  }
  h.push_back(s);
  heap_up(h, h.size() - 1, less);
}

bool top_less(double a, double b) { return std::isnan(a) || a < b; }
bool bottom_less(double a, double b) { return std::isnan(a) || a > b; }

Labels group_labels(const Labels& metric, const std::vector<std::string>& grouping, bool without) {
  if (without) return drop(metric, grouping, true);
  return keep_only(metric, grouping);
}

void accumulate(AggregateOp op, Group& g, const VectorSample& s, size_t k) {
  switch (op) {
    case AggregateOp::kSum:
      g.value += s.v;
      break;
    case AggregateOp::kAvg:
      ++g.count;
      if (std::isinf(g.mean)) {
        // Inf of the same sign stays; a finite value cannot change an Inf
        // mean (and subtracting it would give NaN).
        if (std::isinf(s.v) && (g.mean > 0) == (s.v > 0)) break;
        if (!std::isinf(s.v) && !std::isnan(s.v)) break;
      }
      g.mean += s.v / static_cast<double>(g.count) - g.mean / static_cast<double>(g.count);
      break;
    case AggregateOp::kMax:
      if (g.value < s.v || std::isnan(g.value)) g.value = s.v;
      break;
    case AggregateOp::kMin:
      if (g.value > s.v || std::isnan(g.value)) g.value = s.v;
      break;
    case AggregateOp::kCount:
    case AggregateOp::kCountValues:
      ++g.count;
      break;
    case AggregateOp::kStddev: {
      ++g.count;
      double delta = s.v - g.mean;
      g.mean += delta / static_cast<double>(g.count);
      g.value += delta * (s.v - g.mean);
      break;
    }
    case AggregateOp::kTopk:
      heap_offer(g.heap, k, s, top_less);
      break;
    case AggregateOp::kBottomk:
      heap_offer(g.heap, k, s, bottom_less);
      break;
    case AggregateOp::kQuantile:
      g.heap.push_back(s);
      break;
  }
}

// Appends a group's result: one sample, or topk/bottomk's elements best first.
void finish(AggregateOp op, Group& g, double q, Vector& out) {
  double v = g.value;
  switch (op) {
    case AggregateOp::kAvg:
      v = g.mean;
      break;
    case AggregateOp::kCount:
    case AggregateOp::kCountValues:
      v = static_cast<double>(g.count);
      break;
    case AggregateOp::kStddev:
      v = std::sqrt(g.value / static_cast<double>(g.count));
      break;
    case AggregateOp::kTopk:
    case AggregateOp::kBottomk: {
      bool top = op == AggregateOp::kTopk;
      std::stable_sort(g.heap.begin(), g.heap.end(),
                       [top](const VectorSample& a, const VectorSample& b) {
                         if (std::isnan(a.v) || std::isnan(b.v)) {
                           return !std::isnan(a.v) && std::isnan(b.v);
                         }
                         return top ? a.v > b.v : a.v < b.v;
                       });
      for (VectorSample& s : g.heap) out.push_back(std::move(s));
      return;
    }
    case AggregateOp::kQuantile: {
      std::vector<double> values;
      for (const VectorSample& s : g.heap) values.push_back(s.v);
      v = quantile(q, values);
      break;
    }
    default:
      break;
  }
  out.push_back({std::move(g.labels), 0, v});
}

}  // namespace

Vector aggregate(const AggregateExpr& e, double param, const std::string& label, const Vector& in) {
  AggregateOp op = e.op;
  size_t k = 0;
  if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk) {
    // Prometheus's convertibleToInt64.
    if (std::isnan(param) || param < -9.223372036854775e18 || param > 9.223372036854775e18) {
      fail_exec("Scalar value " + format_float(param) + " overflows int64");
    }
    auto kk = static_cast<int64_t>(param);
    if (kk < 1) return {};
    k = static_cast<size_t>(std::min<int64_t>(kk, std::numeric_limits<int32_t>::max()));
  }
  std::vector<std::string> grouping = e.grouping;
  if (op == AggregateOp::kCountValues) {
    if (!valid_label_name(label)) fail_exec("invalid label name " + quote(label));
    if (!e.without) grouping.push_back(label);
  }
  std::unordered_map<std::string, size_t> index;
  std::vector<Group> groups;
  std::string key;
  for (const VectorSample& in_s : in) {
    const VectorSample* s = &in_s;
    VectorSample relabelled;
    if (op == AggregateOp::kCountValues) {
      relabelled = in_s;
      set_label(relabelled.labels, label, format_float(in_s.v));
      s = &relabelled;
    }
    // The group's key (labels_key of its label set), built in a reused
    // buffer: the label set itself is made only for a new group.
    key.clear();
    for (const Label& l : s->labels) {
      const bool listed = std::find(grouping.begin(), grouping.end(), l.name) != grouping.end();
      if (e.without ? (listed || l.name == "__name__") : !listed) continue;
      key += l.name;
      key += '\xff';
      key += l.value;
      key += '\xff';
    }
    if (auto found = index.find(key); found != index.end()) {
      accumulate(op, groups[found->second], *s, k);
      continue;
    }
    index.emplace(key, groups.size());
    Group g;
    g.labels = group_labels(s->labels, grouping, e.without);
    g.value = op == AggregateOp::kStddev ? 0 : s->v;
    g.mean = s->v;
    g.count = 1;
    if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk || op == AggregateOp::kQuantile) {
      g.heap.push_back(*s);
    }
    groups.push_back(std::move(g));
  }
  Vector out;
  for (Group& g : groups) finish(op, g, param, out);
  return out;
}

}  // namespace flowdb::promql::detail
