// Label-set and number helpers of the evaluator (eval_internal.h), the parts
// of Prometheus's labels.Builder and strconv the evaluator needs.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "agent/promql/ast.h"
#include "eval_internal.h"

namespace flowdb::promql::detail {

void fail_exec(const std::string& message) { throw EvalError("execution", message); }

void fail_too_many_samples() {
  fail_exec("query processing would load too many samples into memory in query execution");
}

Labels without_name(Labels ls) {
  auto it = std::find_if(ls.begin(), ls.end(), [](const Label& l) { return l.name == "__name__"; });
  if (it != ls.end()) ls.erase(it);
  return ls;
}

namespace {
bool listed(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}
}  // namespace

Labels keep_only(const Labels& ls, const std::vector<std::string>& names) {
  Labels out;
  for (const Label& l : ls) {
    if (listed(names, l.name)) out.push_back(l);
  }
  return out;
}

Labels drop(const Labels& ls, const std::vector<std::string>& names, bool also_name) {
  Labels out;
  for (const Label& l : ls) {
    if (!listed(names, l.name) && !(also_name && l.name == "__name__")) out.push_back(l);
  }
  return out;
}

void set_label(Labels& ls, std::string_view name, std::string_view value) {
  auto it = std::lower_bound(ls.begin(), ls.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  bool present = it != ls.end() && it->name == name;
  if (value.empty()) {
    if (present) ls.erase(it);
  } else if (present) {
    it->value = std::string(value);
  } else {
    ls.insert(it, Label{std::string(name), std::string(value)});
  }
}

std::string labels_string(const Labels& ls) {
  std::string out = "{";
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i > 0) out += ", ";
    out += ls[i].name + "=" + quote(ls[i].value);
  }
  return out + "}";
}

std::string labels_key(const Labels& ls) {
  std::string key;
  for (const Label& l : ls) {
    key += l.name;
    key += '\xff';
    key += l.value;
    key += '\xff';
  }
  return key;
}

void check_unique(std::vector<const Labels*> ls) {
  std::sort(ls.begin(), ls.end(), [](const Labels* a, const Labels* b) { return *a < *b; });
  for (size_t i = 1; i < ls.size(); ++i) {
    if (*ls[i] == *ls[i - 1]) fail_exec("vector cannot contain metrics with the same labelset");
  }
}

bool valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string format_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest round-trip digits in fixed notation: Go's FormatFloat(v, 'f', -1, 64).
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

double quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  // Prometheus's vectorByValueHeap order: NaN first.
  std::sort(values.begin(), values.end(),
            [](double a, double b) { return (std::isnan(a) && !std::isnan(b)) || a < b; });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

}  // namespace flowdb::promql::detail
