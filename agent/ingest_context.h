// What every input needs to turn parsed points into engine records and hand
// them to the batcher: the batcher, metrics, the current TTL rules and a
// rate-limited logger for bad input.
//
// Thread-safety: IngestContext is shared by all inputs; every member is
// thread-safe. RecordBuilder is per thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/batcher.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "flowdb/record.h"
#include "ingest/parse_error.h"
#include "ingest/point.h"
#include "retention.h"

namespace flowdb::agent {

// The TTL rules in force; SIGHUP replaces them (new data only).
class TtlPolicy {
 public:
  TtlPolicy() : rules_(std::make_shared<retention::TtlRules>()) {}
  std::shared_ptr<const retention::TtlRules> get() const {
    std::lock_guard lock(mu_);
    return rules_;
  }
  void set(retention::TtlRules r) {
    auto p = std::make_shared<const retention::TtlRules>(std::move(r));
    std::lock_guard lock(mu_);
    rules_ = std::move(p);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const retention::TtlRules> rules_;  // guarded by mu_
};

struct IngestContext {
  Batcher* batcher = nullptr;
  Metrics* metrics = nullptr;
  TtlPolicy* ttl = nullptr;
  RateLimiter* bad_input_log = nullptr;

  // Counts a parse error and logs it (rate-limited per input and reason).
  void parse_error(const std::string& input, const ingest::ParseError& e,
                   std::string_view where) const;
};

// Converts points into records: one per field, key = series key, value =
// value codec, expire_at from the TTL rules of the measurement.
class RecordBuilder {
 public:
  // Appends the records of `p` to *out. Returns false (appending nothing) if
  // the point cannot be stored (unsorted tags or NaN, which parsers never emit).
  bool add(const ingest::Point& p, const std::shared_ptr<const retention::TtlRules>& rules,
           std::vector<Record>* out);

 private:
  std::string prefix_;
  std::string last_measurement_;
  std::optional<uint64_t> last_ttl_;
  std::shared_ptr<const retention::TtlRules> last_rules_;  // keeps the cache key alive
};

// Microseconds since the Unix epoch (system clock).
int64_t now_us();

}  // namespace flowdb::agent
