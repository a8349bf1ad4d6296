// Change feeds: WAL segment retention for feeds, durable feed cursors, and
// reading committed groups back from the WAL in sequence order.
#include <algorithm>
#include <limits>

#include "coding.h"
#include "crc32c.h"
#include "db_impl.h"
#include "flowdb/change_feed.h"
#include "log.h"
#include "wal_batch.h"

namespace flowdb {

namespace {

// Cursor file: a sequence of 16-byte records, fixed32 magic | fixed64 seq |
// fixed32 masked crc32c of the first 12 bytes. The last valid one wins; a
// torn last record is ignored (the one before it was synced).
constexpr uint32_t kCursorMagic = 0x31434446;  // "FDC1"
constexpr size_t kCursorRecord = 16;
constexpr uint64_t kCursorRewriteBytes = 64 * 1024;
constexpr std::string_view kCursorSuffix = ".cursor";

std::string cursor_record(uint64_t seq) {
  std::string r;
  put_fixed32(&r, kCursorMagic);
  put_fixed64(&r, seq);
  put_fixed32(&r, crc32c::mask(crc32c::value(r)));
  return r;
}

std::optional<uint64_t> parse_cursor_file(std::string_view data) {
  std::optional<uint64_t> seq;
  for (size_t off = 0; off + kCursorRecord <= data.size(); off += kCursorRecord) {
    const std::string_view r = data.substr(off, kCursorRecord);
    if (decode_fixed32(r.data()) != kCursorMagic) break;
    if (crc32c::unmask(decode_fixed32(r.data() + 12)) != crc32c::value(r.substr(0, 12))) break;
    seq = decode_fixed64(r.data() + 4);
  }
  return seq;
}

bool valid_feed_name(std::string_view n) {
  if (n.empty() || n.size() > 64 || n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// A read-only view of the first `cap` bytes of a file: the active WAL segment
// up to its last published group, so a reader never sees a half-appended one.
class CappedFile : public RandomAccessFile {
 public:
  CappedFile(std::unique_ptr<RandomAccessFile> f, uint64_t cap) : f_(std::move(f)), cap_(cap) {}
  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= cap_) return 0;
    return f_->read(offset, static_cast<size_t>(std::min<uint64_t>(n, cap_ - offset)), scratch);
  }
  uint64_t size() const override { return std::min(cap_, f_->size()); }

 private:
  std::unique_ptr<RandomAccessFile> f_;
  uint64_t cap_;
};

}  // namespace

// ------------------------------------------------------------ DBImpl: feeds

void DBImpl::write_feed_cursor(FeedState* f, uint64_t seq) {
  try {
    if (!f->file || f->file_bytes >= kCursorRewriteBytes) {
      if (f->file) f->file->close();
      f->file.reset();
      write_file_atomic(env_, f->path, cursor_record(seq));
      f->file = env_->new_appendable_file(f->path);
      f->file_bytes = kCursorRecord;
    } else {
      f->file->append(cursor_record(seq));
      f->file->sync();
      f->file_bytes += kCursorRecord;
    }
  } catch (...) {
    f->file.reset();  // unknown state: the next write starts a fresh file
    throw;
  }
  f->acked.store(seq, std::memory_order_release);
}

void DBImpl::load_feeds() {
  const std::string dir = cfg_.data_dir + "/feeds";
  if (cfg_.read_only && !env_->file_exists(dir)) return;
  if (!cfg_.read_only) env_->create_dir(dir);
  for (const auto& name : env_->get_children(dir)) {
    const std::string path = dir + "/" + name;
    if (name.ends_with(".tmp")) {  // an interrupted rewrite; the cursor itself is intact
      if (!cfg_.read_only) env_->remove_file(path);
      continue;
    }
    if (!name.ends_with(kCursorSuffix)) continue;
    const std::optional<uint64_t> seq = parse_cursor_file(read_file_to_string(env_, path));
    if (!seq) throw Error(Errc::Corruption, path + ": no valid feed cursor record");
    auto f = std::make_shared<FeedState>();
    f->name = name.substr(0, name.size() - kCursorSuffix.size());
    f->path = path;
    if (cfg_.read_only) {
      f->acked.store(*seq);
    } else {
      // Start each session with a one-record file, so appends never follow a torn record.
      std::lock_guard<std::mutex> fl(f->mu);
      write_feed_cursor(f.get(), *seq);
    }
    std::lock_guard<std::mutex> l(mu_);
    feeds_[f->name] = std::move(f);
  }
}

void DBImpl::register_wal_segments() {
  std::vector<uint64_t> logs;
  for (const auto& name : env_->get_children(cfg_.data_dir + "/wal")) {
    uint64_t n;
    if (parse_log_name(name, &n)) logs.push_back(n);
  }
  std::sort(logs.begin(), logs.end());
  std::map<uint64_t, uint64_t> segs;
  uint64_t next_first = last_seq_ + 1;
  for (auto it = logs.rbegin(); it != logs.rend(); ++it) {
    const std::string path = wal_path(*it);
    log::Reader reader(env_->new_random_access_file(path), path);
    std::string scratch, buf;
    std::string_view rec;
    if (reader.read_record(&scratch, &rec)) {
      next_first = WalBatchReader(wal_record_payload(rec, &buf, path, 0)).first_seq();
    }
    segs[*it] = next_first;  // an empty segment takes its successor's first
  }
  std::lock_guard<std::mutex> l(mu_);
  wal_segments_ = std::move(segs);
}

uint64_t DBImpl::segment_last_seq_locked(std::map<uint64_t, uint64_t>::const_iterator it) const {
  auto next = std::next(it);
  return next == wal_segments_.end() ? last_seq_ : next->second - 1;
}

void DBImpl::delete_obsolete_logs() {
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> l(mu_);
    const uint64_t log_number = versions_->log_number();
    uint64_t min_acked = std::numeric_limits<uint64_t>::max();
    for (const auto& [name, f] : feeds_) min_acked = std::min(min_acked, f->acked.load());
    auto it = wal_segments_.begin();
    while (it != wal_segments_.end() && it->first < log_number &&
           segment_last_seq_locked(it) <= min_acked) {
      doomed.push_back(it->first);
      it = wal_segments_.erase(it);
    }
  }
  for (uint64_t n : doomed) env_->remove_file(wal_path(n));
}

std::shared_ptr<FeedState> DBImpl::open_feed(const std::string& name) {
  if (!valid_feed_name(name)) {
    throw Error(Errc::InvalidArgument,
                "feed name '" + name + "': expected 1-64 characters of [A-Za-z0-9_.-]");
  }
  std::shared_ptr<FeedState> f;
  {
    std::lock_guard<std::mutex> l(mu_);
    check_open_locked();
    if (auto it = feeds_.find(name); it != feeds_.end()) {
      if (it->second->open) throw Error(Errc::Busy, "feed '" + name + "' is already open");
      it->second->open = true;
      return it->second;
    }
    f = std::make_shared<FeedState>();
    f->name = name;
    f->path = cfg_.data_dir + "/feeds/" + name + std::string(kCursorSuffix);
    f->acked = visible_seq_.load(std::memory_order_acquire);
    f->open = true;
    feeds_[name] = f;
  }
  try {
    std::lock_guard<std::mutex> fl(f->mu);
    write_feed_cursor(f.get(), f->acked.load());
  } catch (...) {
    std::lock_guard<std::mutex> l(mu_);
    feeds_.erase(name);
    throw;
  }
  return f;
}

void DBImpl::release_feed(FeedState* f) {
  std::lock_guard<std::mutex> l(mu_);
  f->open = false;
}

void DBImpl::drop_feed(const std::string& name) {
  std::shared_ptr<FeedState> f;
  {
    std::lock_guard<std::mutex> l(mu_);
    check_open_locked();
    auto it = feeds_.find(name);
    if (it == feeds_.end()) return;
    if (it->second->open) throw Error(Errc::Busy, "feed '" + name + "' is open");
    f = it->second;
    feeds_.erase(it);
  }
  {
    std::lock_guard<std::mutex> fl(f->mu);
    if (f->file) f->file->close();
    f->file.reset();
  }
  env_->remove_file(f->path);
  env_->sync_dir(cfg_.data_dir + "/feeds");
  delete_obsolete_logs();
}

void DBImpl::feed_ack(FeedState* f, uint64_t seq) {
  {
    std::lock_guard<std::mutex> l(mu_);
    check_open_locked();
    seq = std::min(seq, visible_seq_.load(std::memory_order_acquire));
  }
  {
    std::lock_guard<std::mutex> fl(f->mu);
    if (seq <= f->acked.load()) return;
    write_feed_cursor(f, seq);
  }
  delete_obsolete_logs();
}

uint64_t DBImpl::trim_feed_backlog(uint64_t bytes) {
  // Cursors stay where they are: a feed finds the gap when it reads on, and
  // counts it as lost (also after a restart, until it acknowledges past it).
  std::vector<uint64_t> doomed;
  uint64_t freed = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    check_open_locked();
    const uint64_t log_number = versions_->log_number();
    auto it = wal_segments_.begin();
    while (freed < bytes && it != wal_segments_.end() && it->first < log_number) {
      freed += env_->get_file_size(wal_path(it->first));
      doomed.push_back(it->first);
      it = wal_segments_.erase(it);
    }
  }
  for (uint64_t n : doomed) env_->remove_file(wal_path(n));
  return freed;
}

std::vector<FeedInfo> DBImpl::list_feeds() {
  std::vector<FeedInfo> out;
  std::vector<uint64_t> kept;
  {
    std::lock_guard<std::mutex> l(mu_);
    check_open_locked();
    const uint64_t log_number = versions_->log_number();
    for (const auto& [n, first] : wal_segments_) {
      if (n < log_number) kept.push_back(n);
    }
    const uint64_t last = visible_seq_.load(std::memory_order_acquire);
    for (const auto& [name, f] : feeds_) {
      const uint64_t acked = f->acked.load();
      out.push_back({name, acked, last, last > acked ? last - acked : 0, 0});
    }
  }
  uint64_t retained = 0;
  for (uint64_t n : kept) {
    try {
      retained += env_->get_file_size(wal_path(n));
    } catch (const Error&) {
      // Deleted meanwhile.
    }
  }
  for (auto& i : out) i.retained_bytes = retained;
  return out;
}

DBImpl::WalTail DBImpl::wal_tail() {
  std::lock_guard<std::mutex> l(mu_);
  check_open_locked();
  return {log_file_number_, wal_tail_bytes_, visible_seq_.load(std::memory_order_acquire)};
}

std::optional<std::pair<uint64_t, uint64_t>> DBImpl::wal_segment_for(uint64_t seq) {
  std::lock_guard<std::mutex> l(mu_);
  if (wal_segments_.empty()) return std::nullopt;
  for (auto it = wal_segments_.rbegin(); it != wal_segments_.rend(); ++it) {
    if (it->second <= seq) return *it;
  }
  return *wal_segments_.begin();
}

std::optional<std::pair<uint64_t, uint64_t>> DBImpl::wal_segment_after(uint64_t number) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = wal_segments_.upper_bound(number);
  if (it == wal_segments_.end()) return std::nullopt;
  return *it;
}

bool DBImpl::wait_visible_after(uint64_t seq, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  check_open_locked();
  feed_cv_.wait_for(l, timeout,
                    [&] { return closed_ || visible_seq_.load(std::memory_order_acquire) > seq; });
  return !closed_ && visible_seq_.load(std::memory_order_acquire) > seq;
}

// ------------------------------------------------------------ ChangeFeed

ChangeFeed::ChangeFeed(std::shared_ptr<DBImpl> db, std::shared_ptr<FeedState> state)
    : db_(std::move(db)), state_(std::move(state)), position_(state_->acked.load()) {}

ChangeFeed::~ChangeFeed() { db_->release_feed(state_.get()); }

const std::string& ChangeFeed::name() const { return state_->name; }

uint64_t ChangeFeed::acked() const { return state_->acked.load(std::memory_order_acquire); }

void ChangeFeed::rewind() {
  position_ = acked();
  segment_ = 0;
}

void ChangeFeed::ack(uint64_t seq) { db_->feed_ack(state_.get(), seq); }

bool ChangeFeed::wait(std::chrono::milliseconds timeout) {
  return db_->wait_visible_after(position_, timeout);
}

uint64_t ChangeFeed::last_seq() const { return db_->wal_tail().visible_seq; }

size_t ChangeFeed::read(size_t max_records, size_t max_bytes, std::vector<Change>* out) {
  size_t records = 0, bytes = 0;
  auto full = [&] { return records > 0 && (records >= max_records || bytes >= max_bytes); };
  for (;;) {
    const DBImpl::WalTail tail = db_->wal_tail();
    if (position_ >= tail.visible_seq || full()) return records;
    if (segment_ == 0) {
      const auto seg = db_->wal_segment_for(position_ + 1);
      const uint64_t first = seg ? seg->second : tail.visible_seq + 1;
      if (first > position_ + 1) {  // trimmed away before we got to it
        const uint64_t resume = std::min(first - 1, tail.visible_seq);
        lost_ += resume - position_;
        position_ = resume;
        if (!seg) return records;
      }
      segment_ = seg->first;
      segment_offset_ = 0;
    }
    const std::string path = db_->wal_path(segment_);
    const bool active = segment_ == tail.number;
    std::unique_ptr<RandomAccessFile> file;
    try {
      file = db_->env()->new_random_access_file(path);
    } catch (const Error&) {
      if (db_->env()->file_exists(path)) throw;
      segment_ = 0;  // trimmed meanwhile: look up again
      continue;
    }
    if (active) file = std::make_unique<CappedFile>(std::move(file), tail.bytes);
    log::Reader reader(std::move(file), path, segment_offset_);
    std::string_view rec;
    while (reader.read_record(&scratch_, &rec)) {
      WalBatchReader batch(wal_record_payload(rec, &buf_, path, reader.last_record_end()));
      if (batch.first_seq() > tail.visible_seq) return records;  // not published yet
      if (batch.count() > 0 && batch.last_seq() > position_) {
        WalEntry e;
        while (batch.next(&e)) {
          if (e.seq <= position_) continue;
          if (full()) return records;  // resume inside this group next time
          if (e.tag == kWalPut) {
            out->push_back(
                Change{e.seq, Record(std::string(e.key), e.ts, e.expire_at, std::string(e.value))});
            ++records;
            bytes += e.key.size() + e.value.size();
          }
          position_ = e.seq;
        }
      }
      segment_offset_ = reader.last_record_end();
    }
    if (active) return records;  // caught up with what is published
    if (reader.hit_torn_tail()) {
      throw Error(Errc::Corruption, path + ": damaged WAL record at offset " +
                                        std::to_string(reader.last_record_end()) +
                                        " in a segment kept for change feeds");
    }
    // The next group is in a later segment (sequence numbers continue there).
    const auto next = db_->wal_segment_after(segment_);
    if (!next) return records;
    segment_ = next->first;
    segment_offset_ = 0;
  }
}

}  // namespace flowdb
