#include "agent/core/ingest_context.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>

#include "ingest/series_key.h"
#include "ingest/value_codec.h"

namespace flowdb::agent {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Sender::str() const {
  if (peer == nullptr) return std::string(label);
  char host[INET6_ADDRSTRLEN] = "?";
  if (peer->ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(peer);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(peer);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
}

void IngestContext::parse_error(const std::string& input, const ingest::ParseError& e,
                                const Sender& from) const {
  std::string_view reason = ingest::reason_name(e.reason);
  metrics->parse_error(input, reason);
  if (e.line_no == 0) {
    metrics->payload_dropped(input, reason);  // the payload as a whole: points unknown
  } else {
    metrics->dropped(input, reason);
  }
  if (bad_input_log != nullptr) {
    std::string msg = "dropped bad input (" + std::string(reason) + ") from " + from.str();
    if (e.line_no) msg += " line " + std::to_string(e.line_no);
    if (e.column) msg += " column " + std::to_string(e.column);
    msg += ": " + e.message;
    bad_input_log->log(LogLevel::warn, input, input + "/" + std::string(reason), msg);
  }
}

void IngestContext::drop_points(const std::string& input, std::string_view reason, double n,
                                const Sender& from, std::string_view why) const {
  metrics->dropped(input, reason, n);
  if (bad_input_log == nullptr) return;
  char count[32];
  std::snprintf(count, sizeof count, "%.0f", n);
  bad_input_log->log(LogLevel::warn, input, input + "/" + std::string(reason),
                     "dropped " + std::string(count) + " point(s) (" + std::string(reason) +
                         ") from " + from.str() + ": " + std::string(why));
}

void IngestContext::drop_payload(const std::string& input, std::string_view reason,
                                 const Sender& from, std::string_view why) const {
  metrics->payload_dropped(input, reason);
  if (bad_input_log == nullptr) return;
  bad_input_log->log(LogLevel::warn, input, input + "/" + std::string(reason),
                     "dropped a payload (" + std::string(reason) + ") from " + from.str() + ": " +
                         std::string(why));
}

bool RecordBuilder::add(const ingest::Point& p,
                        const std::shared_ptr<const ingest::TtlRules>& rules,
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

void PayloadRecords::begin(std::shared_ptr<const ingest::TtlRules> rules, int64_t now_us,
                           Sender from) {
  rules_ = std::move(rules);
  now_us_ = now_us;
  from_ = from;
  payload_first_ = records_.size();
}

void PayloadRecords::add(const ingest::Point& p) {
  const size_t first = records_.size();
  if (!builder_.add(p, rules_, &records_) || records_.size() == first) return;
  if (records_[first].expire_at <= now_us_) {  // all records of a point share expire_at
    records_.resize(first);
    if (expired_++ == 0) {
      expired_ts_ = p.ts_us;
      expired_measurement_ = p.measurement;
    }
    return;
  }
  const auto point = static_cast<uint32_t>(live_.size());
  live_.push_back(static_cast<uint32_t>(records_.size() - first));
  owner_.insert(owner_.end(), records_.size() - first, point);
}

// Of the records of the payload with equal (key, ts), keeps the last.
void PayloadRecords::drop_overwritten() {
  keys_.clear();
  for (size_t i = payload_first_; i < records_.size(); ++i) {
    const Record& r = records_[i];
    const uint64_t h = std::hash<std::string_view>{}(r.key) ^
                       (static_cast<uint64_t>(r.ts) * 0x9E3779B97F4A7C15ull);
    keys_.emplace_back(h, static_cast<uint32_t>(i));
  }
  std::sort(keys_.begin(), keys_.end());  // equal hashes in record order
  std::vector<bool> dead(records_.size() - payload_first_, false);
  size_t overwritten = 0;
  for (size_t a = 0; a < keys_.size(); ++a) {
    const Record& x = records_[keys_[a].second];
    for (size_t b = a + 1; b < keys_.size() && keys_[b].first == keys_[a].first; ++b) {
      const Record& y = records_[keys_[b].second];
      if (x.ts == y.ts && x.key == y.key) {  // a later record overwrites x
        dead[keys_[a].second - payload_first_] = true;
        --live_[owner_[keys_[a].second - payload_first_]];
        ++overwritten;
        break;
      }
    }
  }
  if (overwritten == 0) return;
  size_t out = payload_first_;
  for (size_t i = payload_first_; i < records_.size(); ++i) {
    if (dead[i - payload_first_]) continue;
    if (out != i) records_[out] = std::move(records_[i]);
    ++out;
  }
  records_.resize(out);
}

void PayloadRecords::end() {
  if (live_.size() > 1) drop_overwritten();
  size_t gone = 0;
  for (uint32_t l : live_) gone += l == 0 ? 1 : 0;
  points_ += live_.size() - gone;
  if (gone > 0) {
    ctx_.drop_points(input_, "duplicate_timestamp", static_cast<double>(gone), from_,
                     "a later point of the payload has the same series, fields and timestamp "
                     "(timestamps are stored in microseconds; finer digits are cut off)");
  }
  if (expired_ > 0) {
    const auto ttl = rules_->ttl_for(expired_measurement_);
    ctx_.drop_points(input_, "expired", static_cast<double>(expired_), from_,
                     "older than their TTL, e.g. '" + expired_measurement_ + "' at ts_us " +
                         std::to_string(expired_ts_) + " (ttl " + std::to_string(ttl.value_or(0)) +
                         " s)");
  }
  owner_.clear();
  live_.clear();
  expired_ = 0;
  payload_first_ = records_.size();
}

std::vector<Record> PayloadRecords::take() {
  std::vector<Record> out = std::move(records_);
  records_ = {};
  records_.reserve(256);
  points_ = 0;
  payload_first_ = 0;
  owner_.clear();
  live_.clear();
  expired_ = 0;
  return out;
}

}  // namespace flowdb::agent
