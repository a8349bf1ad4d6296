// Retention: expires, compacts and enforces disk limits by whole time buckets.
//
// FlowDB partitions SSTs by time bucket, so expiry and quota enforcement are
// file deletions, never rewrites. A RetentionThread runs one pass every
// `interval` (and when woken after a flush):
//   1. drops every bucket whose records have all expired (ttl);
//   2. enforces max_disk and min_free (quota, free_space) by dropping the
//      oldest buckets (DropOldest) or refusing new data (RejectNew);
//   3. compacts buckets holding more than `compaction_threshold` files,
//      cheapest first, one at a time, only while the disk has room for the
//      output.
// TTLs themselves are assigned at ingest (ingest::TtlRules, per measurement).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flowdb/engine.h"

namespace flowdb::retention {

enum class QuotaPolicy { DropOldest, RejectNew };

// Severity of a retention log event; the agent maps it onto its own levels.
enum class LogSeverity { info, warn, error };
// One event: its severity and text ("retention dropped bucket reason=ttl ...").
using LogFn = std::function<void(LogSeverity, const std::string&)>;

// What the retention thread enforces, and how often. set_options() replaces
// it at runtime (SIGHUP).
struct Options {
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  uint64_t max_disk_bytes = 0;  // 0: no quota
  QuotaPolicy quota_policy = QuotaPolicy::DropOldest;
  uint64_t min_free_bytes = 0;      // 0: no free-space floor
  size_t compaction_threshold = 4;  // compact a bucket with more files than this
};

// What one pass did.
struct RunReport {
  size_t buckets_dropped_ttl = 0, buckets_dropped_quota = 0, buckets_dropped_free_space = 0;
  uint64_t bytes_dropped = 0;
  uint64_t backlog_bytes_trimmed = 0;  // WAL kept only for exports, deleted
  size_t compactions = 0;
  size_t compactions_skipped_no_room = 0;
  uint64_t disk_usage_after = 0;
  bool rejecting = false;
};

// Cumulative counters (the agent exports them as flowdb_retention_* metrics).
struct Stats {
  uint64_t runs = 0;
  uint64_t buckets = 0;                   // live buckets after the last pass
  uint64_t bytes_dropped[3] = {0, 0, 0};  // by reason: ttl, quota, free_space
  uint64_t files_dropped[3] = {0, 0, 0};
  uint64_t compactions = 0, compaction_bytes_in = 0, compaction_bytes_out = 0;
  uint64_t rejected_writes = 0;
  uint64_t backlog_bytes_trimmed = 0;    // export backlog (WAL kept for feeds) deleted
  int64_t oldest_ts = 0, newest_ts = 0;  // of stored data (0 when empty)
  uint64_t disk_usage = 0, disk_limit = 0;
  double last_run_seconds = 0;
};

class RetentionThread {
 public:
  // `engine` must outlive this object. `free_space` returns the bytes free
  // on the data directory's filesystem (default: statvfs); tests inject one.
  // `log` receives one event at a time with its severity (default: the
  // engine's Config::logger; discarded without one).
  RetentionThread(Engine* engine, Options options, std::function<uint64_t()> free_space = {},
                  LogFn log = {});
  ~RetentionThread();  // stop()s
  RetentionThread(const RetentionThread&) = delete;
  RetentionThread& operator=(const RetentionThread&) = delete;

  // Starts the background thread. Thread-safe; idempotent.
  void start();
  // Stops and joins the thread; a pass in progress finishes first.
  void stop();
  // Requests a pass as soon as possible (e.g. after a flush). Never blocks.
  void wake();
  // Runs one pass in the calling thread (serialized with the thread's).
  // Throws flowdb::Error if the engine fails.
  RunReport run_once();
  void set_options(const Options& p);

  // With RejectNew, whether ingest may write. check_admission() throws
  // Error(Errc::NoSpace) with a clear message (and counts it) when not.
  bool admitting() const { return !rejecting_.load(std::memory_order_acquire); }
  void check_admission();

  Stats stats() const;

 private:
  void thread_main();
  uint64_t free_bytes() const;
  void drop(const BucketInfo& b, int reason, RunReport* r);

  Engine* const engine_;
  const std::function<uint64_t()> free_space_;
  const LogFn log_;

  std::mutex run_mu_;  // serializes passes; held across file operations

  mutable std::mutex mu_;
  // Guarded by mu_.
  Options options_;
  Stats stats_;
  bool stop_ = false;
  bool wake_ = false;
  std::condition_variable cv_;
  std::thread thread_;

  std::atomic<bool> rejecting_{false};
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace flowdb::retention
