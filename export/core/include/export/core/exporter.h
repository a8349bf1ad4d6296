// Exporter: ships the points stored in the engine to one upstream, at least
// once, in commit order (so in order per series), surviving outages and
// crashes.
//
// One thread per export: read the export's change feed (flowdb/change_feed.h)
// into a batch (by points, bytes and a maximum delay), rate-limit, send it
// through the Sink, and acknowledge the feed only once the upstream accepted
// the batch. Failures:
//  - kRetry (network, 5xx, 429): the same batch again after a capped
//    exponential backoff with jitter, at least Retry-After; forever.
//  - kReject (4xx): the batch is split in halves until the bad points are
//    isolated; those are counted as rejected and logged, the rest is sent.
// Nothing is dropped silently: points the WAL quota trimmed before they were
// sent are counted as dropped{reason="quota"}; records that are not points
// (undecodable keys/values) as rejected{reason="undecodable"}.
//
// Duplicates: a crash or stop between the upstream's acceptance and the
// feed acknowledgement resends that one batch. Time-series upstreams
// overwrite identical series + timestamp, so this is harmless.
//
// Thread-safety: start()/stop() from one controlling thread; status() and the
// metrics from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "export/core/export_metrics.h"
#include "export/core/sink.h"
#include "flowdb/change_feed.h"

namespace flowdb::exporter {

struct ExporterOptions {
  std::string name;
  size_t batch_points = 10000;
  size_t batch_bytes = 4 << 20;  // stored key + value bytes
  std::chrono::milliseconds max_delay{1000};
  double rate_limit = 0;  // points per second; 0 = unlimited
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{60000};
  std::vector<std::string> measurements;  // only these (empty = all)
};

// A point-in-time view for the status line and tests.
struct ExporterStatus {
  uint64_t acked_seq = 0;
  uint64_t lag_points = 0;  // sequence numbers committed but not yet acknowledged
  double lag_seconds = 0;   // time since the export was last caught up
  uint64_t sent_points = 0;
  uint64_t rejected_points = 0;
  uint64_t dropped_points = 0;
  uint64_t retries = 0;
  bool failing = false;  // the last attempt failed
};

class Exporter {
 public:
  // Takes ownership of the feed and the sink. `metrics` must outlive this.
  Exporter(ExporterOptions options, std::unique_ptr<ChangeFeed> feed, std::unique_ptr<Sink> sink,
           ExportMetrics* metrics);
  ~Exporter();  // stop()s
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  void start();
  // Interrupts waits and backoff, lets an in-flight send finish (bounded by
  // the sink's timeout), and joins. The unacknowledged batch is sent again
  // by the next Exporter on this feed.
  void stop();

  ExporterStatus status() const;
  const ExporterOptions& options() const { return options_; }

 private:
  void run();
  // Fills batch_/samples_; false if stopping.
  bool fill_batch();
  // Delivers `samples` (splitting on reject); false if stopping before done.
  bool deliver(std::span<const Sample> samples);
  // Sends until the upstream answers kOk or kReject; nullopt if stopping.
  std::optional<SendResult> send_with_retry(std::span<const Sample> samples);
  bool wait_for(std::chrono::milliseconds d);  // false if stopping
  void throttle(size_t points);
  void update_lag();

  // Immutable after construction.
  const ExporterOptions options_;
  const std::unique_ptr<ChangeFeed> feed_;
  const std::unique_ptr<Sink> sink_;
  ExportMetrics::Export metrics_;

  // Used only by the export thread.
  std::vector<Change> changes_;
  std::vector<Sample> samples_;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point tokens_at_{};
  std::chrono::steady_clock::time_point caught_up_at_{};
  uint64_t lost_seen_ = 0;

  std::thread thread_;
  std::atomic<bool> failing_{false};
  std::atomic<uint64_t> acked_{0}, lag_{0}, sent_{0}, rejected_{0}, dropped_{0}, retries_{0};
  std::atomic<double> lag_seconds_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace flowdb::exporter
