// What every input needs to turn parsed points into engine records and hand
// them to the batcher: the record sink, metrics, the current TTL rules and a
// rate-limited logger for bad input.
//
// Thread-safety: IngestContext is shared by all inputs; every member is
// thread-safe. RecordBuilder is per thread.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/core/http_route.h"
#include "agent/core/log.h"
#include "agent/core/metrics.h"
#include "agent/core/record_sink.h"
#include "flowdb/record.h"
#include "ingest/parse_error.h"
#include "ingest/point.h"
#include "ingest/ttl_rules.h"

namespace flowdb::agent {

// The TTL rules in force; SIGHUP replaces them (new data only).
class LiveTtlRules {
 public:
  LiveTtlRules() : rules_(std::make_shared<ingest::TtlRules>()) {}
  std::shared_ptr<const ingest::TtlRules> get() const {
    std::lock_guard lock(mu_);
    return rules_;
  }
  void set(ingest::TtlRules r) {
    auto p = std::make_shared<const ingest::TtlRules>(std::move(r));
    std::lock_guard lock(mu_);
    rules_ = std::move(p);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ingest::TtlRules> rules_;  // guarded by mu_
};

// Who sent a payload, for drop warnings: a UDP peer address or a label such
// as "topic a/b". Formatted only when a drop is logged.
struct Sender {
  std::string_view label;
  const sockaddr_storage* peer = nullptr;  // UDP: the datagram's source
  std::string str() const;                 // "127.0.0.1:5000", "[::1]:5000" or label
};

struct IngestContext {
  RecordSink* sink = nullptr;  // the daemon's batcher
  Metrics* metrics = nullptr;
  LiveTtlRules* ttl = nullptr;
  RateLimiter* bad_input_log = nullptr;
  // The agent's HTTP listener, for inputs that serve routes on it; null when
  // there is none (tests that drive an input directly).
  HttpRoutes* http = nullptr;

  // Counts a parse error and logs it (rate-limited per input and reason). A
  // JSON payload rejected as a whole (line_no 0) also counts as a dropped
  // payload, any other error as one dropped point.
  void parse_error(const std::string& input, const ingest::ParseError& e, const Sender& from) const;
  // Counts `n` dropped points and logs `why` (rate-limited per input and reason).
  void drop_points(const std::string& input, std::string_view reason, double n, const Sender& from,
                   std::string_view why) const;
  // Counts one dropped datagram / message and logs `why` (rate-limited).
  void drop_payload(const std::string& input, std::string_view reason, const Sender& from,
                    std::string_view why) const;
};

// Converts points into records: one per field, key = series key, value =
// value codec, expire_at from the TTL rules of the measurement.
class RecordBuilder {
 public:
  // Appends the records of `p` to *out. Returns false (appending nothing) if
  // the point cannot be stored (unsorted tags or NaN, which parsers never emit).
  bool add(const ingest::Point& p, const std::shared_ptr<const ingest::TtlRules>& rules,
           std::vector<Record>* out);

 private:
  std::string prefix_;
  std::string last_measurement_;
  std::optional<uint64_t> last_ttl_;
  std::shared_ptr<const ingest::TtlRules> last_rules_;  // keeps the cache key alive
};

// The records of the payloads an input hands to the batcher in one chunk.
// Per payload it drops (counts and logs):
//  * expired: points whose TTL has already passed at receipt (expire_at <=
//    now), e.g. ts 31 days ago with default_ttl 30d, ts = 1, negative ts.
//    The engine would never return them.
//  * duplicate_timestamp: the engine stores microseconds and keeps one
//    record per (series, field, ts), so of two points of one series whose
//    timestamps are equal after truncation to microseconds (e.g. ns
//    ...001 and ...999) the later one's fields win. A record overwritten that
//    way is not stored; a point all of whose fields are overwritten counts
//    as one dropped point. (Collisions across payloads overwrite in the engine.)
// Thread-safety: one per receive thread.
class PayloadRecords {
 public:
  PayloadRecords(const IngestContext& ctx, const std::string& input) : ctx_(ctx), input_(input) {}

  // Starts a payload received at `now_us` from `from` (must outlive end()).
  void begin(std::shared_ptr<const ingest::TtlRules> rules, int64_t now_us, Sender from);
  void add(const ingest::Point& p);
  // Removes the overwritten records of the payload and counts its drops.
  void end();

  bool empty() const { return records_.empty(); }
  // Points with at least one record in the chunk.
  size_t points() const { return points_; }
  // Hands the chunk's records over and starts a new chunk.
  std::vector<Record> take();

 private:
  void drop_overwritten();

  const IngestContext ctx_;
  const std::string input_;
  RecordBuilder builder_;
  std::shared_ptr<const ingest::TtlRules> rules_;
  int64_t now_us_ = 0;
  Sender from_;
  std::vector<Record> records_;
  size_t points_ = 0;
  // The current payload: where its records start, and per record (from
  // payload_first_) the point it belongs to; per point its live records.
  size_t payload_first_ = 0;
  std::vector<uint32_t> owner_;
  std::vector<uint32_t> live_;
  std::vector<std::pair<uint64_t, uint32_t>> keys_;  // (hash of key and ts, record)
  uint64_t expired_ = 0;
  int64_t expired_ts_ = 0;
  std::string expired_measurement_;
};

// Microseconds since the Unix epoch (system clock).
int64_t now_us();

}  // namespace flowdb::agent
