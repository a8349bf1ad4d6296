#include "retention/retention.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace flowdb::retention {

namespace {

constexpr const char* kReasons[3] = {"ttl", "quota", "free_space"};
enum Reason { kTtl = 0, kQuota = 1, kFreeSpace = 2 };

// Rejecting stops once usage is back under this fraction of the limit, so a
// store hovering at the limit does not flap between accepting and rejecting.
constexpr double kResumeFraction = 0.95;

}  // namespace

// Without a LogFn, events go where the engine's own go: Config::logger
// (discarded if it has none), as the engine never writes to stderr itself.
static LogFn engine_log_fn(Engine* engine) {
  std::shared_ptr<Logger> logger = engine != nullptr ? engine->config().logger : nullptr;
  if (!logger) return [](LogSeverity, const std::string&) {};
  return [logger](LogSeverity s, const std::string& line) {
    static constexpr Logger::Level kLevels[] = {Logger::Level::kInfo, Logger::Level::kWarn,
                                                Logger::Level::kError};
    logger->log(kLevels[static_cast<int>(s)], line);  // lines start with "retention"
  };
}

RetentionThread::RetentionThread(Engine* engine, Options options,
                                 std::function<uint64_t()> free_space, LogFn log)
    : engine_(engine),
      free_space_(std::move(free_space)),
      log_(log ? std::move(log) : engine_log_fn(engine)),
      options_(options) {}

RetentionThread::~RetentionThread() { stop(); }

void RetentionThread::start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { thread_main(); });
}

void RetentionThread::stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    cv_.notify_all();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

void RetentionThread::wake() {
  std::lock_guard<std::mutex> l(mu_);
  wake_ = true;
  cv_.notify_all();
}

void RetentionThread::set_options(const Options& p) {
  std::lock_guard<std::mutex> l(mu_);
  options_ = p;
  cv_.notify_all();
}

void RetentionThread::thread_main() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.interval, [this] { return stop_ || wake_; });
    if (stop_) break;
    wake_ = false;
    lock.unlock();
    try {
      run_once();
    } catch (const std::exception& e) {
      // The store is consistent after a failed step; the next pass retries.
      log_(LogSeverity::error, std::string("retention pass failed: ") + e.what());
    }
    lock.lock();
  }
}

uint64_t RetentionThread::free_bytes() const {
  if (free_space_) return free_space_();
  struct statvfs st;
  if (::statvfs(engine_->config().data_dir.c_str(), &st) != 0) {
    return std::numeric_limits<uint64_t>::max();
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

void RetentionThread::drop(const BucketInfo& b, int reason, RunReport* r) {
  GcResult g = engine_->drop_bucket(b.bucket);
  r->bytes_dropped += g.bytes;
  (reason == kTtl     ? r->buckets_dropped_ttl
   : reason == kQuota ? r->buckets_dropped_quota
                      : r->buckets_dropped_free_space)++;
  {
    std::lock_guard<std::mutex> l(mu_);
    stats_.bytes_dropped[reason] += g.bytes;
    stats_.files_dropped[reason] += g.files;
  }
  char line[320];
  std::snprintf(line, sizeof line,
                "retention dropped bucket reason=%s bucket=%lld start_ts=%lld "
                "end_ts=%lld files=%llu bytes=%llu records=%llu",
                kReasons[reason], static_cast<long long>(b.bucket),
                static_cast<long long>(b.start_ts), static_cast<long long>(b.end_ts),
                static_cast<unsigned long long>(g.files), static_cast<unsigned long long>(g.bytes),
                static_cast<unsigned long long>(g.records));
  log_(LogSeverity::info, line);
}

RunReport RetentionThread::run_once() {
  std::lock_guard<std::mutex> run(run_mu_);
  const auto started = std::chrono::steady_clock::now();
  Options p;
  {
    std::lock_guard<std::mutex> l(mu_);
    p = options_;
  }
  RunReport r;
  const int64_t now = engine_->config().clock ? engine_->config().clock() : 0;

  // 1. Whole buckets whose every record has expired: unlink, no rewrite.
  for (const BucketInfo& b : engine_->list_buckets()) {
    if (b.max_expire_at <= now) drop(b, kTtl, &r);
  }

  // 2. Disk quota and free-space floor. Progress is accounted from what each
  // drop reports, not re-measured: files pinned by a running scan are unlinked
  // only when it ends, and re-measuring would then drop every bucket.
  uint64_t usage = engine_->disk_usage();
  uint64_t free = p.min_free_bytes > 0 ? free_bytes() : 0;
  auto over = [&](int* reason) {
    if (p.max_disk_bytes > 0 && usage > p.max_disk_bytes) {
      *reason = kQuota;
      return true;
    }
    if (p.min_free_bytes > 0 && free < p.min_free_bytes) {
      *reason = kFreeSpace;
      return true;
    }
    return false;
  };
  int reason = kQuota;
  if (p.quota_policy == QuotaPolicy::DropOldest) {
    rejecting_.store(false, std::memory_order_release);
    while (over(&reason)) {
      auto buckets = engine_->list_buckets();
      if (buckets.size() <= 1) {
        // Older buckets go first (what upstream already has is what a gateway
        // can best spare); then the export backlog, the WAL kept only for
        // exports that are behind; the newest bucket last.
        const uint64_t excess =
            reason == kQuota ? usage - p.max_disk_bytes : p.min_free_bytes - free;
        const uint64_t freed = engine_->trim_feed_backlog(std::max<uint64_t>(excess, 1));
        if (freed > 0) {
          r.backlog_bytes_trimmed += freed;
          usage = usage > freed ? usage - freed : 0;
          free += freed;
          log_(LogSeverity::warn, "retention deleted unexported WAL bytes=" +
                                      std::to_string(freed) + " reason=" + kReasons[reason]);
          continue;
        }
      }
      if (buckets.empty()) break;  // only WAL and memtable left: nothing to drop
      const uint64_t before = r.bytes_dropped;
      drop(buckets.front(), reason, &r);  // the list is ordered oldest first
      const uint64_t freed = r.bytes_dropped - before;
      usage = usage > freed ? usage - freed : 0;
      free += freed;
    }
  } else if (over(&reason)) {
    if (!rejecting_.exchange(true)) {
      log_(LogSeverity::warn, std::string("retention rejects new data reason=") + kReasons[reason]);
    }
  } else if (rejecting_.load()) {
    bool below =
        (p.max_disk_bytes == 0 ||
         usage < static_cast<uint64_t>(static_cast<double>(p.max_disk_bytes) * kResumeFraction)) &&
        (p.min_free_bytes == 0 || free >= p.min_free_bytes);
    if (below) {
      rejecting_.store(false, std::memory_order_release);
      log_(LogSeverity::info, "retention accepts new data again");
    }
  }

  // 3. Compaction: cheapest first, one at a time, only with room for it.
  std::vector<BucketInfo> todo;
  for (const BucketInfo& b : engine_->list_buckets()) {
    if (b.files > p.compaction_threshold) todo.push_back(b);
  }
  std::sort(todo.begin(), todo.end(),
            [](const BucketInfo& a, const BucketInfo& b) { return a.bytes < b.bytes; });
  for (const BucketInfo& b : todo) {
    // The output is at most the input's size; both coexist until the swap.
    bool room = free_bytes() > b.bytes &&
                (p.max_disk_bytes == 0 || engine_->disk_usage() + b.bytes <= p.max_disk_bytes);
    if (!room) {
      ++r.compactions_skipped_no_room;
      continue;
    }
    const EngineStats before = engine_->stats();
    if (engine_->maybe_compact_bucket(b.bucket, p.compaction_threshold)) {
      const EngineStats after = engine_->stats();
      ++r.compactions;
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.compactions;
      stats_.compaction_bytes_in += after.compaction_bytes_in - before.compaction_bytes_in;
      stats_.compaction_bytes_out += after.compaction_bytes_out - before.compaction_bytes_out;
    }
  }

  r.disk_usage_after = engine_->disk_usage();
  r.rejecting = rejecting_.load();
  auto buckets = engine_->list_buckets();
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.runs;
  stats_.buckets = buckets.size();
  stats_.oldest_ts = buckets.empty() ? 0 : buckets.front().min_ts;
  stats_.newest_ts = 0;
  for (const auto& b : buckets) stats_.newest_ts = std::max(stats_.newest_ts, b.max_ts);
  stats_.disk_usage = r.disk_usage_after;
  stats_.backlog_bytes_trimmed += r.backlog_bytes_trimmed;
  stats_.disk_limit = p.max_disk_bytes;
  stats_.last_run_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

void RetentionThread::check_admission() {
  if (!rejecting_.load(std::memory_order_acquire)) return;
  rejected_.fetch_add(1, std::memory_order_relaxed);
  throw Error(Errc::NoSpace,
              "retention: disk limit reached and quota policy is reject_new; new data is refused "
              "until usage falls below the limit (raise retention.max_disk or shorten TTLs)");
}

Stats RetentionThread::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  Stats s = stats_;
  s.rejected_writes = rejected_.load();
  return s;
}

}  // namespace flowdb::retention
