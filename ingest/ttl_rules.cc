#include "ingest/ttl_rules.h"

#include <fnmatch.h>

namespace flowdb::ingest {

std::optional<uint64_t> TtlRules::ttl_for(std::string_view measurement) const {
  std::string m(measurement);
  for (const auto& r : rules_) {
    if (::fnmatch(r.match.c_str(), m.c_str(), 0) == 0) return r.ttl_secs;
  }
  return default_ttl_;
}

}  // namespace flowdb::ingest
