// The in-memory Querier and the promql test-script runner (eval_test_util.h),
// after Prometheus's promql/test.go (Apache-2.0).
#include "eval_test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "agent/promql/parser.h"

namespace flowdb::promql::testing {

void MemQuerier::add(Labels ls, std::vector<Sample> samples) {
  std::sort(ls.begin(), ls.end());
  for (Series& s : series_) {
    if (s.labels != ls) continue;
    s.samples.insert(s.samples.end(), samples.begin(), samples.end());
    std::stable_sort(s.samples.begin(), s.samples.end(),
                     [](const Sample& a, const Sample& b) { return a.t < b.t; });
    return;
  }
  series_.push_back({std::move(ls), std::move(samples)});
}

void MemQuerier::select(const Matchers& matchers, int64_t mint, int64_t maxt,
                        const std::function<bool(Series&&)>& fn) {
  calls.emplace_back(mint, maxt);
  for (const Series& s : series_) {
    bool ok = std::all_of(matchers.begin(), matchers.end(),
                          [&](const Matcher& m) { return m.matches(s.labels); });
    if (!ok) continue;
    Series out{s.labels, {}};
    for (const Sample& p : s.samples) {
      if (p.t >= mint && p.t <= maxt) out.samples.push_back(p);
    }
    if (!out.samples.empty() && !fn(std::move(out))) return;
  }
}

Labels labels(std::initializer_list<std::pair<std::string, std::string>> l) {
  Labels out;
  for (const auto& [n, v] : l) out.push_back({n, v});
  std::sort(out.begin(), out.end());
  return out;
}

int64_t parse_duration_ms(std::string_view s) {
  if (s == "0") return 0;
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) throw std::runtime_error("bad duration: " + std::string(s));
    int64_t n = std::stoll(std::string(s.substr(i, j - i)));
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string_view unit = s.substr(j, k - j);
    static const std::map<std::string_view, int64_t> kUnits = {
        {"ms", 1},       {"s", 1000},           {"m", 60000},           {"h", 3600000},
        {"d", 86400000}, {"w", 7 * 86400000LL}, {"y", 365 * 86400000LL}};
    auto u = kUnits.find(unit);
    if (u == kUnits.end()) throw std::runtime_error("bad duration unit: " + std::string(s));
    total += n * u->second;
    i = k;
  }
  return total;
}

namespace {

double parse_number(const std::string& s) {
  if (s == "stale") return stale_nan();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) throw std::runtime_error("bad number: " + s);
  return v;
}

// One value token: `_`, `_xN`, `v`, `vxN`, `v+dxN`, `v-dxN` (N+1 values).
void parse_value_token(const std::string& t, SeriesDesc& d) {
  size_t x = t.rfind('x');
  bool times = x != std::string::npos && x + 1 < t.size() && x > 0 &&
               std::all_of(t.begin() + static_cast<long>(x) + 1, t.end(),
                           [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (t == "_") {
    d.values.push_back({false, 0});
    return;
  }
  if (!times) {
    d.values.push_back({true, parse_number(t)});
    return;
  }
  int n = std::stoi(t.substr(x + 1));
  std::string head = t.substr(0, x);
  if (head == "_") {
    for (int i = 0; i < n; ++i) d.values.push_back({false, 0});
    return;
  }
  size_t split = std::string::npos;
  for (size_t i = 1; i < head.size(); ++i) {
    if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E') split = i;
  }
  double v = parse_number(head.substr(0, split));
  double inc = split == std::string::npos ? 0 : parse_number(head.substr(split));
  for (int i = 0; i <= n; ++i) {
    d.values.push_back({true, v});
    v += inc;
  }
}

std::string parse_quoted(std::string_view s, size_t& i) {
  char q = s[i++];
  std::string out;
  while (i < s.size() && s[i] != q) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char e = s[++i];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
    } else {
      out += s[i];
    }
    ++i;
  }
  ++i;
  return out;
}

// `name{l="v", ...}`; returns the index after the metric.
size_t parse_metric(std::string_view s, Labels& out) {
  size_t i = 0;
  auto name_char = [](char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
  };
  while (i < s.size() && name_char(s[i], i == 0)) ++i;
  if (i > 0) out.push_back({"__name__", std::string(s.substr(0, i))});
  if (i < s.size() && s[i] == '{') {
    ++i;
    for (;;) {
      while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
      if (i >= s.size()) throw std::runtime_error("unterminated labels");
      if (s[i] == '}') {
        ++i;
        break;
      }
      size_t b = i;
      while (i < s.size() && name_char(s[i], i == b)) ++i;
      std::string name(s.substr(b, i - b));
      while (i < s.size() && s[i] == ' ') ++i;
      if (i >= s.size() || s[i] != '=') throw std::runtime_error("bad label in " + std::string(s));
      ++i;
      while (i < s.size() && s[i] == ' ') ++i;
      std::string value = parse_quoted(s, i);
      if (!value.empty()) out.push_back({name, value});
    }
  }
  std::sort(out.begin(), out.end());
  return i;
}

}  // namespace

SeriesDesc parse_series_desc(std::string_view line) {
  SeriesDesc d;
  size_t i = parse_metric(line, d.labels);
  std::istringstream rest{std::string(line.substr(i))};
  std::string tok;
  while (rest >> tok) parse_value_token(tok, d);
  return d;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace flowdb::promql::testing
