#include "agent/batcher.h"

#include <utility>

#include "agent/core/log.h"
#include "agent/core/metrics.h"

namespace flowdb::agent {

Batcher::Batcher(Engine* engine, Metrics* metrics, BatcherOptions options)
    : engine_(engine), metrics_(metrics), options_(options) {}

Batcher::~Batcher() { stop(); }

void Batcher::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  writer_ = std::thread([this] { run(); });
}

size_t Batcher::bytes_of(const std::vector<Record>& r) {
  size_t b = 0;
  for (const Record& x : r) b += x.key.size() + x.value.size() + 16;
  return b;
}

bool Batcher::has_room(size_t records, size_t bytes) const {
  // An oversized chunk is still admitted into an empty queue, so it can't wait forever.
  if (queue_.empty()) return true;
  return queued_records_ + records <= options_.queue_max_records &&
         queued_bytes_ + bytes <= options_.queue_max_bytes;
}

Batcher::Result Batcher::try_submit(const std::string& input, std::vector<Record>&& records,
                                    size_t points) {
  if (records.empty()) return Result::kStored;
  InputMetrics* im = &metrics_->input(input);
  size_t bytes = bytes_of(records);
  if (points == 0) points = records.size();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Result::kStopped;
    if (has_room(records.size(), bytes)) {
      const bool wake = wake_writer_locked(records.size());
      queued_records_ += records.size();
      queued_bytes_ += bytes;
      queue_.push_back({im, input, std::move(records), points, bytes, nullptr,
                        std::chrono::steady_clock::now()});
      if (wake) work_cv_.notify_one();
      return Result::kStored;
    }
  }
  metrics_->dropped(input, "queue_full", static_cast<double>(points));
  drop_log_.log(LogLevel::warn, "batcher", input + "/queue_full", [&] {
    return input + ": dropped " + std::to_string(points) +
           " point(s), reason queue_full: the batch queue is full (storage.queue_max_points "
           "/ queue_max_bytes); the engine is not keeping up";
  });
  return Result::kDropped;
}

Batcher::Result Batcher::submit_wait(const std::string& input, std::vector<Record>&& records,
                                     size_t points) {
  return submit_and_wait(input, std::move(records), points, /*block=*/true);
}

Batcher::Result Batcher::try_submit_wait(const std::string& input, std::vector<Record>&& records,
                                         size_t points) {
  return submit_and_wait(input, std::move(records), points, /*block=*/false);
}

Batcher::Result Batcher::submit_async(const std::string& input, std::vector<Record>&& records,
                                      size_t points, Done done) {
  if (records.empty()) {
    done(true);
    return Result::kStored;
  }
  InputMetrics* im = &metrics_->input(input);
  size_t bytes = bytes_of(records);
  if (points == 0) points = records.size();
  std::unique_lock lock(mu_);
  room_cv_.wait(lock, [&] { return stopping_ || has_room(records.size(), bytes); });
  if (stopping_) return Result::kStopped;
  const bool wake = wake_writer_locked(records.size());
  queued_records_ += records.size();
  queued_bytes_ += bytes;
  queue_.push_back({im, input, std::move(records), points, bytes, nullptr,
                    std::chrono::steady_clock::now(), std::move(done)});
  lock.unlock();
  if (wake) work_cv_.notify_one();
  return Result::kStored;
}

bool Batcher::wake_writer_locked(size_t adding) const {
  // Otherwise the writer is writing, or waiting out the window of the oldest
  // chunk and wakes at its deadline by itself: waking it for every message
  // cost two context switches per message, and on a busy machine the woken
  // writer preempted the MQTT receive thread.
  return queue_.empty() || queued_records_ + adding >= options_.max_batch_records;
}

void Batcher::expedite() {
  {
    std::lock_guard lock(mu_);
    expedite_ = true;
  }
  work_cv_.notify_one();
}

void Batcher::notify_done(std::vector<Chunk>* chunks) {
  for (Chunk& c : *chunks) {
    if (c.done) std::exchange(c.done, nullptr)(c.ok);
  }
}

Batcher::Result Batcher::submit_and_wait(const std::string& input, std::vector<Record>&& records,
                                         size_t points, bool block) {
  if (records.empty()) return Result::kStored;
  InputMetrics* im = &metrics_->input(input);
  size_t bytes = bytes_of(records);
  if (points == 0) points = records.size();
  auto ticket = std::make_shared<Ticket>();
  std::unique_lock lock(mu_);
  if (block) {
    room_cv_.wait(lock, [&] { return stopping_ || has_room(records.size(), bytes); });
  } else if (!stopping_ && (held_ || !has_room(records.size(), bytes))) {
    return Result::kBusy;
  }
  if (stopping_) return Result::kStopped;
  if (queue_.empty() && started_ && waiters_ == 0 && inline_writers_ == 0 && !held_) {
    ++inline_writers_;
    lock.unlock();
    std::vector<Chunk> own;
    own.push_back(
        {im, input, std::move(records), points, bytes, ticket, std::chrono::steady_clock::now()});
    const Outcome out = write(&own);
    lock.lock();
    --inline_writers_;
    done_cv_.notify_all();  // stop() may be waiting for inline writers
    if (out != Outcome::kHeld) return ticket->ok ? Result::kStored : Result::kDropped;
    if (stopping_) {
      lock.unlock();
      drop_held(&own);
      return Result::kDropped;
    }
    requeue_front_locked(&own);  // the writer thread waits for the engine
  } else {
    queued_records_ += records.size();
    queued_bytes_ += bytes;
    queue_.push_back(
        {im, input, std::move(records), points, bytes, ticket, std::chrono::steady_clock::now()});
  }
  ++waiters_;
  work_cv_.notify_one();
  // The writer drains the queue even while stopping, so the ticket always completes.
  done_cv_.wait(lock, [&] { return ticket->done; });
  --waiters_;
  return ticket->ok ? Result::kStored : Result::kDropped;
}

void Batcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  room_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return inline_writers_ == 0; });
  // Never started: nothing was written; fail the callbacks of what is queued.
  std::vector<Chunk> left;
  for (Chunk& c : queue_) {
    if (c.done) left.push_back(std::move(c));
  }
  lock.unlock();
  notify_done(&left);
}

size_t Batcher::queued_records() const {
  std::lock_guard lock(mu_);
  return queued_records_;
}

void Batcher::run() {
  std::vector<Chunk> taken;
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    // Wait out the window from the oldest chunk unless the batch is full or
    // a submitter is blocked on it: a waiting MQTT receive thread cannot add
    // more, so waiting would only cap it at one message per window. Waiters
    // that arrive during a write still share the next one (group commit).
    auto deadline = queue_.front().enqueued + options_.window;
    work_cv_.wait_until(lock, deadline, [&] {
      return stopping_ || queued_records_ >= options_.max_batch_records || waiters_ > 0 ||
             expedite_;
    });
    size_t n = 0;
    while (!queue_.empty() &&
           (n == 0 || n + queue_.front().records.size() <= options_.max_batch_records)) {
      n += queue_.front().records.size();
      queued_records_ -= queue_.front().records.size();
      queued_bytes_ -= queue_.front().bytes;
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (queue_.empty()) expedite_ = false;
    metrics_->set_queue(queued_records_, queued_bytes_);
    room_cv_.notify_all();
    lock.unlock();
    const Outcome out = write(&taken);
    if (out == Outcome::kHeld && stopping_) drop_held(&taken);
    if (out != Outcome::kHeld || stopping_) notify_done(&taken);
    lock.lock();
    if (out == Outcome::kHeld && !stopping_) {
      requeue_front_locked(&taken);
      wait_for_engine_locked(lock);
      continue;
    }
    if (out == Outcome::kOk && held_) {
      held_ = false;
      log_info("batcher", "engine writes resumed: writing the held records");
    }
    for (Chunk& c : taken) {
      if (c.ticket) c.ticket->done = true;
    }
    taken.clear();
    done_cv_.notify_all();
  }
  if (lost_records_ > 0) {
    log_error("batcher",
              "shutdown with the engine refusing writes: " + std::to_string(lost_points_) +
                  " points (" + std::to_string(lost_records_) + " records) could not be written");
  }
}

void Batcher::requeue_front_locked(std::vector<Chunk>* chunks) {
  for (auto it = chunks->rbegin(); it != chunks->rend(); ++it) {
    queued_records_ += it->records.size();
    queued_bytes_ += it->bytes;
    queue_.push_front(std::move(*it));
  }
  chunks->clear();
  metrics_->set_queue(queued_records_, queued_bytes_);
}

void Batcher::drop_held(std::vector<Chunk>* chunks) {
  size_t records = 0, points = 0;
  for (Chunk& c : *chunks) {
    records += c.records.size();
    points += c.points;
    metrics_->dropped(c.input_name, "storage_error", static_cast<double>(c.points));
    if (c.ticket) c.ticket->ok = false;
    c.ok = false;
  }
  std::lock_guard lock(mu_);
  lost_records_ += records;
  lost_points_ += points;
}

void Batcher::wait_for_engine_locked(std::unique_lock<std::mutex>& lock) {
  BackgroundError b = engine_->background_error();
  if (!held_) {
    held_ = true;
    log_error("batcher", "engine refuses writes (" + std::string(severity_name(b.severity)) +
                             " background error: " + b.message + "); holding " +
                             std::to_string(queued_records_) +
                             " queued records in memory until it resumes");
  }
  using Severity = BackgroundError::Severity;
  auto held = [](const BackgroundError& e) {
    return e.severity == Severity::Soft || e.severity == Severity::Hard;
  };
  // The engine resumes Soft errors by itself; Hard ones only when asked.
  auto backoff = options_.resume_backoff_min;
  auto next_resume = std::chrono::steady_clock::now() + backoff;
  while (!stopping_ && held(b)) {
    const auto now = std::chrono::steady_clock::now();
    if (b.severity == Severity::Hard && now >= next_resume) {
      lock.unlock();
      try {
        engine_->resume();
      } catch (const std::exception& e) {
        resume_log_.log(LogLevel::error, "batcher", "resume", [&] {
          return std::string(
                     "engine resume after a hard background error failed (next attempt "
                     "in ") +
                 std::to_string(std::min(backoff * 2, options_.resume_backoff_max).count()) +
                 " ms): " + e.what();
        });
      }
      backoff = std::min(backoff * 2, options_.resume_backoff_max);
      next_resume = std::chrono::steady_clock::now() + backoff;
      b = engine_->background_error();
      lock.lock();
      continue;
    }
    auto wait = std::chrono::milliseconds(100);
    if (b.severity == Severity::Hard) {
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(next_resume - now));
    }
    work_cv_.wait_for(lock, wait, [&] { return stopping_; });
    lock.unlock();
    b = engine_->background_error();
    lock.lock();
  }
  // A Fatal error ends the hold: the next write drops its batch (logged).
}

Batcher::Outcome Batcher::write(std::vector<Chunk>* chunks) {
  std::vector<Record> batch;
  size_t total = 0;
  for (const Chunk& c : *chunks) total += c.records.size();
  batch.reserve(total);
  for (Chunk& c : *chunks) {
    for (Record& r : c.records) batch.push_back(std::move(r));
  }
  bool ok = false;
  bool refused = false;
  bool held = false;
  if (options_.admission) {
    try {
      options_.admission();
    } catch (const std::exception& e) {
      refused = true;  // fail fast: retrying cannot help until retention frees space
      log_warn("batcher",
               std::string("refusing ") + std::to_string(batch.size()) + " records: " + e.what());
    }
  }
  for (int attempt = 0; !refused && attempt <= options_.write_retries && !ok; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    auto t0 = std::chrono::steady_clock::now();
    try {
      engine_->write_batch(std::span<const Record>(batch));
      ok = true;
      metrics_->observe_batch(
          batch.size(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    } catch (const std::exception& e) {
      metrics_->write_error();
      const BackgroundError b = engine_->background_error();
      if (b.severity == BackgroundError::Severity::Soft ||
          b.severity == BackgroundError::Severity::Hard) {
        held = true;  // wait for a resume (the engine's, or ours): don't retry
        break;
      }
      if (b.severity != BackgroundError::Severity::None) {
        // Fatal: retrying cannot help; one line a minute, not one a batch.
        const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
        int64_t last = last_bg_log_s_.load();
        if (now - last >= 60 && last_bg_log_s_.compare_exchange_strong(last, now)) {
          log_error("batcher", "engine refuses writes (" + std::string(severity_name(b.severity)) +
                                   " background error; batches are dropped as storage_error "
                                   "until the agent is restarted): " +
                                   b.message);
        }
        break;
      }
      log_error("batcher", std::string("write_batch of ") + std::to_string(batch.size()) +
                               " records failed: " + e.what());
      if (const auto* fe = dynamic_cast<const Error*>(&e); fe && fe->code() == Errc::Closed) break;
    }
  }
  if (held) {
    size_t k = 0;
    for (Chunk& c : *chunks) {
      for (Record& r : c.records) r = std::move(batch[k++]);
    }
    return Outcome::kHeld;
  }
  const auto done = std::chrono::steady_clock::now();
  size_t i = 0;
  for (Chunk& c : *chunks) {
    size_t bytes = 0;
    for (size_t k = 0; k < c.records.size(); ++k) {
      bytes += batch[i + k].key.size() + batch[i + k].value.size();
    }
    i += c.records.size();
    if (ok) {
      metrics_->observe_ingest_latency(std::chrono::duration<double>(done - c.enqueued).count());
      c.input->records_stored->Increment(static_cast<double>(c.records.size()));
      c.input->bytes_stored->Increment(static_cast<double>(bytes));
    } else {
      metrics_->dropped(c.input_name, refused ? "quota" : "storage_error",
                        static_cast<double>(c.points));
    }
    if (c.ticket) c.ticket->ok = ok;
    c.ok = ok;
  }
  return ok ? Outcome::kOk : Outcome::kDropped;
}

}  // namespace flowdb::agent
