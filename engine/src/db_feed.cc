// Change feeds: DBImpl's feed calls (over its FeedManager, feed_manager.h)
// and ChangeFeed, which reads committed groups back from the WAL in sequence
// order.
#include <algorithm>
#include <limits>

#include "db_impl.h"
#include "feed_manager.h"
#include "flowdb/change_feed.h"
#include "log.h"
#include "wal_batch.h"

namespace flowdb {

namespace {

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

std::shared_ptr<FeedState> DBImpl::open_feed(const std::string& name) {
  {
    MutexLock l(&mu_);
    check_open_locked();
  }
  return feeds_->open(name, visible_seq_);
}

void DBImpl::drop_feed(const std::string& name) {
  {
    MutexLock l(&mu_);
    check_open_locked();
  }
  feeds_->drop(name);
  delete_obsolete_logs();
}

void DBImpl::feed_ack(FeedState* f, uint64_t seq) {
  {
    MutexLock l(&mu_);
    check_open_locked();
    seq = std::min(seq, visible_seq_.load(std::memory_order_acquire));
  }
  if (feeds_->ack(f, seq)) delete_obsolete_logs();
}

uint64_t DBImpl::trim_feed_backlog(uint64_t bytes) {
  uint64_t log_number;
  {
    MutexLock l(&mu_);
    check_open_locked();
    log_number = versions_->log_number();
  }
  return feeds_->trim(bytes, log_number);
}

std::vector<FeedInfo> DBImpl::list_feeds() {
  uint64_t log_number, last;
  {
    MutexLock l(&mu_);
    check_open_locked();
    log_number = versions_->log_number();
    last = visible_seq_.load(std::memory_order_acquire);
  }
  return feeds_->list(log_number, last);
}

void DBImpl::delete_obsolete_logs() {
  uint64_t log_number, last;
  {
    MutexLock l(&mu_);
    log_number = versions_->log_number();
    last = last_seq_;
  }
  feeds_->delete_obsolete_segments(log_number, last);
}

DBImpl::WalTail DBImpl::wal_tail() {
  MutexLock l(&mu_);
  check_open_locked();
  return {log_file_number_, wal_tail_bytes_, visible_seq_.load(std::memory_order_acquire)};
}

bool DBImpl::wait_visible_after(uint64_t seq, std::chrono::milliseconds timeout) {
  MutexLock l(&mu_);
  check_open_locked();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && visible_seq_.load(std::memory_order_acquire) <= seq) {
    if (feed_cv_.wait_until(mu_, deadline) == std::cv_status::timeout) break;
  }
  return !closed_ && visible_seq_.load(std::memory_order_acquire) > seq;
}

// ------------------------------------------------------------ ChangeFeed

ChangeFeed::ChangeFeed(std::shared_ptr<DBImpl> db, std::shared_ptr<FeedState> state)
    : db_(std::move(db)), state_(std::move(state)), position_(state_->acked.load()) {}

ChangeFeed::~ChangeFeed() { db_->feeds()->release(state_.get()); }

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
      const auto seg = db_->feeds()->segment_for(position_ + 1);
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
    const auto next = db_->feeds()->segment_after(segment_);
    if (!next) return records;
    segment_ = next->first;
    segment_offset_ = 0;
  }
}

}  // namespace flowdb
