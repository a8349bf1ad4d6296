// TtlRules: the TTL a stored point gets, by measurement. Assigned at ingest
// (the record's expire_at); the retention thread later drops the time buckets
// whose records have all expired.
//
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowdb::ingest {

// One rule: measurements matching the glob `match` (fnmatch(3) syntax) keep
// their points for `ttl_secs`.
struct TtlRule {
  std::string match;
  uint64_t ttl_secs = 0;
};

// The first rule whose glob matches, else default_ttl_secs, else none.
class TtlRules {
 public:
  TtlRules() = default;
  TtlRules(std::vector<TtlRule> rules, std::optional<uint64_t> default_ttl_secs)
      : rules_(std::move(rules)), default_ttl_(default_ttl_secs) {}
  std::optional<uint64_t> ttl_for(std::string_view measurement) const;
  const std::vector<TtlRule>& rules() const { return rules_; }
  std::optional<uint64_t> default_ttl() const { return default_ttl_; }

 private:
  std::vector<TtlRule> rules_;
  std::optional<uint64_t> default_ttl_;
};

}  // namespace flowdb::ingest
