// Batcher: groups the records of all inputs into engine write_batch calls.
//
// Inputs submit chunks (the records of one datagram or one MQTT message). A
// writer thread takes everything queued once `max_batch_records` are waiting
// or `window` has passed since the oldest waiting chunk (at once if a
// submit_wait caller is blocked on it), and writes it with one
// write_batch call (group commit: one WAL append, and with sync=always one
// fsync, for many messages). The queue is bounded in records and bytes:
//  * submit_wait() blocks while the queue is full and returns only after the
//    chunk's batch is in the WAL (write_batch returned). MQTT uses it so the
//    message callback returns after its points are durable, which also
//    stalls the MQTT receive thread (TCP / broker flow control) under load.
//    When no other chunk is queued or being waited for, it writes on the
//    calling thread instead: handing the chunk to the writer thread and
//    waking the caller again cost two context switches per MQTT message.
//    Callers that arrive meanwhile queue as before and share a batch.
//  * try_submit_wait() is submit_wait() that returns kBusy at once instead
//    of waiting for room (or while the engine holds writes), so an HTTP
//    input can answer 429 and keep its server thread free.
//  * submit_async() blocks while the queue is full, like submit_wait, but
//    returns once the chunk is queued; a callback reports the write. The
//    writer waits out the window as for try_submit chunks unless expedite()
//    was called (a caller has reached its own bound of chunks in flight).
//  * try_submit() never blocks; if the queue is full the chunk is dropped and
//    counted as queue_full for its input (UDP has no flow control).
// stop() stops accepting, writes everything queued, then joins the writer.
//
// A Soft engine background error (a full disk: Engine::background_error())
// is not retried against the engine: the failed batch goes back to the head
// of the queue and the writer waits, polling, until the engine has resumed,
// then writes in order. The queue keeps its bounds meanwhile (try_submit
// drops as queue_full, submit_wait blocks). One log line says so, another
// when writes resume. stop() in that state does not wait: what is queued is
// dropped as storage_error and counted in one log line. A Hard background
// error (another I/O error: an SD card's transient EIO) is held the same
// way, and the writer itself calls Engine::resume() with backoff
// (resume_backoff_min doubling to resume_backoff_max, one log line per
// failed attempt at most every 10 s); the engine does not retry Hard errors
// by itself. A Fatal background error (resume impossible; a reopen is
// needed) drops the batch at once, without retries.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/log.h"
#include "agent/core/record_sink.h"
#include "flowdb/engine.h"

namespace flowdb::agent {

class Metrics;
struct InputMetrics;

struct BatcherOptions {
  size_t max_batch_records = 5000;
  std::chrono::microseconds window{10000};
  size_t queue_max_records = 200000;
  size_t queue_max_bytes = 32u << 20;
  // A failed write is retried this many times (with backoff) before its
  // records are dropped as storage_error.
  int write_retries = 3;
  // Backoff of the writer's Engine::resume() calls after a Hard background
  // error: the first attempt after `resume_backoff_min`, then doubling.
  std::chrono::milliseconds resume_backoff_min{1000};
  std::chrono::milliseconds resume_backoff_max{60000};
  // Called before each write; throwing (e.g. retention's reject_new quota)
  // drops the batch at once, counted with reason "quota".
  std::function<void()> admission;
};

class Batcher : public RecordSink {
 public:
  // `engine` and `metrics` must outlive the batcher.
  Batcher(Engine* engine, Metrics* metrics, BatcherOptions options);
  ~Batcher();  // stop()s
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  void start();
  // RecordSink: submit_wait returns after the batch holding `records` was
  // written (write_batch returned).
  Result try_submit(const std::string& input, std::vector<Record>&& records,
                    size_t points = 0) override;
  Result submit_wait(const std::string& input, std::vector<Record>&& records,
                     size_t points = 0) override;
  Result try_submit_wait(const std::string& input, std::vector<Record>&& records,
                         size_t points = 0) override;
  Result submit_async(const std::string& input, std::vector<Record>&& records, size_t points,
                      Done done) override;
  void expedite() override;
  // Drains the queue and joins the writer. Idempotent.
  void stop();

  size_t queued_records() const;

 private:
  struct Ticket {
    bool done = false;
    bool ok = false;
  };
  struct Chunk {
    InputMetrics* input;
    std::string input_name;
    std::vector<Record> records;
    size_t points;  // counted when the chunk is dropped
    size_t bytes;
    std::shared_ptr<Ticket> ticket;  // null for fire-and-forget chunks
    std::chrono::steady_clock::time_point enqueued;
    Done done = {};  // submit_async chunks
    bool ok = false;
  };

  // kHeld: the engine has a Soft or Hard background error; the chunks'
  // records are back in place and nothing was counted.
  enum class Outcome { kOk, kDropped, kHeld };

  // submit_wait (block) or try_submit_wait (kBusy instead of waiting for room).
  Result submit_and_wait(const std::string& input, std::vector<Record>&& records, size_t points,
                         bool block);
  static size_t bytes_of(const std::vector<Record>& r);
  // Puts chunks back at the head of the queue, in order. mu_ held.
  void requeue_front_locked(std::vector<Chunk>* chunks);
  // Counts held chunks as dropped at shutdown and fails their tickets.
  void drop_held(std::vector<Chunk>* chunks);
  // Calls the submit_async callbacks of written or dropped chunks. mu_ not held.
  static void notify_done(std::vector<Chunk>* chunks);
  // Waits while the engine has a Soft or Hard background error (and not
  // stopping_), resuming a Hard one with backoff; logs the transitions once.
  // mu_ held through `lock`.
  void wait_for_engine_locked(std::unique_lock<std::mutex>& lock);
  bool has_room(size_t records, size_t bytes) const;  // mu_ held
  // Whether queueing `adding` records must wake the writer. mu_ held.
  bool wake_writer_locked(size_t adding) const;
  void run();
  Outcome write(std::vector<Chunk>* chunks);

  Engine* const engine_;
  Metrics* const metrics_;
  const BatcherOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // writer waits for chunks
  std::condition_variable room_cv_;  // submitters wait for room
  std::condition_variable done_cv_;  // submitters wait for their ticket
  // Guarded by mu_.
  std::deque<Chunk> queue_;
  size_t queued_records_ = 0, queued_bytes_ = 0;
  size_t waiters_ = 0;         // submit_wait calls whose chunk is queued or being written
  size_t inline_writers_ = 0;  // submit_wait calls writing on their own thread
  bool stopping_ = false;
  bool started_ = false;
  bool held_ = false;      // the engine refused writes with a Soft or Hard background error
  bool expedite_ = false;  // write at once until the queue is empty (expedite())
  size_t lost_records_ = 0, lost_points_ = 0;  // dropped at stop() while held
  // When write() last logged a hard/fatal background error (steady seconds).
  std::atomic<int64_t> last_bg_log_s_{-3600};

  std::thread writer_;
  RateLimiter drop_log_;  // one queue_full warning per input per period
  // Called by the writer thread only; failed resumes, one line per period.
  RateLimiter resume_log_;
};

}  // namespace flowdb::agent
