// The reference model of the engine's semantics (a std::map of (key, ts) ->
// (value, expire_at)) and record printers, shared by the randomized model
// test and the regression scenarios.
#pragma once

#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowdb/engine.h"

namespace flowdb::testing {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTs = std::numeric_limits<int64_t>::max();

inline std::string esc(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

inline std::string show(const Record& r) {
  std::string v = r.value.size() > 24
                      ? r.value.substr(0, 24) + "...(" + std::to_string(r.value.size()) + "B)"
                      : r.value;
  return "{" + esc(r.key) + "," + std::to_string(r.ts) + ",exp=" +
         (r.expire_at == kNeverExpires ? std::string("never") : std::to_string(r.expire_at)) + "," +
         esc(v) + "}";
}

inline std::string show(const std::optional<Record>& r) {
  return r ? show(*r) : std::string("none");
}

inline std::string show(const std::vector<Record>& rs) {
  std::string out = "[" + std::to_string(rs.size()) + "]";
  for (const auto& r : rs) out += " " + show(r);
  return out;
}

inline std::string show(const ScanRange& r) {
  return "range{start=" + esc(r.start_key) + ",end=" + (r.end_key ? esc(*r.end_key) : "none") +
         ",ts=[" + std::to_string(r.ts_start) + "," + std::to_string(r.ts_end) + "]}";
}

// Saturating ts + ttl (the engine's documented TTL rule).
inline int64_t expiry(int64_t ts, uint64_t ttl_secs) {
  if (ttl_secs > static_cast<uint64_t>(kMaxTs / kSec)) return kMaxTs;
  int64_t ttl = static_cast<int64_t>(ttl_secs) * kSec;
  if (ts > 0 && ttl > kMaxTs - ts) return kMaxTs;
  return ts + ttl;
}

// The reference: what every read must return.
class Model {
 public:
  struct Val {
    std::string value;
    int64_t expire_at;
  };
  using Map = std::map<std::pair<std::string, int64_t>, Val>;

  void put(const Record& r) { m_[{r.key, r.ts}] = Val{r.value, r.expire_at}; }
  void del(const std::string& k, int64_t ts) { m_.erase({k, ts}); }
  void delete_range(const std::string& s, const std::string& e) {
    for (auto it = m_.lower_bound({s, kMinTs}); it != m_.end() && it->first.first < e;) {
      it = m_.erase(it);
    }
  }
  std::optional<Record> get(const std::string& k, int64_t ts, int64_t now) const {
    auto it = m_.find({k, ts});
    if (it == m_.end() || it->second.expire_at <= now) return std::nullopt;
    return Record(k, ts, it->second.expire_at, it->second.value);
  }
  std::optional<Record> get_latest(const std::string& k, int64_t now) const {
    std::optional<Record> out;
    for (auto it = m_.lower_bound({k, kMinTs}); it != m_.end() && it->first.first == k; ++it) {
      if (it->second.expire_at > now)
        out = Record(k, it->first.second, it->second.expire_at, it->second.value);
    }
    return out;
  }
  std::vector<Record> query(const ScanRange& r, std::optional<size_t> limit, int64_t now) const {
    std::vector<Record> out;
    if (limit && *limit == 0) return out;
    for (auto it = m_.lower_bound({r.start_key, kMinTs}); it != m_.end(); ++it) {
      const auto& [k, ts] = it->first;
      if (r.end_key && k >= *r.end_key) break;
      if (ts < r.ts_start || ts > r.ts_end) continue;
      if (it->second.expire_at <= now) continue;
      out.emplace_back(k, ts, it->second.expire_at, it->second.value);
      if (limit && out.size() >= *limit) break;
    }
    return out;
  }
  const Map& map() const { return m_; }

 private:
  Map m_;
};

}  // namespace flowdb::testing
