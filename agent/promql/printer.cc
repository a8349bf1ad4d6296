// to_string (canonical PromQL, as Prometheus's printer.go) and dump (every
// field, for tests) of an expression tree.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "agent/promql/ast.h"
#include "duration_units.h"

namespace flowdb::promql {
namespace {

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string join(const std::vector<std::string>& labels) {
  std::string out;
  for (const std::string& l : labels) out += (out.empty() ? "" : ", ") + l;
  return out;
}

std::string selector_string(const VectorSelector& vs) {
  std::string out = vs.name;
  if (!vs.matchers.empty() || vs.name.empty()) {
    out += "{";
    for (std::size_t i = 0; i < vs.matchers.size(); ++i) {
      const LabelMatcher& m = vs.matchers[i];
      out += (i ? ", " : "") + m.name + std::string(to_string(m.op)) + quote(m.value);
    }
    out += "}";
  }
  return out;
}

std::string offset_string(const std::optional<Duration>& off) {
  return off ? " offset " + format_duration(*off) : "";
}

std::string matching_string(const BinaryExpr& b) {
  if (!b.matching) return "";
  const VectorMatching& m = *b.matching;
  bool grouped = m.card == Cardinality::kManyToOne || m.card == Cardinality::kOneToMany;
  std::string out;
  if (!m.matching_labels.empty() || m.on || grouped) {
    out += std::string(m.on ? " on" : " ignoring") + " (" + join(m.matching_labels) + ")";
  }
  if (grouped) {
    out += std::string(m.card == Cardinality::kManyToOne ? " group_left" : " group_right") + " (" +
           join(m.include) + ")";
  }
  return out;
}

struct Printer {
  std::string operator()(const NumberLiteral& n) const { return format_number(n.value); }
  std::string operator()(const StringLiteral& s) const { return quote(s.value); }
  std::string operator()(const VectorSelector& vs) const {
    return selector_string(vs) + offset_string(vs.offset);
  }
  std::string operator()(const MatrixSelector& m) const {
    return selector_string(m.selector) + "[" + format_duration(m.range) + "]" +
           offset_string(m.selector.offset);
  }
  std::string operator()(const SubqueryExpr& s) const {
    std::string step = s.step.count() ? format_duration(s.step) : "";
    return to_string(*s.expr) + "[" + format_duration(s.range) + ":" + step + "]" +
           offset_string(s.offset);
  }
  std::string operator()(const Call& c) const {
    std::string out = c.func + "(";
    for (std::size_t i = 0; i < c.args.size(); ++i) out += (i ? ", " : "") + to_string(*c.args[i]);
    return out + ")";
  }
  std::string operator()(const AggregateExpr& a) const {
    std::string out(to_string(a.op));
    if (a.without || !a.grouping.empty()) {
      out += std::string(a.without ? " without" : " by") + " (" + join(a.grouping) + ") ";
    }
    out += "(";
    if (a.param) out += to_string(*a.param) + ", ";
    return out + to_string(*a.expr) + ")";
  }
  std::string operator()(const BinaryExpr& b) const {
    return to_string(*b.lhs) + " " + std::string(to_string(b.op)) + (b.return_bool ? " bool" : "") +
           matching_string(b) + " " + to_string(*b.rhs);
  }
  std::string operator()(const UnaryExpr& u) const {
    return (u.negate ? "-" : "+") + to_string(*u.expr);
  }
  std::string operator()(const ParenExpr& p) const { return "(" + to_string(*p.expr) + ")"; }
};

std::string dump_matching(const std::optional<VectorMatching>& m) {
  if (!m) return "";
  static constexpr const char* kCard[] = {"one-to-one", "many-to-one", "one-to-many",
                                          "many-to-many"};
  return std::string(" ") + kCard[static_cast<int>(m->card)] + (m->on ? " on(" : " ignoring(") +
         join(m->matching_labels) + ") include(" + join(m->include) + ")";
}

struct Dumper {
  std::string operator()(const NumberLiteral& n) const { return format_number(n.value); }
  std::string operator()(const StringLiteral& s) const { return quote(s.value); }
  std::string operator()(const VectorSelector& vs) const {
    std::string out = "(selector " + (vs.name.empty() ? "-" : vs.name);
    for (const LabelMatcher& m : vs.matchers) {
      out += " " + m.name + std::string(to_string(m.op)) + quote(m.value);
    }
    return out + offset_string(vs.offset) + ")";
  }
  std::string operator()(const MatrixSelector& m) const {
    return "(matrix " + (*this)(m.selector) + " " + format_duration(m.range) + ")";
  }
  std::string operator()(const SubqueryExpr& s) const {
    return "(subquery " + dump(*s.expr) + " " + format_duration(s.range) + " " +
           format_duration(s.step) + offset_string(s.offset) + ")";
  }
  std::string operator()(const Call& c) const {
    std::string out = "(call " + c.func;
    for (const ExprPtr& a : c.args) out += " " + dump(*a);
    return out + ")";
  }
  std::string operator()(const AggregateExpr& a) const {
    std::string out = "(" + std::string(to_string(a.op));
    if (a.without || !a.grouping.empty()) {
      out += std::string(a.without ? " without(" : " by(") + join(a.grouping) + ")";
    }
    if (a.param) out += " " + dump(*a.param);
    return out + " " + dump(*a.expr) + ")";
  }
  std::string operator()(const BinaryExpr& b) const {
    return "(" + std::string(to_string(b.op)) + (b.return_bool ? " bool" : "") +
           dump_matching(b.matching) + " " + dump(*b.lhs) + " " + dump(*b.rhs) + ")";
  }
  std::string operator()(const UnaryExpr& u) const {
    return std::string(u.negate ? "(neg " : "(pos ") + dump(*u.expr) + ")";
  }
  std::string operator()(const ParenExpr& p) const { return "(paren " + dump(*p.expr) + ")"; }
};

}  // namespace

std::string to_string(const Expr& e) { return std::visit(Printer{}, e.node); }
std::string dump(const Expr& e) { return std::visit(Dumper{}, e.node); }

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) out = "-", ms = -ms;
  for (const auto& [unit, size] : internal::kDurationUnits) {
    if (ms >= size) {
      out += std::to_string(ms / size) + std::string(unit);
      ms %= size;
    }
  }
  return out;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    static constexpr std::string_view kFrom = "\a\b\f\n\r\t\v\\\"";
    static constexpr std::string_view kTo = "abfnrtv\\\"";
    if (auto k = kFrom.find(static_cast<char>(c)); c != 0 && k != std::string_view::npos) {
      out += '\\';
      out += kTo[k];
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
      bool valid = c >= 0x80 && n > 0 && i + n <= s.size();
      for (std::size_t k = 1; valid && k < n; ++k) {
        valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      }
      if (valid) {
        out.append(s.substr(i, n));
        i += n - 1;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
    }
  }
  return out + "\"";
}

}  // namespace flowdb::promql
