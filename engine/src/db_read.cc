// The read path: point reads, latest-value reads and lazy scans.
#include <chrono>
#include <set>

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
        now_(db_->now()) {
    std::vector<std::unique_ptr<InternalIterator>> children;
    const SuperVersion& sv = *snap_->sv;
    children.push_back(sv.active.mem->new_iterator());
    for (const auto& m : sv.frozen) children.push_back(m.mem->new_iterator());
    if (ts_start_ <= ts_end_) {
      const int64_t w = db_->bucket_width_us();
      const auto& buckets = sv.version->buckets;
      // An exact-key range lets the Bloom filter skip files.
      const bool exact = end_ && end_->size() == range.start_key.size() + 1 &&
                         end_->back() == '\0' &&
                         end_->compare(0, range.start_key.size(), range.start_key) == 0;
      for (auto it = buckets.lower_bound(bucket_of(ts_start_, w));
           it != buckets.end() && it->first <= bucket_of(ts_end_, w); ++it) {
        for (const auto& f : it->second) {
          if (f->props.max_ts < ts_start_ || f->props.min_ts > ts_end_) continue;
          if (!key_ranges_overlap(*f, range.start_key, end_)) continue;
          auto table = db_->table_cache()->get(*f);
          if (exact && !table->may_contain(range.start_key)) {
            db_->read_counters()->bloom_skips.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          db_->counters()->files_opened.fetch_add(1, std::memory_order_relaxed);
          children.push_back(table->new_iterator(opts, ts_start_, ts_end_));
          tables_.push_back(std::move(table));
        }
      }
    }
    it_ = new_merging_iterator(std::move(children));
    if (ts_start_ > ts_end_) return;  // empty time range: nothing to return
    seek_buf_.clear();
    append_internal_key(&seek_buf_, range.start_key, ts_start_, kMaxSequence, ValueType::Value);
    it_->seek(seek_buf_);
    started_ = true;
  }

  ~Impl() { db_->counters()->records_read.fetch_add(returned_, std::memory_order_relaxed); }

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
      if (end_ && k.user_key >= *end_) break;
      if (k.seq > snap_seq) {  // written after this scan began
        it_->next();
        continue;
      }
      if (have_prev_ && k.ts == prev_ts_ && k.user_key == prev_key_) {  // older version
        it_->next();
        continue;
      }
      prev_key_.assign(k.user_key);
      prev_ts_ = k.ts;
      have_prev_ = true;
      if (k.ts < ts_start_ || k.ts > ts_end_) {
        if (++skipped < kSkipsBeforeSeek) {
          it_->next();
        } else {
          // Many points of this key lie outside the window: jump.
          skipped = 0;
          seek_buf_.clear();
          if (k.ts < ts_start_) {
            append_internal_key(&seek_buf_, prev_key_, ts_start_, kMaxSequence, ValueType::Value);
          } else {
            // prev_key_ + '\0' is the smallest key after prev_key_.
            seek_buf_.assign(prev_key_);
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
      rec_.key.assign(k.user_key);
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
  std::vector<std::shared_ptr<Table>> tables_;  // keeps open the tables iterated
  std::unique_ptr<InternalIterator> it_;
  const std::optional<std::string> end_;
  const int64_t ts_start_, ts_end_;
  const int64_t now_;
  bool started_ = false;
  bool have_prev_ = false;
  std::string prev_key_;
  int64_t prev_ts_ = 0;
  std::string seek_buf_;
  Record rec_;
  uint64_t returned_ = 0;
};

ScanIterator::ScanIterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScanIterator::ScanIterator(ScanIterator&&) noexcept = default;
ScanIterator& ScanIterator::operator=(ScanIterator&&) noexcept = default;
ScanIterator::~ScanIterator() = default;
const Record* ScanIterator::next() { return impl_ ? impl_->next() : nullptr; }

std::shared_ptr<const SnapshotState> DBImpl::snapshot() {
  std::lock_guard<std::mutex> l(mu_);
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

std::optional<Record> DBImpl::get(std::string_view key, int64_t ts, const ReadOptions& opts) {
  const uint64_t start = steady_us();
  // Point reads pin the current state without allocating a snapshot object.
  std::shared_ptr<const SuperVersion> pinned;
  uint64_t snap_seq;
  if (opts.snapshot) {
    pinned = opts.snapshot->state()->sv;
    snap_seq = opts.snapshot->state()->seq;
  } else {
    std::lock_guard<std::mutex> l(mu_);
    check_open_locked();
    pinned = sv_;
    snap_seq = visible_seq_.load(std::memory_order_acquire);
  }
  const SuperVersion& sv = *pinned;
  const int64_t now = cfg_.clock();
  thread_local std::string target;
  target.clear();
  append_internal_key(&target, key, ts, snap_seq, ValueType::Value);

  std::optional<Record> result;
  // Evaluates the first entry at or after `target`; true if it is (key, ts).
  auto check = [&](std::string_view ikey, std::string_view v) {
    ParsedInternalKey k;
    if (!parse_internal_key(ikey, &k)) throw Error(Errc::Corruption, "malformed internal key");
    if (k.user_key != key || k.ts != ts) return false;
    if (v.size() < 8) throw Error(Errc::Corruption, "malformed entry value");
    int64_t exp = entry_expire_at(v);
    if (visible(sv.tombstones, snap_seq, k.user_key, k.seq, k.type, exp, now)) {
      result.emplace(std::string(key), ts, exp, std::string(entry_user_value(v)));
    } else if (k.type == ValueType::Value && exp <= now) {
      counters_.records_expired.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
  };
  auto check_mem = [&](const MemTable& m) {
    std::string_view k, v;
    return m.seek(target, &k, &v) && check(k, v);
  };

  bool found = check_mem(*sv.active.mem);
  for (size_t i = 0; !found && i < sv.frozen.size(); ++i) found = check_mem(*sv.frozen[i].mem);
  if (!found) {
    auto b = sv.version->buckets.find(bucket_of(ts, bucket_width_us_));
    if (b != sv.version->buckets.end()) {
      for (auto f = b->second.rbegin(); !found && f != b->second.rend(); ++f) {
        const FileMeta& m = **f;
        if (ts < m.props.min_ts || ts > m.props.max_ts || key < m.props.smallest_user_key ||
            key > m.props.largest_user_key) {
          continue;
        }
        auto table = table_cache_->get(m);
        if (!table->may_contain(key)) {
          read_counters_.bloom_skips.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        counters_.files_opened.fetch_add(1, std::memory_order_relaxed);
        auto it = table->new_iterator(opts, ts, ts);
        it->seek(target);
        found = it->valid() && check(it->key(), it->value());
      }
    }
  }
  if (result) counters_.records_read.fetch_add(1, std::memory_order_relaxed);
  counters_.query_latency.record(steady_us() - start);
  return result;
}

std::optional<Record> DBImpl::get_latest(std::string_view key, const ReadOptions& opts) {
  const uint64_t start = steady_us();
  ReadOptions ro = opts;
  if (!ro.snapshot) ro.snapshot = std::make_shared<const Snapshot>(snapshot());
  const auto& snap = ro.snapshot->state();
  const SuperVersion& sv = *snap->sv;
  const int64_t w = bucket_width_us_;

  // Candidate buckets: those of the key's memtable entries, and those whose
  // files may hold the key. Visit them newest first (opening tables lazily);
  // the first bucket with a visible version holds the answer.
  std::set<int64_t, std::greater<>> mem_buckets;
  auto collect_mem = [&](const MemTable& mem) {
    auto it = mem.new_iterator();
    std::string target =
        make_internal_key(key, std::numeric_limits<int64_t>::min(), kMaxSequence, ValueType::Value);
    it->seek(target);
    while (it->valid() && extract_user_key(it->key()) == key) {
      int64_t b = bucket_of(extract_ts(it->key()), w);
      mem_buckets.insert(b);
      const int64_t next = bucket_end(b, w);
      // Stop at the last bucket, and never seek backwards (no progress).
      if (next == std::numeric_limits<int64_t>::max() || next < extract_ts(it->key())) break;
      target = make_internal_key(key, next + 1, kMaxSequence, ValueType::Value);
      it->seek(target);
    }
  };
  collect_mem(*sv.active.mem);
  for (const auto& m : sv.frozen) collect_mem(*m.mem);
  auto file_may_hold = [&](const std::vector<FileRef>& files) {
    for (const auto& f : files) {
      if (key < f->props.smallest_user_key || key > f->props.largest_user_key) continue;
      if (table_cache_->get(*f)->may_contain(key)) return true;
      read_counters_.bloom_skips.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
  };
  std::string end(key);
  end.push_back('\0');
  std::optional<Record> result;
  auto try_bucket = [&](int64_t b) {
    const int64_t lo = bucket_start(b, w), hi = bucket_end(b, w);
    ScanIterator::Impl it(shared_from_this(), snap,
                          ScanRange::key_time_range(std::string(key), end, lo, hi), ro);
    while (const Record* r = it.next()) result = *r;
    return result.has_value();
  };
  const auto& vb = sv.version->buckets;
  auto fit = vb.rbegin();
  auto mit = mem_buckets.begin();
  while (!result && (fit != vb.rend() || mit != mem_buckets.end())) {
    // Next bucket in descending order from either source.
    int64_t b;
    bool from_mem = mit != mem_buckets.end() && (fit == vb.rend() || *mit >= fit->first);
    b = from_mem ? *mit : fit->first;
    bool candidate = from_mem;
    if (fit != vb.rend() && fit->first == b) {
      candidate = candidate || file_may_hold(fit->second);
      ++fit;
    }
    if (from_mem) ++mit;
    if (candidate) try_bucket(b);
  }
  counters_.query_latency.record(steady_us() - start);
  return result;
}

Record DBImpl::patch_record(std::string_view key, int64_t ts, std::optional<std::string> new_value,
                            std::optional<uint64_t> new_ttl_secs) {
  std::lock_guard<std::mutex> l(patch_mu_);
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
  write(b, false, std::nullopt, /*apply_ttl=*/false);
  return r;
}

}  // namespace flowdb
