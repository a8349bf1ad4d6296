#include "version.h"

#include <algorithm>
#include <cstdio>

#include "block.h"
#include "coding.h"
#include "flowdb/error.h"

namespace flowdb {

namespace {

// Field tags of an encoded VersionEdit. Unknown tags are corruption: a
// manifest we cannot fully parse must never be half-applied.
enum Tag : uint32_t {
  kLogNumber = 1,
  kNextFileNumber = 2,
  kLastSequence = 3,
  kAddedFile = 4,
  kDeletedFile = 5,
  kAddedTombstone = 6,
  kDeletedTombstone = 7,
  kAddedWalSegment = 8,
  kTracksWalSegments = 9,
};

constexpr uint64_t kManifestRolloverBytes = 4 << 20;

void put_signed(std::string* dst, int64_t v) { put_fixed64(dst, static_cast<uint64_t>(v)); }

// A file's fields, then its TableProperties in the same encoding the SST's
// own properties block uses (block.h), length-prefixed.
void encode_file(std::string* dst, const FileMeta& f) {
  put_varint64(dst, f.number);
  put_signed(dst, f.bucket);
  put_varint64(dst, f.file_size);
  put_varint64(dst, f.container_offset);
  put_varint64(dst, f.rt_applied_seq);
  std::string props;
  encode_table_properties(f.props, &props);
  put_length_prefixed(dst, props);
}

bool decode_file(std::string_view* in, FileMeta* f) {
  uint64_t b;
  std::string_view props;
  if (!get_varint64(in, &f->number) || !get_fixed64(in, &b) || !get_varint64(in, &f->file_size) ||
      !get_varint64(in, &f->container_offset) || !get_varint64(in, &f->rt_applied_seq) ||
      !get_length_prefixed(in, &props)) {
    return false;
  }
  f->bucket = static_cast<int64_t>(b);
  return decode_table_properties(props, &f->props);
}

}  // namespace

std::string manifest_file_name(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "MANIFEST-%06llu", static_cast<unsigned long long>(number));
  return buf;
}

std::string VersionEdit::encode() const {
  std::string out;
  if (log_number) put_varint32(&out, kLogNumber), put_varint64(&out, *log_number);
  if (next_file_number) put_varint32(&out, kNextFileNumber), put_varint64(&out, *next_file_number);
  if (last_sequence) put_varint32(&out, kLastSequence), put_varint64(&out, *last_sequence);
  for (const auto& f : added_files) put_varint32(&out, kAddedFile), encode_file(&out, f);
  for (uint64_t n : deleted_files) put_varint32(&out, kDeletedFile), put_varint64(&out, n);
  for (const auto& t : added_tombstones) {
    put_varint32(&out, kAddedTombstone);
    put_length_prefixed(&out, t.start);
    put_length_prefixed(&out, t.end);
    put_varint64(&out, t.seq);
  }
  for (uint64_t s : deleted_tombstones)
    put_varint32(&out, kDeletedTombstone), put_varint64(&out, s);
  for (uint64_t n : added_wal_segments) put_varint32(&out, kAddedWalSegment), put_varint64(&out, n);
  if (tracks_wal_segments) put_varint32(&out, kTracksWalSegments), put_varint64(&out, 1);
  return out;
}

VersionEdit VersionEdit::decode(std::string_view in, const std::string& where) {
  VersionEdit e;
  auto bad = [&](const char* what) {
    return Error(Errc::Corruption, where + ": unparsable manifest edit (" + what + ")");
  };
  while (!in.empty()) {
    uint32_t tag;
    uint64_t v;
    if (!get_varint32(&in, &tag)) throw bad("tag");
    switch (tag) {
      case kLogNumber:
        if (!get_varint64(&in, &v)) throw bad("log number");
        e.log_number = v;
        break;
      case kNextFileNumber:
        if (!get_varint64(&in, &v)) throw bad("next file number");
        e.next_file_number = v;
        break;
      case kLastSequence:
        if (!get_varint64(&in, &v)) throw bad("last sequence");
        e.last_sequence = v;
        break;
      case kAddedFile: {
        FileMeta f;
        if (!decode_file(&in, &f)) throw bad("added file");
        e.added_files.push_back(std::move(f));
        break;
      }
      case kDeletedFile:
        if (!get_varint64(&in, &v)) throw bad("deleted file");
        e.deleted_files.push_back(v);
        break;
      case kAddedTombstone: {
        std::string_view s, t;
        RangeTombstone rt;
        if (!get_length_prefixed(&in, &s) || !get_length_prefixed(&in, &t) ||
            !get_varint64(&in, &rt.seq)) {
          throw bad("range tombstone");
        }
        rt.start = s;
        rt.end = t;
        e.added_tombstones.push_back(std::move(rt));
        break;
      }
      case kDeletedTombstone:
        if (!get_varint64(&in, &v)) throw bad("deleted tombstone");
        e.deleted_tombstones.push_back(v);
        break;
      case kAddedWalSegment:
        if (!get_varint64(&in, &v)) throw bad("added WAL segment");
        e.added_wal_segments.push_back(v);
        break;
      case kTracksWalSegments:
        if (!get_varint64(&in, &v) || v != 1) throw bad("WAL tracking flag");
        e.tracks_wal_segments = true;
        break;
      default:
        throw bad(("unknown tag " + std::to_string(tag)).c_str());
    }
  }
  return e;
}

size_t Version::file_count() const {
  size_t n = 0;
  for (const auto& [b, files] : buckets) n += files.size();
  return n;
}

uint64_t Version::total_bytes() const {
  uint64_t n = 0;
  for (const auto& [b, files] : buckets) {
    for (const auto& f : files) n += f->file_size;
  }
  return n;
}

VersionSet::VersionSet(Env* env, std::string dir)
    : env_(env), dir_(std::move(dir)), current_(std::make_shared<Version>()) {}

VersionSet::~VersionSet() = default;

void VersionSet::apply_locked(const VersionEdit& edit) {
  auto v = std::make_shared<Version>(*current_);
  for (uint64_t n : edit.deleted_files) {
    bool found = false;
    for (auto it = v->buckets.begin(); it != v->buckets.end(); ++it) {
      auto& files = it->second;
      auto f = std::find_if(files.begin(), files.end(),
                            [n](const FileRef& x) { return x->number == n; });
      if (f != files.end()) {
        files.erase(f);
        if (files.empty()) v->buckets.erase(it);  // invalidates it: leave the loop now
        found = true;
        break;
      }
    }
    if (!found) {
      throw Error(Errc::Corruption, dir_ + ": manifest deletes unknown file " + std::to_string(n));
    }
  }
  for (const auto& f : edit.added_files) {
    auto& files = v->buckets[f.bucket];
    files.push_back(std::make_shared<const FileMeta>(f));
    std::sort(files.begin(), files.end(), [](const FileRef& a, const FileRef& b) {
      return a->props.max_seq < b->props.max_seq;
    });
    next_file_number_ = std::max(next_file_number_, f.number + 1);
  }
  for (uint64_t s : edit.deleted_tombstones) {
    std::erase_if(v->tombstones, [s](const RangeTombstone& t) { return t.seq == s; });
  }
  for (const auto& t : edit.added_tombstones) v->tombstones.push_back(t);
  std::sort(v->tombstones.begin(), v->tombstones.end(),
            [](const RangeTombstone& a, const RangeTombstone& b) { return a.seq < b.seq; });
  if (edit.log_number) log_number_ = *edit.log_number;
  for (uint64_t n : edit.added_wal_segments) {
    wal_segments_.insert(n);
    next_file_number_ = std::max(next_file_number_, n + 1);
  }
  wal_segments_.erase(wal_segments_.begin(), wal_segments_.lower_bound(log_number_));
  tracks_wal_ = tracks_wal_ || edit.tracks_wal_segments;
  if (edit.next_file_number)
    next_file_number_ = std::max(next_file_number_, *edit.next_file_number);
  if (edit.last_sequence) last_sequence_ = std::max(last_sequence_, *edit.last_sequence);
  current_ = std::move(v);
}

bool VersionSet::recover() {
  const std::string current_path = dir_ + "/CURRENT";
  if (!env_->file_exists(current_path)) return false;
  std::string name = read_file_to_string(env_, current_path);
  if (name.empty() || name.back() != '\n' || name.rfind("MANIFEST-", 0) != 0) {
    throw Error(Errc::Corruption, current_path + ": malformed contents");
  }
  name.pop_back();
  const std::string path = dir_ + "/" + name;
  {
    MutexLock l(&mu_);
    manifest_number_ = std::strtoull(name.c_str() + 9, nullptr, 10);
  }
  std::unique_ptr<RandomAccessFile> file;
  try {
    file = env_->new_random_access_file(path);
  } catch (const Error& e) {
    throw Error(Errc::Corruption,
                current_path + " names " + name + " which cannot be opened: " + e.what());
  }
  const uint64_t size = file->size();
  std::unique_ptr<RandomAccessFile> raw = env_->new_random_access_file(path);
  log::Reader reader(std::move(file), path);
  std::string scratch;
  std::string_view rec;
  MutexLock l(&mu_);
  size_t n = 0;
  while (reader.read_record(&scratch, &rec)) {
    apply_locked(VersionEdit::decode(rec, path + " record " + std::to_string(n++)));
  }
  if (reader.hit_torn_tail()) {
    // Every edit is fsync'd before it takes effect, so only an append cut
    // short by a crash may be incomplete; a complete record with a bad
    // checksum is damage, not a torn write.
    uint64_t off = reader.last_record_end();
    char hdr[log::kHeaderSize];
    size_t got = raw->read(off, sizeof hdr, hdr);
    if (got == sizeof hdr) {
      size_t len = static_cast<uint8_t>(hdr[4]) | (static_cast<uint8_t>(hdr[5]) << 8);
      bool zero = true;
      for (char c : hdr) zero = zero && c == 0;
      if (!zero && off + log::kHeaderSize + len <= size) {
        throw Error(Errc::Corruption,
                    path + ": corrupt manifest record at offset " + std::to_string(off));
      }
    }
  }
  if (n == 0) throw Error(Errc::Corruption, path + ": manifest holds no edit");
  return true;
}

VersionEdit VersionSet::snapshot_edit_locked() const {
  VersionEdit e;
  e.log_number = log_number_;
  e.next_file_number = next_file_number_;
  e.last_sequence = last_sequence_;
  for (const auto& [b, files] : current_->buckets) {
    for (const auto& f : files) e.added_files.push_back(*f);
  }
  e.added_tombstones = current_->tombstones;
  e.added_wal_segments.assign(wal_segments_.begin(), wal_segments_.end());
  e.tracks_wal_segments = true;
  return e;
}

void VersionSet::write_snapshot() {
  MutexLock wl(&write_mu_);
  write_snapshot_locked();
}

void VersionSet::write_snapshot_locked() {
  VersionEdit snap;
  uint64_t old_number, number;
  {
    MutexLock l(&mu_);
    old_number = manifest_number_;
    number = next_file_number_++;
    snap = snapshot_edit_locked();
    snap.next_file_number = next_file_number_;
  }
  const std::string name = manifest_file_name(number);
  auto file = env_->new_writable_file(dir_ + "/" + name);
  auto writer = std::make_unique<log::Writer>(file.get());
  writer->add_record(snap.encode());
  file->sync();
  env_->sync_dir(dir_);
  write_file_atomic(env_, dir_ + "/CURRENT", name + "\n");
  if (manifest_file_) manifest_file_->close();
  manifest_file_ = std::move(file);
  manifest_log_ = std::move(writer);
  manifest_broken_ = false;
  {
    MutexLock l(&mu_);
    manifest_number_ = number;
  }
  if (old_number != 0 && old_number != number) {
    const std::string old = dir_ + "/" + manifest_file_name(old_number);
    if (env_->file_exists(old)) env_->remove_file(old);
  }
}

void VersionSet::log_and_apply(VersionEdit edit) {
  {
    MutexLock wl(&write_mu_);
    {
      MutexLock l(&mu_);
      if (!edit.next_file_number) edit.next_file_number = next_file_number_;
      if (!edit.last_sequence) edit.last_sequence = last_sequence_;
      // Validate before writing: an edit that cannot apply must not be logged.
      std::shared_ptr<const Version> saved = current_;
      uint64_t saved_next = next_file_number_, saved_log = log_number_, saved_seq = last_sequence_;
      const std::set<uint64_t> saved_wal = wal_segments_;
      const bool saved_tracks = tracks_wal_;
      apply_locked(edit);
      current_ = saved;
      wal_segments_ = saved_wal;
      tracks_wal_ = saved_tracks;
      next_file_number_ = saved_next;
      log_number_ = saved_log;
      last_sequence_ = saved_seq;
    }
    if (manifest_broken_) write_snapshot_locked();
    try {
      manifest_log_->add_record(edit.encode());
      manifest_file_->sync();
    } catch (...) {
      manifest_broken_ = true;
      throw;
    }
    {
      MutexLock l(&mu_);
      apply_locked(edit);
    }
    if (manifest_file_->size() > kManifestRolloverBytes) write_snapshot_locked();
  }
}

std::shared_ptr<const Version> VersionSet::current() const {
  MutexLock l(&mu_);
  return current_;
}

uint64_t VersionSet::new_file_number() {
  MutexLock l(&mu_);
  return next_file_number_++;
}

uint64_t VersionSet::log_number() const {
  MutexLock l(&mu_);
  return log_number_;
}

uint64_t VersionSet::last_sequence() const {
  MutexLock l(&mu_);
  return last_sequence_;
}

void VersionSet::set_last_sequence(uint64_t s) {
  MutexLock l(&mu_);
  last_sequence_ = std::max(last_sequence_, s);
}

void VersionSet::mark_file_number_used(uint64_t n) {
  MutexLock l(&mu_);
  next_file_number_ = std::max(next_file_number_, n + 1);
}

uint64_t VersionSet::next_file_number() const {
  MutexLock l(&mu_);
  return next_file_number_;
}

std::vector<uint64_t> VersionSet::recorded_wal_segments() const {
  MutexLock l(&mu_);
  return {wal_segments_.begin(), wal_segments_.end()};
}

void VersionSet::note_wal_segments(const std::vector<uint64_t>& numbers) {
  MutexLock l(&mu_);
  for (uint64_t n : numbers) {
    if (n >= log_number_) wal_segments_.insert(n);
  }
}

bool VersionSet::tracks_wal_segments() const {
  MutexLock l(&mu_);
  return tracks_wal_;
}

uint64_t VersionSet::manifest_number() const {
  MutexLock l(&mu_);
  return manifest_number_;
}

}  // namespace flowdb
