// run_script (eval_test_util.h): Prometheus's promql/test.go commands over a
// MemQuerier, compared as its compareResult and almostEqual do.
#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "agent/promql/parser.h"
#include "eval_test_util.h"

namespace flowdb::promql::testing {
namespace {

bool almost_equal(double a, double b) {
  constexpr double kEpsilon = 0.000001;
  constexpr double kMinNormal = 2.2250738585072014e-308;
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || diff < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / (std::fabs(a) + std::fabs(b)) < kEpsilon;
}

std::string show(const Labels& ls) {
  std::string out = "{";
  for (const Label& l : ls) out += (out.size() > 1 ? ", " : "") + l.name + "=\"" + l.value + "\"";
  return out + "}";
}

struct EvalCmd {
  std::string query;
  int line = 0;
  int64_t t = 0;
  bool fail = false;
  bool ordered = false;
  bool scalar = false;
  double scalar_value = 0;
  std::vector<std::pair<Labels, double>> expected;  // in order
};

// compareResult: every element expected (at its position if ordered), with
// an almost equal value, and nothing else.
std::string compare(const EvalCmd& cmd, const Vector& got) {
  std::map<Labels, std::pair<size_t, double>> want;
  for (size_t i = 0; i < cmd.expected.size(); ++i) {
    want[cmd.expected[i].first] = {i, cmd.expected[i].second};
  }
  for (size_t i = 0; i < got.size(); ++i) {
    auto it = want.find(got[i].labels);
    if (it == want.end()) return "unexpected metric " + show(got[i].labels) + " in result";
    if (cmd.ordered && it->second.first != i) {
      return "metric " + show(got[i].labels) + " at position " + std::to_string(i);
    }
    if (!almost_equal(it->second.second, got[i].v)) {
      std::ostringstream os;
      os << "expected " << it->second.second << " for " << show(got[i].labels) << " but got "
         << got[i].v;
      return os.str();
    }
  }
  if (got.size() != want.size()) {
    return "expected " + std::to_string(want.size()) + " elements, got " +
           std::to_string(got.size());
  }
  return "";
}

std::string compare_value(const EvalCmd& cmd, const Value& v) {
  if (const auto* s = std::get_if<Scalar>(&v)) {
    if (!cmd.scalar) return "got a scalar";
    if (almost_equal(cmd.scalar_value, s->v)) return "";
    std::ostringstream os;
    os << "expected scalar " << cmd.scalar_value << " but got " << s->v;
    return os.str();
  }
  if (const auto* vec = std::get_if<Vector>(&v)) {
    if (cmd.scalar) return "expected a scalar, got a vector";
    return compare(cmd, *vec);
  }
  return "received a range or string result on instant evaluation";
}

// The instant evaluation, then the range evaluation's middle step.
std::string run_eval(const EvalCmd& cmd, const Expr& e, Querier& q) {
  Limits limits;
  Value v;
  try {
    v = eval_instant(e, q, cmd.t, limits);
  } catch (const EvalError& err) {
    return cmd.fail ? "" : std::string("error: ") + err.what();
  }
  if (cmd.fail) return "expected an error, got none";
  if (std::string r = compare_value(cmd, v); !r.empty()) return r;
  if (cmd.ordered) return "";  // ordering is not defined for range queries
  Matrix m;
  try {
    m = eval_range(e, q, cmd.t - 60000, cmd.t + 60000, 60000, limits);
  } catch (const EvalError& err) {
    return std::string("range mode error: ") + err.what();
  }
  Vector mid;
  for (const Series& s : m) {
    for (const Sample& p : s.samples) {
      if (p.t == cmd.t) mid.push_back({s.labels, p.t, p.v});
    }
  }
  Value rv = mid;
  if (cmd.scalar) rv = Scalar{cmd.t, mid.empty() ? NAN : mid[0].v};
  if (std::string r = compare_value(cmd, rv); !r.empty()) return "range mode: " + r;
  return "";
}

bool parse_plain_number(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    size_t b = l.find_first_not_of(" \t");
    size_t e = l.find_last_not_of(" \t\r");
    l = b == std::string::npos ? "" : l.substr(b, e - b + 1);
    if (!l.empty() && l[0] == '#') l.clear();
    lines.push_back(l);
  }
  return lines;
}

}  // namespace

ScriptResult run_script(const std::string& text) {
  static const std::regex kLoad(R"(^load\s+(.+?)$)");
  static const std::regex kEval(R"(^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$)");
  ScriptResult res;
  MemQuerier q;
  std::vector<std::string> lines = lines_of(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    std::smatch m;
    if (l.empty()) continue;
    if (l == "clear") {
      q.clear();
    } else if (std::regex_match(l, m, kLoad)) {
      int64_t gap = parse_duration_ms(m[1].str());
      for (; i + 1 < lines.size() && !lines[i + 1].empty(); ++i) {
        SeriesDesc d = parse_series_desc(lines[i + 1]);
        std::vector<Sample> samples;
        for (size_t k = 0; k < d.values.size(); ++k) {
          if (d.values[k].first)
            samples.push_back({static_cast<int64_t>(k) * gap, d.values[k].second});
        }
        q.add(d.labels, std::move(samples));
      }
    } else if (std::regex_match(l, m, kEval)) {
      EvalCmd cmd;
      cmd.fail = m[1] == "fail";
      cmd.ordered = m[1] == "ordered";
      cmd.t = parse_duration_ms(m[2].str());
      cmd.query = m[3].str();
      cmd.line = static_cast<int>(i + 1);
      for (; i + 1 < lines.size() && !lines[i + 1].empty(); ++i) {
        double v = 0;
        if (parse_plain_number(lines[i + 1], v)) {
          cmd.scalar = true;
          cmd.scalar_value = v;
          ++i;
          break;
        }
        SeriesDesc d = parse_series_desc(lines[i + 1]);
        cmd.expected.emplace_back(d.labels, d.values.empty() ? 0 : d.values[0].second);
      }
      ParseResult p = parse(cmd.query);
      if (!p.ok()) {
        ++res.skipped;
        res.skipped_queries.push_back("line " + std::to_string(cmd.line) + ": " + cmd.query + " (" +
                                      p.error().message + ")");
        continue;
      }
      std::string r = run_eval(cmd, p.expr(), q);
      res.outcomes.emplace_back("line " + std::to_string(cmd.line) + ": " + cmd.query, r);
      if (r.empty()) ++res.passed;
    } else {
      throw std::runtime_error("line " + std::to_string(i + 1) + ": unknown command " + l);
    }
  }
  return res;
}

}  // namespace flowdb::promql::testing
