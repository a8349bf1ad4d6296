// ChangeFeed: every put committed to the engine, in commit order, from a
// durable per-consumer cursor (like a PostgreSQL replication slot). It is how
// exporters ship exactly what was stored, late and out-of-order points
// included, at least once across crashes.
//
// How: the engine keeps each WAL segment until every feed has acknowledged
// all of it (as well as until its memtable is flushed), and a feed reads the
// segments back. A feed's cursor (its acknowledged sequence number) lives in
// <data_dir>/feeds/<name>.cursor (format: engine/doc/format.md, "Feed
// cursor"). A new feed starts at the engine's last sequence: it sees writes
// made after it was first opened.
//
// Disk: a feed that is not acknowledged keeps WAL on disk. Engine::
// trim_feed_backlog() (used by the retention quota) deletes the oldest kept
// segments; a feed then skips what was deleted and counts it in lost().
//
// Deletes and range deletes are not reported (upstream time-series stores
// have no equivalent); their sequence numbers are skipped.
//
// Thread-safety: a ChangeFeed is for one thread at a time, except acked(),
// last_seq() and name(), which any thread may call. Different feeds,
// and the engine, may be used concurrently. At most one ChangeFeed per name is
// open at a time. The feed keeps the engine's internals alive but every call
// throws Errc::Closed once the engine is closed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowdb/record.h"

namespace flowdb {

class DBImpl;
struct FeedState;

// One committed put and its sequence number (increasing in commit order).
struct Change {
  uint64_t seq = 0;
  Record record;
};

// A registered feed, as Engine::list_feeds() reports it.
struct FeedInfo {
  std::string name;
  uint64_t acked = 0;           // durable cursor
  uint64_t last_seq = 0;        // engine's last committed sequence
  uint64_t lag = 0;             // last_seq - acked (sequence numbers, deletes included)
  uint64_t retained_bytes = 0;  // WAL kept on disk only for feeds (all feeds)
};

class ChangeFeed {
 public:
  ChangeFeed(std::shared_ptr<DBImpl> db, std::shared_ptr<FeedState> state);
  ~ChangeFeed();  // releases the name; the cursor stays registered
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  const std::string& name() const;

  // Appends to *out the committed puts after position(), in sequence order,
  // stopping after max_records puts or once their key+value bytes reach
  // max_bytes (at least one put is returned if one is available). Advances
  // position(). Returns the number appended; 0 means caught up.
  // Throws Errc::Corruption for a damaged WAL segment, Errc::Closed.
  size_t read(size_t max_records, size_t max_bytes, std::vector<Change>* out);

  // Last sequence number read (starts at acked()).
  uint64_t position() const { return position_; }
  // Moves position() back to acked() (e.g. to resend after a failure).
  void rewind();

  // Durably records that every change with seq <= `seq` was delivered: the
  // cursor file is fsync'd before this returns, and WAL segments no longer
  // needed by any feed (or the memtables) are deleted. Lower values than
  // acked() are ignored. Throws Errc::Io, Errc::Closed.
  void ack(uint64_t seq);
  uint64_t acked() const;

  // Waits until a change after position() is committed, the timeout passes
  // or the engine closes. Returns true if one is committed.
  bool wait(std::chrono::milliseconds timeout);

  // Changes skipped because their WAL segments were trimmed before this feed
  // acknowledged them (since this ChangeFeed was opened).
  uint64_t lost() const { return lost_; }
  // The engine's last committed sequence number.
  uint64_t last_seq() const;

 private:
  std::shared_ptr<DBImpl> db_;
  std::shared_ptr<FeedState> state_;
  uint64_t position_ = 0;
  uint64_t lost_ = 0;
  uint64_t segment_ = 0;         // WAL segment being read (0: look it up)
  uint64_t segment_offset_ = 0;  // record boundary to resume from
  std::string scratch_, buf_;
};

}  // namespace flowdb
