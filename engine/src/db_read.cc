// The read path: point reads, latest-value reads and lazy scans.
#include <chrono>
#include <iterator>
#include <limits>

#include "db_impl.h"
#include "dbformat.h"
#include "merger.h"

namespace flowdb {

namespace {

constexpr int kSkipsBeforeSeek = 8;

bool key_ranges_overlap(const FileMeta& f, std::string_view start,
                        const std::optional<std::string>& end) {
  if (f.props.largest_user_key < start) return false;
  if (end && f.props.smallest_user_key >= *end) return false;
  return true;
}

}  // namespace

bool visible(const std::vector<RangeTombstone>& rts, uint64_t snap_seq, std::string_view user_key,
             uint64_t seq, ValueType type, int64_t expire_at, int64_t now) {
  if (type == ValueType::Deletion) return false;
  for (const auto& t : rts) {
    if (t.seq <= snap_seq && t.covers(user_key, seq)) return false;
  }
  return expire_at > now;
}

class ScanIterator::Impl {
 public:
  Impl(std::shared_ptr<DBImpl> db, std::shared_ptr<const SnapshotState> snap,
       const ScanRange& range, const ReadOptions& opts)
      : db_(std::move(db)),
        snap_(std::move(snap)),
        end_(range.end_key),
        ts_start_(range.ts_start),
        ts_end_(range.ts_end),
        now_(db_->now()),
        // [key, key + '\0') holds exactly one key: the Bloom filter can skip
        // files, and the scan ends at its first point after ts_end.
        single_key_(end_ && end_->size() == range.start_key.size() + 1 && end_->back() == '\0' &&
                    end_->compare(0, range.start_key.size(), range.start_key) == 0) {
    if (ts_start_ > ts_end_) return;  // empty time range: nothing to return
    seek_buf_.clear();
    append_internal_key(&seek_buf_, range.start_key, ts_start_, kMaxSequence, ValueType::Value);
    // Each source is positioned at the start, and only those holding an
    // entry of the key range from there on take part: a short scan of one
    // series then usually reads one source directly, with no merge.
    std::vector<std::unique_ptr<InternalIterator>> children;
    auto add = [&](std::unique_ptr<InternalIterator> child) {
      child->seek(seek_buf_);
      if (!child->valid() || (end_ && extract_user_key(child->key()) >= *end_)) return;
      children.push_back(std::move(child));
    };
    const SuperVersion& sv = *snap_->sv;
    auto add_mem = [&](const MemTable& m) {
      // min/max ts cover every entry this snapshot can see (they are updated
      // before the entry's sequence is published).
      if (m.max_ts() >= ts_start_ && m.min_ts() <= ts_end_) add(m.new_iterator());
    };
    add_mem(*sv.active.mem);
    for (const auto& m : sv.frozen) add_mem(*m.mem);
    const int64_t w = db_->bucket_width_us();
    const auto& buckets = sv.version->buckets;
    for (auto it = buckets.lower_bound(bucket_of(ts_start_, w));
         it != buckets.end() && it->first <= bucket_of(ts_end_, w); ++it) {
      for (const auto& f : it->second) {
        if (f->props.max_ts < ts_start_ || f->props.min_ts > ts_end_) continue;
        if (!key_ranges_overlap(*f, range.start_key, end_)) continue;
        auto table = db_->table_cache()->get(*f);
        if (single_key_ && !table->may_contain(range.start_key)) {
          db_->read_counters()->bloom_skips.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        db_->counters()->files_opened.fetch_add(1, std::memory_order_relaxed);
        add(table->new_iterator(opts, ts_start_, ts_end_));  // the iterator keeps its table open
      }
    }
    // The merge picks up its children where they stand (no second seek).
    it_ = new_merging_iterator(std::move(children));
    started_ = true;
  }

  ~Impl() { db_->counters()->records_read.fetch_add(returned_, std::memory_order_relaxed); }

  // The children of the merge were chosen for [start_key, end): a forward
  // seek stays inside it, so re-seeking them is all it takes.
  void seek(std::string_view key) {
    if (!started_) return;
    if (end_ && key >= *end_) {  // past the range (also a single-key scan's one key)
      started_ = false;
      return;
    }
    seek_buf_.clear();
    append_internal_key(&seek_buf_, key, ts_start_, kMaxSequence, ValueType::Value);
    it_->seek(seek_buf_);
    have_key_ = false;
  }

  const Record* next() {
    if (!started_) return nullptr;
    const uint64_t snap_seq = snap_->seq;
    int skipped = 0;
    while (it_->valid()) {
      ParsedInternalKey k;
      std::string_view ik = it_->key();
      if (!parse_internal_key(ik, &k)) {
        throw Error(Errc::Corruption, "malformed internal key during scan");
      }
      if (!have_key_ || k.user_key != cur_key_) {  // the first entry of a key
        if (end_ && k.user_key >= *end_) break;
        cur_key_.assign(k.user_key);
        have_key_ = true;
        have_ts_ = false;
        rec_key_stale_ = true;
      }
      if (k.seq > snap_seq) {  // written after this scan began
        it_->next();
        continue;
      }
      if (have_ts_ && k.ts == cur_ts_) {  // older version
        it_->next();
        continue;
      }
      cur_ts_ = k.ts;
      have_ts_ = true;
      if (k.ts < ts_start_ || k.ts > ts_end_) {
        if (single_key_ && k.ts > ts_end_) break;  // the key's later points are all later
        if (++skipped < kSkipsBeforeSeek) {
          it_->next();
        } else {
          // Many points of this key lie outside the window: jump.
          skipped = 0;
          seek_buf_.clear();
          if (k.ts < ts_start_) {
            append_internal_key(&seek_buf_, cur_key_, ts_start_, kMaxSequence, ValueType::Value);
          } else {
            // cur_key_ + '\0' is the smallest key after cur_key_.
            seek_buf_.assign(cur_key_);
            seek_buf_.push_back('\0');
            append_internal_key(&seek_buf_, {}, std::numeric_limits<int64_t>::min(), kMaxSequence,
                                ValueType::Value);
          }
          it_->seek(seek_buf_);
        }
        continue;
      }
      std::string_view v = it_->value();
      if (v.size() < 8) throw Error(Errc::Corruption, "malformed entry value during scan");
      const int64_t exp = entry_expire_at(v);
      if (!visible(snap_->sv->tombstones, snap_seq, k.user_key, k.seq, k.type, exp, now_)) {
        if (k.type == ValueType::Value && exp <= now_) {
          db_->counters()->records_expired.fetch_add(1, std::memory_order_relaxed);
        }
        it_->next();
        continue;
      }
      if (rec_key_stale_) {
        rec_.key.assign(cur_key_);
        rec_key_stale_ = false;
      }
      rec_.ts = k.ts;
      rec_.expire_at = exp;
      rec_.value.assign(entry_user_value(v));
      it_->next();
      ++returned_;
      return &rec_;
    }
    started_ = false;
    return nullptr;
  }

 private:
  std::shared_ptr<DBImpl> db_;
  std::shared_ptr<const SnapshotState> snap_;
  std::unique_ptr<InternalIterator> it_;
  const std::optional<std::string> end_;
  const int64_t ts_start_, ts_end_;
  const int64_t now_;
  const bool single_key_;
  bool started_ = false;
  // The key of the entries being read, and the ts of the last version that
  // was considered (older versions of it are skipped).
  bool have_key_ = false;
  bool have_ts_ = false;
  bool rec_key_stale_ = true;  // rec_.key is not cur_key_
  std::string cur_key_;
  int64_t cur_ts_ = 0;
  std::string seek_buf_;
  Record rec_;
  uint64_t returned_ = 0;
};

ScanIterator::ScanIterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScanIterator::ScanIterator(ScanIterator&&) noexcept = default;
ScanIterator& ScanIterator::operator=(ScanIterator&&) noexcept = default;
ScanIterator::~ScanIterator() = default;
const Record* ScanIterator::next() { return impl_ ? impl_->next() : nullptr; }
void ScanIterator::seek(std::string_view key) {
  if (impl_) impl_->seek(key);
}

std::shared_ptr<const SnapshotState> DBImpl::snapshot() {
  MutexLock l(&mu_);
  check_open_locked();
  auto s = std::make_shared<SnapshotState>();
  s->sv = sv_;
  s->seq = visible_seq_.load(std::memory_order_acquire);
  return s;
}

ScanIterator DBImpl::new_scan(const ScanRange& range, const ReadOptions& opts) {
  auto snap = opts.snapshot ? opts.snapshot->state() : snapshot();
  return ScanIterator(
      std::make_unique<ScanIterator::Impl>(shared_from_this(), std::move(snap), range, opts));
}

namespace {

// What a point read pins: a SuperVersion and the sequence it reads at.
enum class Lookup { kAbsent, kHidden, kVisible };

// The table of `m` if it may hold `key` (key range, then Bloom filter), else
// null; counts the Bloom skip or the file consulted.
auto probe_table(DBImpl& db, const FileMeta& m, std::string_view key)
    -> decltype(db.table_cache()->get(m)) {
  if (key < m.props.smallest_user_key || key > m.props.largest_user_key) return nullptr;
  auto table = db.table_cache()->get(m);
  if (!table->may_contain(key)) {
    db.read_counters()->bloom_skips.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  db.counters()->files_opened.fetch_add(1, std::memory_order_relaxed);
  return table;
}

// The newest version of (key, ts) with a sequence <= snap_seq, judged by the
// visibility rules: kVisible (*out filled), kHidden (deleted, expired or
// range-deleted) or kAbsent (no version at or below snap_seq). Sources are
// consulted newest first (active memtable, frozen ones, then the bucket's
// files newest first), and the first one holding a version decides.
Lookup lookup_version(DBImpl& db, const SuperVersion& sv, uint64_t snap_seq, int64_t now,
                      std::string_view key, int64_t ts, const ReadOptions& opts,
                      std::optional<Record>* out) {
  thread_local std::string target;
  target.clear();
  append_internal_key(&target, key, ts, snap_seq, ValueType::Value);
  Lookup verdict = Lookup::kAbsent;
  auto judge = [&](const ParsedInternalKey& k, std::string_view v) {
    if (k.user_key != key || k.ts != ts) return false;
    if (v.size() < 8) throw Error(Errc::Corruption, "malformed entry value");
    const int64_t exp = entry_expire_at(v);
    if (visible(sv.tombstones, snap_seq, k.user_key, k.seq, k.type, exp, now)) {
      out->emplace(std::string(key), ts, exp, std::string(entry_user_value(v)));
      verdict = Lookup::kVisible;
    } else {
      if (k.type == ValueType::Value && exp <= now) {
        db.counters()->records_expired.fetch_add(1, std::memory_order_relaxed);
      }
      verdict = Lookup::kHidden;
    }
    return true;
  };
  auto check_mem = [&](const MemTable& m) {
    ParsedInternalKey k;
    std::string_view v;
    return m.seek(target, &k, &v) && judge(k, v);
  };
  if (check_mem(*sv.active.mem)) return verdict;
  for (const auto& m : sv.frozen) {
    if (check_mem(*m.mem)) return verdict;
  }
  auto b = sv.version->buckets.find(bucket_of(ts, db.bucket_width_us()));
  if (b == sv.version->buckets.end()) return verdict;
  for (auto f = b->second.rbegin(); f != b->second.rend(); ++f) {
    const FileMeta& m = **f;
    if (ts < m.props.min_ts || ts > m.props.max_ts) continue;
    auto table = probe_table(db, m, key);
    if (!table) continue;
    auto it = table->new_iterator(opts, ts, ts);
    it->seek(target);
    if (!it->valid()) continue;
    ParsedInternalKey k;
    if (!parse_internal_key(it->key(), &k)) throw Error(Errc::Corruption, "malformed internal key");
    if (judge(k, it->value())) return verdict;
  }
  return verdict;
}

// The largest ts <= hi of any entry of `key` (any sequence, visible or
// not); false if there is none. Memtables answer with one backward search
// each; files are searched bucket by bucket from bucket_of(hi) down,
// stopping once a bucket ends below the best ts found so far.
bool latest_ts_at_or_before(DBImpl& db, const SuperVersion& sv, std::string_view key, int64_t hi,
                            const ReadOptions& opts, int64_t* best) {
  thread_local std::string target;
  target.clear();
  // Sequence 0 of type Deletion sorts after every version of (key, hi).
  append_internal_key(&target, key, hi, 0, ValueType::Deletion);
  bool have = false;
  auto consider = [&](int64_t ts) {
    if (!have || ts > *best) *best = ts;
    have = true;
  };
  auto check_mem = [&](const MemTable& m) {
    ParsedInternalKey k;
    std::string_view v;
    if (m.seek_last(target, &k, &v)) consider(k.ts);
  };
  check_mem(*sv.active.mem);
  for (const auto& m : sv.frozen) check_mem(*m.mem);

  const int64_t w = db.bucket_width_us();
  const auto& buckets = sv.version->buckets;
  for (auto b = std::make_reverse_iterator(buckets.upper_bound(bucket_of(hi, w)));
       b != buckets.rend(); ++b) {
    const int64_t lo = bucket_start(b->first, w);
    if (have && bucket_end(b->first, w) <= *best) break;  // nothing newer below here
    for (auto f = b->second.rbegin(); f != b->second.rend(); ++f) {
      const FileMeta& m = **f;
      if (m.props.min_ts > hi || (have && m.props.max_ts <= *best)) continue;
      auto table = probe_table(db, m, key);
      if (!table) continue;
      auto it = table->new_iterator(opts, have ? std::max(lo, *best) : lo, hi);
      it->seek_for_prev(target);
      if (it->valid() && extract_user_key(it->key()) == key) consider(extract_ts(it->key()));
    }
  }
  return have;
}

}  // namespace

// Point reads pin the current state without allocating a snapshot object.
DBImpl::ReadState DBImpl::pin_read_state(const ReadOptions& opts) {
  if (opts.snapshot) return {opts.snapshot->state()->sv, opts.snapshot->state()->seq};
  MutexLock l(&mu_);
  check_open_locked();
  return {sv_, visible_seq_.load(std::memory_order_acquire)};
}

std::optional<Record> DBImpl::get(std::string_view key, int64_t ts, const ReadOptions& opts) {
  const uint64_t start = steady_us();
  const ReadState rs = pin_read_state(opts);
  std::optional<Record> result;
  lookup_version(*this, *rs.pinned, rs.seq, cfg_.clock(), key, ts, opts, &result);
  if (result) counters_.records_read.fetch_add(1, std::memory_order_relaxed);
  counters_.query_latency.record(steady_us() - start);
  return result;
}

std::optional<Record> DBImpl::get_latest(std::string_view key, const ReadOptions& opts) {
  const uint64_t start = steady_us();
  const ReadState rs = pin_read_state(opts);
  const int64_t now = cfg_.clock();
  // Backwards from the end of time: the largest ts holding any version of
  // the key, then that ts's newest version at the snapshot. A hidden one
  // (deleted, expired, range-deleted, or newer than the snapshot) moves the
  // search below that ts; the first visible one is the answer. Usually one
  // step.
  //
  // After a few hidden steps (an expired or range-deleted stretch of the
  // key) a step is one scan of the candidate ts's bucket instead, so a key
  // with thousands of hidden versions costs one pass over them, not one
  // search of every source per version.
  constexpr int kPointSteps = 4;
  constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();
  std::optional<Record> result;
  int64_t hi = std::numeric_limits<int64_t>::max();
  int64_t ts = 0;
  for (int step = 0; latest_ts_at_or_before(*this, *rs.pinned, key, hi, opts, &ts); ++step) {
    if (step < kPointSteps) {
      if (lookup_version(*this, *rs.pinned, rs.seq, now, key, ts, opts, &result) ==
          Lookup::kVisible) {
        break;
      }
      if (ts == kMinTs) break;
      hi = ts - 1;
      continue;
    }
    const int64_t w = bucket_width_us();
    const int64_t lo = bucket_start(bucket_of(ts, w), w);
    std::string end(key);
    end.push_back('\0');  // the key's immediate successor: a one-key scan
    ScanIterator::Impl it(
        shared_from_this(), std::make_shared<const SnapshotState>(SnapshotState{rs.pinned, rs.seq}),
        ScanRange::key_time_range(std::string(key), std::move(end), lo, ts), opts);
    while (const Record* r = it.next()) result = *r;
    if (result || lo == kMinTs) break;
    hi = lo - 1;
  }
  if (result) counters_.records_read.fetch_add(1, std::memory_order_relaxed);
  counters_.query_latency.record(steady_us() - start);
  return result;
}

Record DBImpl::patch_record(std::string_view key, int64_t ts, std::optional<std::string> new_value,
                            std::optional<uint64_t> new_ttl_secs) {
  MutexLock l(&patch_mu_);
  auto cur = get(key, ts, {});
  if (!cur) {
    throw Error(Errc::NotFound, "patch_record: no visible record for the given key and ts");
  }
  Record r = std::move(*cur);
  if (new_value) r.value = std::move(*new_value);
  // new_ttl_secs re-derives expire_at from ts; otherwise the old expiry stays.
  if (new_ttl_secs) r.expire_at = saturating_expiry(ts, *new_ttl_secs);
  WriteBatch b;
  b.put(r);
  write(b, WriteOptions{}, WriteMode::kAsIs);
  return r;
}

}  // namespace flowdb
