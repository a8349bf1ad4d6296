// FeedManager: feed registry, durable cursors and WAL segment retention.
#include "feed_manager.h"

#include <algorithm>
#include <limits>

#include "coding.h"
#include "crc32c.h"
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

}  // namespace

FeedManager::FeedManager(Env* env, std::string data_dir, bool read_only)
    : env_(env), data_dir_(std::move(data_dir)), read_only_(read_only) {}

std::string FeedManager::wal_path(uint64_t number) const {
  return wal_file_path(data_dir_, number);
}

void FeedManager::write_cursor(FeedState* f, uint64_t seq) {
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

void FeedManager::load() {
  const std::string dir = data_dir_ + "/feeds";
  if (read_only_ && !env_->file_exists(dir)) return;
  if (!read_only_) env_->create_dir(dir);
  for (const auto& name : env_->get_children(dir)) {
    const std::string path = dir + "/" + name;
    if (name.ends_with(".tmp")) {  // an interrupted rewrite; the cursor itself is intact
      if (!read_only_) env_->remove_file(path);
      continue;
    }
    if (!name.ends_with(kCursorSuffix)) continue;
    const std::optional<uint64_t> seq = parse_cursor_file(read_file_to_string(env_, path));
    if (!seq) throw Error(Errc::Corruption, path + ": no valid feed cursor record");
    auto f = std::make_shared<FeedState>();
    f->name = name.substr(0, name.size() - kCursorSuffix.size());
    f->path = path;
    if (read_only_) {
      f->acked.store(*seq);
    } else {
      // Start each session with a one-record file, so appends never follow a torn record.
      MutexLock fl(&f->mu);
      write_cursor(f.get(), *seq);
    }
    MutexLock l(&mu_);
    feeds_[f->name] = std::move(f);
  }
}

uint64_t FeedManager::max_acked() {
  MutexLock l(&mu_);
  uint64_t m = 0;
  for (const auto& [name, f] : feeds_) m = std::max(m, f->acked.load());
  return m;
}

void FeedManager::register_segments(uint64_t last_seq) {
  std::vector<uint64_t> logs;
  for (const auto& name : env_->get_children(data_dir_ + "/wal")) {
    uint64_t n;
    if (parse_log_name(name, &n)) logs.push_back(n);
  }
  std::sort(logs.begin(), logs.end());
  std::map<uint64_t, uint64_t> segs;
  uint64_t next_first = last_seq + 1;
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
  MutexLock l(&mu_);
  segments_ = std::move(segs);
}

void FeedManager::add_segment(uint64_t number, uint64_t first_seq) {
  MutexLock l(&mu_);
  segments_[number] = first_seq;
}

uint64_t FeedManager::segment_last_seq_locked(std::map<uint64_t, uint64_t>::const_iterator it,
                                              uint64_t last_seq) const {
  auto next = std::next(it);
  return next == segments_.end() ? last_seq : next->second - 1;
}

void FeedManager::delete_obsolete_segments(uint64_t log_number, uint64_t last_seq) {
  std::vector<uint64_t> doomed;
  {
    MutexLock l(&mu_);
    uint64_t min_acked = std::numeric_limits<uint64_t>::max();
    for (const auto& [name, f] : feeds_) min_acked = std::min(min_acked, f->acked.load());
    auto it = segments_.begin();
    while (it != segments_.end() && it->first < log_number &&
           segment_last_seq_locked(it, last_seq) <= min_acked) {
      doomed.push_back(it->first);
      it = segments_.erase(it);
    }
  }
  for (uint64_t n : doomed) env_->remove_file(wal_path(n));
}

uint64_t FeedManager::trim(uint64_t bytes, uint64_t log_number) {
  // Cursors stay where they are: a feed finds the gap when it reads on, and
  // counts it as lost (also after a restart, until it acknowledges past it).
  std::vector<uint64_t> doomed;
  uint64_t freed = 0;
  {
    MutexLock l(&mu_);
    auto it = segments_.begin();
    while (freed < bytes && it != segments_.end() && it->first < log_number) {
      freed += env_->get_file_size(wal_path(it->first));
      doomed.push_back(it->first);
      it = segments_.erase(it);
    }
  }
  for (uint64_t n : doomed) env_->remove_file(wal_path(n));
  return freed;
}

std::optional<std::pair<uint64_t, uint64_t>> FeedManager::segment_for(uint64_t seq) {
  MutexLock l(&mu_);
  if (segments_.empty()) return std::nullopt;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    if (it->second <= seq) return *it;
  }
  return *segments_.begin();
}

std::optional<std::pair<uint64_t, uint64_t>> FeedManager::segment_after(uint64_t number) {
  MutexLock l(&mu_);
  auto it = segments_.upper_bound(number);
  if (it == segments_.end()) return std::nullopt;
  return *it;
}

std::shared_ptr<FeedState> FeedManager::open(const std::string& name,
                                             const std::atomic<uint64_t>& visible_seq) {
  if (!valid_feed_name(name)) {
    throw Error(Errc::InvalidArgument,
                "feed name '" + name + "': expected 1-64 characters of [A-Za-z0-9_.-]");
  }
  std::shared_ptr<FeedState> f;
  {
    MutexLock l(&mu_);
    if (auto it = feeds_.find(name); it != feeds_.end()) {
      if (!open_.insert(name).second)
        throw Error(Errc::Busy, "feed '" + name + "' is already open");
      return it->second;
    }
    f = std::make_shared<FeedState>();
    f->name = name;
    f->path = data_dir_ + "/feeds/" + name + std::string(kCursorSuffix);
    f->acked = visible_seq.load(std::memory_order_acquire);
    open_.insert(name);
    feeds_[name] = f;
  }
  try {
    MutexLock fl(&f->mu);
    write_cursor(f.get(), f->acked.load());
  } catch (...) {
    MutexLock l(&mu_);
    feeds_.erase(name);
    open_.erase(name);
    throw;
  }
  return f;
}

void FeedManager::release(FeedState* f) {
  MutexLock l(&mu_);
  open_.erase(f->name);
}

void FeedManager::drop(const std::string& name) {
  std::shared_ptr<FeedState> f;
  {
    MutexLock l(&mu_);
    auto it = feeds_.find(name);
    if (it == feeds_.end()) return;
    if (open_.contains(name)) throw Error(Errc::Busy, "feed '" + name + "' is open");
    f = it->second;
    feeds_.erase(it);
  }
  {
    MutexLock fl(&f->mu);
    if (f->file) f->file->close();
    f->file.reset();
  }
  env_->remove_file(f->path);
  env_->sync_dir(data_dir_ + "/feeds");
}

bool FeedManager::ack(FeedState* f, uint64_t seq) {
  MutexLock fl(&f->mu);
  if (seq <= f->acked.load()) return false;
  write_cursor(f, seq);
  return true;
}

std::vector<FeedInfo> FeedManager::list(uint64_t log_number, uint64_t last_seq) {
  std::vector<FeedInfo> out;
  std::vector<uint64_t> kept;
  {
    MutexLock l(&mu_);
    for (const auto& [n, first] : segments_) {
      if (n < log_number) kept.push_back(n);
    }
    for (const auto& [name, f] : feeds_) {
      const uint64_t acked = f->acked.load();
      out.push_back({name, acked, last_seq, last_seq > acked ? last_seq - acked : 0, 0});
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

}  // namespace flowdb
