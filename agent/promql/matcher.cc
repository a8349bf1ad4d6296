// Compiled label matchers (matcher.h) and label-set helpers (value.h).
#include "agent/promql/matcher.h"

#include <re2/re2.h>

#include <algorithm>
#include <stdexcept>

namespace flowdb::promql {

std::string_view label_value(const Labels& ls, std::string_view name) {
  auto it = std::lower_bound(ls.begin(), ls.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  return it != ls.end() && it->name == name ? std::string_view(it->value) : std::string_view();
}

Matcher::Matcher(const LabelMatcher& m) : Matcher(m.name, m.op, m.value) {}

Matcher::Matcher(std::string name, MatchOp op, std::string value)
    : name_(std::move(name)), op_(op), value_(std::move(value)) {
  if (op_ != MatchOp::kRegexMatch && op_ != MatchOp::kRegexNoMatch) return;
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_dot_nl(true);  // Prometheus compiles with (?s)
  // Fully anchored, as Prometheus's labels.NewFastRegexMatcher.
  re_ = std::make_unique<RE2>("^(?:" + value_ + ")$", opts);
  if (!re_->ok()) {
    throw std::invalid_argument("error parsing regexp: " + re_->error());
  }
}

Matcher::~Matcher() = default;
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;

bool Matcher::matches(std::string_view v) const {
  switch (op_) {
    case MatchOp::kEqual:
      return v == value_;
    case MatchOp::kNotEqual:
      return v != value_;
    case MatchOp::kRegexMatch:
      return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    case MatchOp::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
  }
  return false;
}

Matchers compile(const VectorSelector& sel) {
  Matchers out;
  out.reserve(sel.matchers.size() + 1);
  if (!sel.name.empty()) out.emplace_back("__name__", MatchOp::kEqual, sel.name);
  for (const LabelMatcher& m : sel.matchers) out.emplace_back(m);
  return out;
}

}  // namespace flowdb::promql
