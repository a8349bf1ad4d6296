// RecordSink: where inputs hand the records of their payloads. The daemon's
// Batcher (agent/batcher.h) implements it; inputs see only this interface.
//
// Thread-safety: implementations are thread-safe (every input thread submits).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "flowdb/record.h"

namespace flowdb::agent {

class RecordSink {
 public:
  // kBusy: nothing was queued (try_submit_wait only); retry later.
  enum class Result { kStored, kDropped, kStopped, kBusy };

  virtual ~RecordSink() = default;
  // `points`: how many points `records` hold (one record per field), so that
  // drops are counted in points like every other drop reason; 0 = one per
  // record.
  //
  // Queues `records` of `input` without blocking. kDropped (counted as
  // queue_full) if the queue is full. For inputs without flow control (UDP).
  virtual Result try_submit(const std::string& input, std::vector<Record>&& records,
                            size_t points = 0) = 0;
  // Waits for room, then until the records are in the WAL. kDropped if the
  // write failed (counted); kStopped if the sink stopped first. For inputs
  // that acknowledge upstream only after storing (MQTT QoS 1/2).
  virtual Result submit_wait(const std::string& input, std::vector<Record>&& records,
                             size_t points = 0) = 0;
  // As submit_wait, but returns kBusy at once, queuing and counting nothing,
  // if the queue has no room or the engine is holding writes (a full disk):
  // for inputs whose client can be told to retry (HTTP 429), so that a
  // server thread never blocks on a full queue.
  virtual Result try_submit_wait(const std::string& input, std::vector<Record>&& records,
                                 size_t points = 0) = 0;
  // Called once with true when the records are in the WAL, false when they
  // were dropped (counted); on the sink's writer thread, never with a sink
  // lock held.
  using Done = std::function<void(bool stored)>;
  // Waits for room like submit_wait, queues, and returns without waiting for
  // the write: kStored means queued, and `done` reports the outcome later.
  // kStopped: nothing queued and `done` is never called. For inputs that
  // pipeline their acknowledgements (MQTT with mqtt.max_unstored > 0) and
  // bound the number of records they have in flight themselves.
  virtual Result submit_async(const std::string& input, std::vector<Record>&& records,
                              size_t points, Done done) = 0;
  // Asks for what is queued to be written now rather than at the end of the
  // batch window: a submit_async caller is about to wait for its `done`.
  virtual void expedite() = 0;
};

}  // namespace flowdb::agent
