// FeedManager: the change-feed registry, the durable feed cursors and the
// WAL retention decision (which segments may be deleted), kept out of
// DBImpl as RocksDB keeps WalManager. DBImpl owns one and tells it about
// each new WAL segment; a ChangeFeed (db_feed.cc) looks segments up here.
//
// A WAL segment is kept while it is not older than the manifest's
// log_number (its memtable is not flushed yet) or some feed has not
// acknowledged all of it. Cursor format: engine/doc/format.md ("Feed cursor").
//
// Thread-safety: thread-safe. Its mutex is a leaf: it is never held while
// calling out (callers may hold DBImpl::mu_), and file I/O other than cursor
// writes happens outside it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "flowdb/change_feed.h"
#include "flowdb/env.h"
#include "mutex.h"
#include "thread_annotations.h"

namespace flowdb {

class FeedManager;

// A registered change feed.
struct FeedState {
  std::string name, path;
  std::atomic<uint64_t> acked{0};
  Mutex mu;  // serializes cursor writes
  std::unique_ptr<WritableFile> file GUARDED_BY(mu);
  uint64_t file_bytes GUARDED_BY(mu) = 0;
};

class FeedManager {
 public:
  FeedManager(Env* env, std::string data_dir, bool read_only);
  FeedManager(const FeedManager&) = delete;
  FeedManager& operator=(const FeedManager&) = delete;

  // --- Open (before any other use).
  // Reads the cursors in <data_dir>/feeds (read_only: changing nothing,
  // else rewriting each as a one-record file).
  void load();
  // The highest acknowledged sequence of any feed (0 if none).
  uint64_t max_acked() EXCLUDES(mu_);
  // Registers the WAL segments on disk with their first sequences; an empty
  // segment takes its successor's, the newest one last_seq + 1.
  void register_segments(uint64_t last_seq) EXCLUDES(mu_);

  // --- Segments.
  // A new active WAL segment whose first entry will be first_seq.
  void add_segment(uint64_t number, uint64_t first_seq) EXCLUDES(mu_);
  // Deletes the segments older than log_number that every feed has
  // acknowledged; last_seq is the engine's last assigned sequence.
  void delete_obsolete_segments(uint64_t log_number, uint64_t last_seq) EXCLUDES(mu_);
  // Deletes the oldest segments older than log_number until `bytes` are
  // freed, whatever the feeds acknowledged; returns the bytes freed.
  uint64_t trim(uint64_t bytes, uint64_t log_number) EXCLUDES(mu_);
  // The kept segment holding `seq` (the newest one whose first sequence is
  // <= seq), else the oldest one: (number, first_seq). nullopt if none.
  std::optional<std::pair<uint64_t, uint64_t>> segment_for(uint64_t seq) EXCLUDES(mu_);
  // The kept segment after `number`: (number, first_seq).
  std::optional<std::pair<uint64_t, uint64_t>> segment_after(uint64_t number) EXCLUDES(mu_);

  // --- Feeds.
  // Marks the feed open, registering it if new with its cursor at the
  // engine's visible sequence, read under mu_: a segment deletion is then
  // either before it (and took only sequences <= that) or sees the feed.
  // Throws Errc::InvalidArgument for a bad name, Errc::Busy if it is open.
  std::shared_ptr<FeedState> open(const std::string& name, const std::atomic<uint64_t>& visible_seq)
      EXCLUDES(mu_);
  void release(FeedState* f) EXCLUDES(mu_);
  // Unregisters a closed feed and deletes its cursor (no-op if unknown).
  // Throws Errc::Busy if it is open. The caller then deletes obsolete segments.
  void drop(const std::string& name) EXCLUDES(mu_);
  // Durably moves f's cursor to seq; false if it is there already.
  bool ack(FeedState* f, uint64_t seq);
  // Every feed, last_seq being the engine's last visible sequence;
  // retained_bytes counts the segments older than log_number.
  std::vector<FeedInfo> list(uint64_t log_number, uint64_t last_seq) EXCLUDES(mu_);

 private:
  std::string wal_path(uint64_t number) const;
  uint64_t segment_last_seq_locked(std::map<uint64_t, uint64_t>::const_iterator it,
                                   uint64_t last_seq) const REQUIRES(mu_);
  void write_cursor(FeedState* f, uint64_t seq) REQUIRES(f->mu);

  Env* const env_;
  const std::string data_dir_;
  const bool read_only_;

  Mutex mu_;
  std::map<std::string, std::shared_ptr<FeedState>, std::less<>> feeds_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> open_ GUARDED_BY(mu_);  // held by a ChangeFeed
  std::map<uint64_t, uint64_t> segments_ GUARDED_BY(mu_);    // number -> first sequence
};

}  // namespace flowdb
