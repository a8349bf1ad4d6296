#include "agent/ingest_context.h"

#include <chrono>
#include <limits>

#include "ingest/series_key.h"
#include "ingest/value_codec.h"

namespace flowdb::agent {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void IngestContext::parse_error(const std::string& input, const ingest::ParseError& e,
                                std::string_view where) const {
  std::string_view reason = ingest::reason_name(e.reason);
  metrics->parse_error(input, reason);
  metrics->dropped(input, reason);
  if (bad_input_log != nullptr) {
    std::string msg = "dropped bad input (" + std::string(reason) + ")";
    if (!where.empty()) msg += " from " + std::string(where);
    if (e.line_no) msg += " line " + std::to_string(e.line_no);
    if (e.column) msg += " column " + std::to_string(e.column);
    msg += ": " + e.message;
    bad_input_log->log(LogLevel::warn, input, input + "/" + std::string(reason), msg);
  }
}

bool RecordBuilder::add(const ingest::Point& p,
                        const std::shared_ptr<const retention::TtlRules>& rules,
                        std::vector<Record>* out) {
  prefix_.clear();
  if (!ingest::append_series_prefix(&prefix_, p.measurement,
                                    std::span<const ingest::Tag>(p.tags))) {
    return false;
  }
  if (rules != last_rules_ || p.measurement != last_measurement_) {
    last_rules_ = rules;
    last_measurement_ = p.measurement;
    last_ttl_ = rules->ttl_for(p.measurement);
  }
  int64_t expire_at = kNeverExpires;
  if (last_ttl_) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    uint64_t ttl_us = *last_ttl_ > static_cast<uint64_t>(kMax) / 1000000
                          ? static_cast<uint64_t>(kMax)
                          : *last_ttl_ * 1000000;
    expire_at = (p.ts_us > 0 && ttl_us > static_cast<uint64_t>(kMax - p.ts_us))
                    ? kMax
                    : p.ts_us + static_cast<int64_t>(ttl_us);
  }
  size_t first = out->size();
  for (const auto& [field, value] : p.fields) {
    Record r;
    r.key.reserve(prefix_.size() + field.size() + 2);
    r.key = prefix_;
    ingest::append_field_suffix(&r.key, field);
    if (!ingest::append_value(&r.value, value)) {
      out->resize(first);
      return false;
    }
    r.ts = p.ts_us;
    r.expire_at = expire_at;
    out->push_back(std::move(r));
  }
  return true;
}

}  // namespace flowdb::agent
