// RecordSink: where inputs hand the records of their payloads. The daemon's
// Batcher (agent/batcher.h) implements it; inputs see only this interface.
//
// Thread-safety: implementations are thread-safe (every input thread submits).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "flowdb/record.h"

namespace flowdb::agent {

class RecordSink {
 public:
  enum class Result { kStored, kDropped, kStopped };

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
};

}  // namespace flowdb::agent
