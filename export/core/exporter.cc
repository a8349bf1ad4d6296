#include "export/core/exporter.h"

#include <algorithm>
#include <random>

#include "agent/core/log.h"
#include "flowdb/error.h"
#include "ingest/value_codec.h"

namespace flowdb::exporter {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Longest Retry-After honoured: a misconfigured upstream must not park an
// export for hours.
constexpr milliseconds kMaxRetryAfter{10 * 60 * 1000};

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Exporter::Exporter(ExporterOptions options, std::unique_ptr<ChangeFeed> feed,
                   std::unique_ptr<Sink> sink, ExportMetrics* metrics)
    : options_(std::move(options)),
      feed_(std::move(feed)),
      sink_(std::move(sink)),
      metrics_(metrics->for_export(options_.name, std::string(sink_->type()))) {
  caught_up_at_ = Clock::now();
  update_lag();  // status() is meaningful before the thread runs
}

Exporter::~Exporter() { stop(); }

void Exporter::start() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = false;
  }
  caught_up_at_ = Clock::now();
  tokens_at_ = Clock::now();
  thread_ = std::thread([this] { run(); });
}

void Exporter::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ExporterStatus Exporter::status() const {
  ExporterStatus s;
  // Live, not as of the thread's last look: writes may have landed since.
  s.acked_seq = feed_->acked();
  const uint64_t last = feed_->last_seq();
  s.lag_points = last > s.acked_seq ? last - s.acked_seq : 0;
  s.lag_seconds = lag_seconds_.load();
  s.sent_points = sent_.load();
  s.rejected_points = rejected_.load();
  s.dropped_points = dropped_.load();
  s.retries = retries_.load();
  s.failing = failing_.load();
  return s;
}

bool Exporter::wait_for(milliseconds d) {
  std::unique_lock<std::mutex> l(mu_);
  return !cv_.wait_for(l, d, [this] { return stop_; });
}

void Exporter::update_lag() {
  const uint64_t last = feed_->last_seq(), acked = feed_->acked();
  const uint64_t lag = last > acked ? last - acked : 0;
  const auto now = Clock::now();
  if (lag == 0) caught_up_at_ = now;
  const double secs = lag == 0 ? 0 : std::chrono::duration<double>(now - caught_up_at_).count();
  lag_ = lag;
  lag_seconds_ = secs;
  acked_ = acked;
  metrics_.lag_points->Set(static_cast<double>(lag));
  metrics_.lag_seconds->Set(secs);
}

void Exporter::run() {
  for (;;) {
    try {
      while (fill_batch()) {
        if (!samples_.empty()) {
          throttle(samples_.size());
          if (!deliver(samples_)) return;
        }
        // Only now is every change of the batch upstream (or counted as bad).
        feed_->ack(changes_.back().seq);
        update_lag();
      }
      return;
    } catch (const Error& e) {
      if (e.code() == Errc::Closed) return;  // shutdown
      // A damaged WAL segment or a failed cursor fsync (disk full): nothing
      // unsent was acknowledged, so start over from the cursor a bit later.
      agent::log_error("export " + options_.name,
                       std::string(e.what()) + "; retrying from the last acknowledged point");
    } catch (const std::exception& e) {
      agent::log_error("export " + options_.name, std::string("unexpected error: ") + e.what());
    }
    failing_ = true;
    metrics_.up->Set(0);
    if (!wait_for(options_.retry_max)) return;
    feed_->rewind();
  }
}

bool Exporter::fill_batch() {
  changes_.clear();
  samples_.clear();
  const auto deadline = Clock::now() + options_.max_delay;
  size_t bytes = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return false;
    }
    const size_t before = changes_.size();
    feed_->read(options_.batch_points - before, options_.batch_bytes - bytes, &changes_);
    for (size_t i = before; i < changes_.size(); ++i) {
      bytes += changes_[i].record.key.size() + changes_[i].record.value.size();
    }
    if (const uint64_t lost = feed_->lost(); lost > lost_seen_) {
      metrics_.dropped_quota->Increment(static_cast<double>(lost - lost_seen_));
      dropped_ += lost - lost_seen_;
      agent::log_warn(
          "export " + options_.name,
          std::to_string(lost - lost_seen_) + " unexported writes were removed by the disk quota");
      lost_seen_ = lost;
    }
    if (changes_.size() >= options_.batch_points || bytes >= options_.batch_bytes) break;
    const auto now = Clock::now();
    if (!changes_.empty() && now >= deadline) break;
    if (changes_.size() == before) {
      update_lag();
      // Wake on new writes; the slice bounds how late a stop is noticed.
      auto slice = changes_.empty() ? milliseconds(200)
                                    : std::chrono::duration_cast<milliseconds>(deadline - now);
      feed_->wait(std::clamp(slice, milliseconds(1), milliseconds(200)));
    }
  }
  samples_.reserve(changes_.size());
  uint64_t undecodable = 0;
  for (const Change& c : changes_) {
    // A Prometheus staleness marker or NaN/Inf sample (remote write) has no
    // line-protocol form; the export skips it (not counted as rejected).
    if (ingest::is_prom_only_value(c.record.value)) continue;
    Sample s;
    if (!ingest::decode_series_key(c.record.key, &s.series) ||
        !ingest::decode_value(c.record.value, &s.value)) {
      ++undecodable;
      continue;
    }
    if (!options_.measurements.empty() &&
        std::find(options_.measurements.begin(), options_.measurements.end(),
                  s.series.measurement) == options_.measurements.end()) {
      continue;
    }
    s.ts_us = c.record.ts;
    samples_.push_back(std::move(s));
  }
  if (undecodable > 0) {
    metrics_.rejected_undecodable->Increment(static_cast<double>(undecodable));
    rejected_ += undecodable;
  }
  return true;
}

void Exporter::throttle(size_t points) {
  if (options_.rate_limit <= 0) return;
  // Token bucket holding at most one second (or one batch) of points.
  const double cap = std::max(options_.rate_limit, static_cast<double>(points));
  for (;;) {
    const auto now = Clock::now();
    tokens_ = std::min(cap, tokens_ + std::chrono::duration<double>(now - tokens_at_).count() *
                                          options_.rate_limit);
    tokens_at_ = now;
    if (tokens_ >= static_cast<double>(points)) {
      tokens_ -= static_cast<double>(points);
      return;
    }
    const double wait_s = (static_cast<double>(points) - tokens_) / options_.rate_limit;
    if (!wait_for(milliseconds(static_cast<int64_t>(wait_s * 1000) + 1))) return;
  }
}

std::optional<SendResult> Exporter::send_with_retry(std::span<const Sample> samples) {
  std::mt19937_64 rng(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    const auto t0 = Clock::now();
    SendResult r = sink_->send(samples);
    metrics_.latency->Observe(std::chrono::duration<double>(Clock::now() - t0).count());
    metrics_.bytes_sent->Increment(static_cast<double>(r.bytes_sent));
    if (r.status != SendStatus::kRetry) {
      failing_ = false;
      metrics_.up->Set(1);
      return r;
    }
    failing_ = true;
    metrics_.up->Set(0);
    metrics_.retries->Increment();
    ++retries_;
    // Capped exponential backoff with full jitter in [base/2, base].
    const int shift = std::min(attempt, 20);
    const int64_t base = std::min<int64_t>(options_.retry_max.count(),
                                           options_.retry_min.count() * (int64_t{1} << shift));
    int64_t wait = base / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(base / 2 + 1));
    if (r.retry_after)
      wait = std::max<int64_t>(wait, std::min(*r.retry_after, kMaxRetryAfter).count());
    if (attempt == 0 || attempt % 10 == 0) {
      agent::log_warn("export " + options_.name, "send failed (" + r.message + "); retrying in " +
                                                     std::to_string(wait) + " ms, attempt " +
                                                     std::to_string(attempt + 1));
    }
    update_lag();
    if (!wait_for(milliseconds(wait))) return std::nullopt;
  }
}

bool Exporter::deliver(std::span<const Sample> samples) {
  const std::optional<SendResult> r = send_with_retry(samples);
  if (!r) return false;
  if (r->status == SendStatus::kOk) {
    const uint64_t ok = samples.size() - std::min<uint64_t>(r->unsupported, samples.size());
    metrics_.points_sent->Increment(static_cast<double>(ok));
    metrics_.batches->Increment();
    metrics_.last_success->Set(unix_now());
    sent_ += ok;
    if (r->unsupported > 0) {
      metrics_.rejected_unsupported->Increment(static_cast<double>(r->unsupported));
      rejected_ += r->unsupported;
    }
    return true;
  }
  // kReject: isolate the bad points by halving.
  if (samples.size() == 1) {
    metrics_.rejected_upstream->Increment();
    ++rejected_;
    static agent::RateLimiter limiter;
    const Sample& s = samples.front();
    limiter.log(agent::LogLevel::warn, "export " + options_.name, "reject",
                "upstream rejected a point of " + s.series.measurement + " field " +
                    s.series.field + " at " + std::to_string(s.ts_us) + " us: " + r->message);
    return true;
  }
  const size_t half = samples.size() / 2;
  return deliver(samples.first(half)) && deliver(samples.subspan(half));
}

}  // namespace flowdb::exporter
