// Function implementations (eval_internal.h), as Prometheus 2.42's
// promql/functions.go and quantile.go for float samples.
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "eval_internal.h"

namespace flowdb::promql::detail {
namespace {

// --- Range-vector functions -------------------------------------------------

// Prometheus's extrapolatedRate for rate, increase and delta: the change over
// the samples, corrected for counter resets, extrapolated to the window's
// edges when the first/last sample is near them (within 1.1 average
// intervals), else by half an interval, and never below a counter's zero.
bool extrapolated_rate(const RangeInput& in, bool counter, bool rate, double& out) {
  const auto& p = in.points;
  if (p.size() < 2) return false;
  int64_t range_start = in.ts - (in.range + in.offset);
  int64_t range_end = in.ts - in.offset;
  double result = p.back().v - p.front().v;
  if (counter) {
    for (size_t i = 1; i < p.size(); ++i) {
      if (p[i].v < p[i - 1].v) result += p[i - 1].v;
    }
  }
  double to_start = static_cast<double>(p.front().t - range_start) / 1000;
  double to_end = static_cast<double>(range_end - p.back().t) / 1000;
  double sampled = static_cast<double>(p.back().t - p.front().t) / 1000;
  double avg_interval = sampled / static_cast<double>(p.size() - 1);
  if (counter && result > 0 && p.front().v >= 0) {
    double to_zero = sampled * (p.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  double threshold = avg_interval * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg_interval / 2;
  interval += to_end < threshold ? to_end : avg_interval / 2;
  double factor = interval / sampled;
  if (rate) factor /= static_cast<double>(in.range) / 1000;
  out = result * factor;
  return true;
}

bool f_rate(const RangeInput& in, double& out) { return extrapolated_rate(in, true, true, out); }
bool f_increase(const RangeInput& in, double& out) {
  return extrapolated_rate(in, true, false, out);
}
bool f_delta(const RangeInput& in, double& out) { return extrapolated_rate(in, false, false, out); }

// Prometheus's instantValue: the last two samples.
bool instant_value(const RangeInput& in, bool rate, double& out) {
  const auto& p = in.points;
  if (p.size() < 2) return false;
  const Sample& last = p[p.size() - 1];
  const Sample& prev = p[p.size() - 2];
  double v = rate && last.v < prev.v ? last.v : last.v - prev.v;
  int64_t interval = last.t - prev.t;
  if (interval == 0) return false;
  if (rate) v /= static_cast<double>(interval) / 1000;
  out = v;
  return true;
}

bool f_irate(const RangeInput& in, double& out) { return instant_value(in, true, out); }
bool f_idelta(const RangeInput& in, double& out) { return instant_value(in, false, out); }

// Prometheus's linearRegression (Kahan sums, a constant series has slope 0)
// with the intercept at the first sample; deriv is its slope.
bool f_deriv(const RangeInput& in, double& out) {
  const auto& p = in.points;
  if (p.size() < 2) return false;
  double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
  bool const_y = true;
  for (size_t i = 0; i < p.size(); ++i) {
    if (const_y && i > 0 && p[i].v != p[0].v) const_y = false;
    n += 1;
    double x = static_cast<double>(p[i].t - p[0].t) / 1e3;
    kahan_inc(x, sx, cx);
    kahan_inc(p[i].v, sy, cy);
    kahan_inc(x * p[i].v, sxy, cxy);
    kahan_inc(x * x, sx2, cx2);
  }
  if (const_y) {
    out = std::isinf(p[0].v) ? NAN : 0;
    return true;
  }
  sx += cx;
  sy += cy;
  sxy += cxy;
  sx2 += cx2;
  double cov = sxy - sx * sy / n;
  double var = sx2 - sx * sx / n;
  out = cov / var;
  return true;
}

bool f_resets(const RangeInput& in, double& out) {
  int n = 0;
  for (size_t i = 1; i < in.points.size(); ++i) n += in.points[i].v < in.points[i - 1].v;
  out = n;
  return true;
}

bool f_changes(const RangeInput& in, double& out) {
  int n = 0;
  for (size_t i = 1; i < in.points.size(); ++i) {
    double cur = in.points[i].v;
    double prev = in.points[i - 1].v;
    if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++n;
  }
  out = n;
  return true;
}

bool f_avg_over_time(const RangeInput& in, double& out) {
  double mean = 0, count = 0, c = 0;
  for (const Sample& s : in.points) {
    count += 1;
    if (std::isinf(mean)) {
      if (std::isinf(s.v) && (mean > 0) == (s.v > 0)) continue;
      if (!std::isinf(s.v) && !std::isnan(s.v)) continue;
    }
    kahan_inc(s.v / count - mean / count, mean, c);
  }
  out = std::isinf(mean) ? mean : mean + c;
  return true;
}

bool f_count_over_time(const RangeInput& in, double& out) {
  out = static_cast<double>(in.points.size());
  return true;
}

bool f_last_over_time(const RangeInput& in, double& out) {
  out = in.points.back().v;
  return true;
}

bool f_max_over_time(const RangeInput& in, double& out) {
  double m = in.points[0].v;
  for (const Sample& s : in.points) {
    if (s.v > m || std::isnan(m)) m = s.v;
  }
  out = m;
  return true;
}

bool f_min_over_time(const RangeInput& in, double& out) {
  double m = in.points[0].v;
  for (const Sample& s : in.points) {
    if (s.v < m || std::isnan(m)) m = s.v;
  }
  out = m;
  return true;
}

bool f_sum_over_time(const RangeInput& in, double& out) {
  double sum = 0, c = 0;
  for (const Sample& s : in.points) kahan_inc(s.v, sum, c);
  out = std::isinf(sum) ? sum : sum + c;
  return true;
}

bool f_quantile_over_time(const RangeInput& in, double& out) {
  std::vector<double> values;
  values.reserve(in.points.size());
  for (const Sample& s : in.points) values.push_back(s.v);
  out = quantile(in.scalars[0], values);
  return true;
}

bool f_stddev_over_time(const RangeInput& in, double& out) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const Sample& s : in.points) {
    count += 1;
    double delta = s.v - (mean + c_mean);
    kahan_inc(delta / count, mean, c_mean);
    kahan_inc(delta * (s.v - (mean + c_mean)), aux, c_aux);
  }
  out = std::sqrt((aux + c_aux) / count);
  return true;
}

// --- Instant-vector functions -----------------------------------------------

// Go's math.Max and math.Min: NaN wins, then the infinities.
double go_max(double a, double b) {
  if (std::isinf(a) && a > 0) return a;
  if (std::isinf(b) && b > 0) return b;
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return a > b ? a : b;
}
double go_min(double a, double b) {
  if (std::isinf(a) && a < 0) return a;
  if (std::isinf(b) && b < 0) return b;
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return a < b ? a : b;
}

// An element-wise function that drops the metric name (simpleFunc).
template <typename F>
Vector map_values(const Vector& in, F f) {
  Vector out;
  out.reserve(in.size());
  for (const VectorSample& s : in) out.push_back({without_name(s.labels), s.t, f(s)});
  return out;
}

double scalar_arg(const std::vector<Vector>& args, size_t i) {
  return i < args.size() && !args[i].empty() ? args[i][0].v : 0;
}

const std::string& string_arg(const Call& c, size_t i) {
  const Expr* e = c.args[i].get();
  while (const ParenExpr* p = e->as<ParenExpr>()) e = p->expr.get();
  return e->as<StringLiteral>()->value;
}

VectorFn simple(double (*f)(double)) {
  return [f](const std::vector<Vector>& a, int64_t) {
    return map_values(a[0], [f](const VectorSample& s) { return f(s.v); });
  };
}

VectorFn clamp_fn(std::string_view name) {
  if (name == "clamp") {
    return [](const std::vector<Vector>& a, int64_t) {
      double lo = scalar_arg(a, 1);
      double hi = scalar_arg(a, 2);
      if (hi < lo) return Vector{};
      return map_values(a[0],
                        [lo, hi](const VectorSample& s) { return go_max(lo, go_min(hi, s.v)); });
    };
  }
  if (name == "clamp_max") {
    return [](const std::vector<Vector>& a, int64_t) {
      double hi = scalar_arg(a, 1);
      return map_values(a[0], [hi](const VectorSample& s) { return go_min(hi, s.v); });
    };
  }
  return [](const std::vector<Vector>& a, int64_t) {
    double lo = scalar_arg(a, 1);
    return map_values(a[0], [lo](const VectorSample& s) { return go_max(lo, s.v); });
  };
}

VectorFn round_fn(size_t nargs) {
  return [nargs](const std::vector<Vector>& a, int64_t) {
    double to_nearest = nargs >= 2 ? scalar_arg(a, 1) : 1;
    // Prometheus divides by the inverse: fewer accuracy issues.
    double inv = 1.0 / to_nearest;
    return map_values(a[0],
                      [inv](const VectorSample& s) { return std::floor(s.v * inv + 0.5) / inv; });
  };
}

// Go's regexp.Expand template syntax: $1, ${1}, $name, ${name}, $$.
bool expand_name(std::string_view t, size_t& i, std::string& name) {
  bool brace = i < t.size() && t[i] == '{';
  size_t j = i + (brace ? 1 : 0);
  size_t begin = j;
  while (j < t.size() && (std::isalnum(static_cast<unsigned char>(t[j])) || t[j] == '_')) ++j;
  if (j == begin) return false;
  name = std::string(t.substr(begin, j - begin));
  if (brace) {
    if (j >= t.size() || t[j] != '}') return false;
    ++j;
  }
  i = j;
  return true;
}

int group_number(const std::string& name) {
  if (name.size() > 1 && name[0] == '0') return -1;
  long n = 0;
  for (char c : name) {
    if (c < '0' || c > '9' || n >= 100000000) return -1;
    n = n * 10 + (c - '0');
  }
  return static_cast<int>(n);
}

std::string expand(const RE2& re, std::string_view tmpl, const std::vector<re2::StringPiece>& m) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t d = tmpl.find('$', i);
    if (d == std::string_view::npos) break;
    out.append(tmpl.substr(i, d - i));
    i = d + 1;
    if (i < tmpl.size() && tmpl[i] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    if (!expand_name(tmpl, i, name)) {
      out += '$';  // malformed: the $ is text
      continue;
    }
    int num = group_number(name);
    if (num < 0) {
      auto it = re.NamedCapturingGroups().find(name);
      num = it == re.NamedCapturingGroups().end() ? -1 : it->second;
    }
    if (num >= 0 && static_cast<size_t>(num) < m.size() && m[num].data() != nullptr) {
      out.append(m[num].data(), m[num].size());
    }
  }
  if (i < tmpl.size()) out.append(tmpl.substr(i));
  return out;
}

VectorFn label_replace_fn(const Call& c) {
  std::string dst = string_arg(c, 1);
  std::string repl = string_arg(c, 2);
  std::string src = string_arg(c, 3);
  std::string regex = string_arg(c, 4);
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_shared<RE2>("^(?:" + regex + ")$", opts);
  if (!re->ok()) fail_exec("invalid regular expression in label_replace(): " + regex);
  if (!valid_label_name(dst))
    fail_exec("invalid destination label name in label_replace(): " + dst);
  return [re, dst, repl, src](const std::vector<Vector>& a, int64_t) {
    Vector out;
    std::vector<re2::StringPiece> m(re->NumberOfCapturingGroups() + 1);
    for (const VectorSample& s : a[0]) {
      std::string_view v = label_value(s.labels, src);
      re2::StringPiece text(v.data(), v.size());
      VectorSample r{s.labels, s.t, s.v};
      if (re->Match(text, 0, text.size(), RE2::ANCHOR_BOTH, m.data(), static_cast<int>(m.size()))) {
        set_label(r.labels, dst, expand(*re, repl, m));
      }
      out.push_back(std::move(r));
    }
    return out;
  };
}

}  // namespace

// histogram_quantile over classic buckets (eval_histogram.cc).
Vector histogram_quantile(double q, const Vector& in);

RangeFn range_function(std::string_view name) {
  static const std::map<std::string_view, RangeFn> kFns = {
      {"rate", f_rate},
      {"increase", f_increase},
      {"delta", f_delta},
      {"irate", f_irate},
      {"idelta", f_idelta},
      {"deriv", f_deriv},
      {"resets", f_resets},
      {"changes", f_changes},
      {"avg_over_time", f_avg_over_time},
      {"count_over_time", f_count_over_time},
      {"last_over_time", f_last_over_time},
      {"max_over_time", f_max_over_time},
      {"min_over_time", f_min_over_time},
      {"sum_over_time", f_sum_over_time},
      {"quantile_over_time", f_quantile_over_time},
      {"stddev_over_time", f_stddev_over_time},
  };
  auto it = kFns.find(name);
  return it == kFns.end() ? nullptr : it->second;
}

VectorFn vector_function(const Call& c) {
  std::string_view f = c.func;
  if (f == "abs") return simple([](double v) { return std::fabs(v); });
  if (f == "ceil") return simple([](double v) { return std::ceil(v); });
  if (f == "floor") return simple([](double v) { return std::floor(v); });
  if (f == "round") return round_fn(c.args.size());
  if (f == "clamp" || f == "clamp_min" || f == "clamp_max") return clamp_fn(f);
  if (f == "label_replace") return label_replace_fn(c);
  if (f == "timestamp") {
    return [](const std::vector<Vector>& a, int64_t) {
      return map_values(a[0],
                        [](const VectorSample& s) { return static_cast<double>(s.t) / 1000; });
    };
  }
  if (f == "vector") {
    return [](const std::vector<Vector>& a, int64_t) { return Vector{{{}, 0, scalar_arg(a, 0)}}; };
  }
  if (f == "scalar") {
    return [](const std::vector<Vector>& a, int64_t) {
      return Vector{{{}, 0, a[0].size() == 1 ? a[0][0].v : NAN}};
    };
  }
  if (f == "time") {
    return [](const std::vector<Vector>&, int64_t ts) {
      return Vector{{{}, 0, static_cast<double>(ts) / 1000}};
    };
  }
  if (f == "histogram_quantile") {
    return [](const std::vector<Vector>& a, int64_t) {
      return histogram_quantile(scalar_arg(a, 0), a[1]);
    };
  }
  throw EvalError("bad_data", "function \"" + c.func + "\" is not supported");
}

}  // namespace flowdb::promql::detail
