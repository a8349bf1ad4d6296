// A label matcher compiled for evaluation: `=`, `!=`, and fully anchored RE2
// `=~` / `!~` (Prometheus's labels.Matcher). A missing label matches as "".
//
// Thread-safety: const methods may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/promql/ast.h"
#include "agent/promql/value.h"

namespace re2 {
class RE2;
}

namespace flowdb::promql {

class Matcher {
 public:
  // Throws std::invalid_argument with Prometheus's wording
  // ("error parsing regexp: ...") if a regular expression does not compile.
  explicit Matcher(const LabelMatcher& m);
  Matcher(std::string name, MatchOp op, std::string value);
  ~Matcher();
  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;

  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }

  // Whether a label value (or "" for a missing label) matches.
  bool matches(std::string_view v) const;
  // Whether the series with labels `ls` matches (its `name()` label, or "").
  bool matches(const Labels& ls) const { return matches(label_value(ls, name_)); }

 private:
  std::string name_;
  MatchOp op_;
  std::string value_;
  std::unique_ptr<re2::RE2> re_;  // for =~ and !~
};

using Matchers = std::vector<Matcher>;

// Compiles a selector's matchers, adding __name__="name" for a name written
// outside the braces. Throws std::invalid_argument as Matcher does.
Matchers compile(const VectorSelector& sel);

}  // namespace flowdb::promql
