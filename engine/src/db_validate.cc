#include "db_validate.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "block.h"
#include "coding.h"
#include "file_store.h"
#include "flowdb/error.h"
#include "log.h"
#include "table.h"
#include "wal_batch.h"

namespace flowdb {

namespace {

bool parse_numbered(const std::string& name, const std::string& prefix, const std::string& suffix,
                    uint64_t* n) {
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 19) return false;
  if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  *n = std::stoull(digits);
  return true;
}

std::vector<std::string> children(Env* env, const std::string& dir) {
  if (!env->file_exists(dir)) return {};
  return env->get_children(dir);
}

void scan(Env* env, const std::string& dir, const std::string& prefix, const std::string& suffix,
          std::vector<uint64_t>* out) {
  for (const auto& name : children(env, dir)) {
    uint64_t n;
    if (parse_numbered(name, prefix, suffix, &n)) out->push_back(n);
  }
  std::sort(out->begin(), out->end());
}

// The newest sequence in the WAL segments numbered at or past log_number
// (up to a torn tail), or 0.
uint64_t wal_last_sequence(Env* env, const std::string& dir, const std::vector<uint64_t>& segments,
                           uint64_t log_number) {
  uint64_t last = 0;
  for (uint64_t n : segments) {
    if (n < log_number) continue;
    const std::string path = wal_file_path(dir, n);
    log::Reader reader(env->new_random_access_file(path), path);
    std::string scratch, buf;
    std::string_view rec;
    while (reader.read_record(&scratch, &rec)) {
      const WalBatchReader batch(wal_record_payload(rec, &buf, path, reader.last_record_end()));
      if (batch.count() > 0) last = std::max(last, batch.last_seq());
    }
  }
  return last;
}

// The newest sequence of the table `file` holds, or 0 if it cannot be read
// (not evidence either way).
uint64_t newest_sequence(std::unique_ptr<RandomAccessFile> file, uint64_t size,
                         const std::string& name) {
  try {
    return Table::open(std::move(file), size, 0, name, nullptr, nullptr)->properties().max_seq;
  } catch (const Error&) {
    return 0;
  }
}

// Tables the manifest does not record, (name, newest sequence) past
// `last_sequence`: the problems among them past what the WAL accounts for.
std::vector<std::string> lost_edit_problems(
    Env* env, const std::string& dir, const std::vector<uint64_t>& segments, uint64_t last_sequence,
    uint64_t log_number, const std::vector<std::pair<std::string, uint64_t>>& newer) {
  std::vector<std::string> problems;
  if (newer.empty()) return problems;
  const uint64_t covered =
      std::max(last_sequence, wal_last_sequence(env, dir, segments, log_number));
  for (const auto& [name, max_seq] : newer) {
    if (max_seq <= covered) continue;
    problems.push_back(
        name + " that the manifest does not record holds sequence " + std::to_string(max_seq) +
        ", past the last one the manifest and the WAL account for (" + std::to_string(covered) +
        "): an edit that recorded it is lost (`flowdb repair` adopts it)");
  }
  return problems;
}

std::string count(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

bool DirInventory::holds_data() const {
  return !manifests.empty() || !wal_segments.empty() || !tables.empty() || !temp_tables.empty() ||
         pack_bytes > 0;
}

std::string DirInventory::describe() const {
  std::string s = count(manifests.size(), "MANIFEST file") + ", " +
                  count(wal_segments.size(), "WAL segment") + ", " +
                  count(tables.size(), "table file") + ", " +
                  count(temp_tables.size(), "unfinished table file");
  if (pack_bytes > 0) s += ", sst.pack of " + std::to_string(pack_bytes) + " bytes";
  return s;
}

DirInventory inventory_dir(Env* env, const std::string& dir) {
  DirInventory inv;
  scan(env, dir, "MANIFEST-", "", &inv.manifests);
  scan(env, dir + "/wal", "", ".log", &inv.wal_segments);
  scan(env, dir + "/sst", "", ".sst", &inv.tables);
  scan(env, dir + "/sst", "", ".sst.tmp", &inv.temp_tables);
  scan(env, dir + "/staging", "", ".sst", &inv.temp_tables);
  if (env->file_exists(dir + "/sst.pack")) inv.pack_bytes = env->get_file_size(dir + "/sst.pack");
  return inv;
}

std::vector<std::string> audit_recovered_state(Env* env, const std::string& dir,
                                               const DirInventory& inv, const Version& live,
                                               uint64_t log_number, bool single_file) {
  std::vector<std::string> problems;
  if (log_number != 0 &&
      !std::binary_search(inv.wal_segments.begin(), inv.wal_segments.end(), log_number)) {
    problems.push_back("WAL segment " + std::to_string(log_number) +
                       " that the manifest needs is missing");
  }
  for (const auto& [bucket, files] : live.buckets) {
    for (const auto& f : files) {
      const std::string id = "live table " + std::to_string(f->number);
      if (single_file) {
        if (f->container_offset + f->file_size > inv.pack_bytes) {
          problems.push_back(id + " lies past the end of sst.pack");
        }
        continue;
      }
      if (!std::binary_search(inv.tables.begin(), inv.tables.end(), f->number)) {
        problems.push_back(id + " is missing");
      } else if (env->get_file_size(dir + "/sst/" + table_file_name(f->number)) != f->file_size) {
        problems.push_back(id + " does not have its recorded size");
      }
    }
  }
  return problems;
}

std::vector<std::string> audit_wal_segments(Env* env, const std::string& dir,
                                            const DirInventory& inv, const VersionSet& versions,
                                            uint64_t recovered_next) {
  std::vector<std::string> problems;
  const auto& on_disk = inv.wal_segments;
  for (uint64_t n : versions.recorded_wal_segments()) {
    if (!std::binary_search(on_disk.begin(), on_disk.end(), n) && n != versions.log_number()) {
      problems.push_back("WAL segment " + std::to_string(n) +
                         " that the manifest recorded is missing");
    }
  }
  if (versions.log_number() == 0 && (!inv.tables.empty() || inv.pack_bytes > 0)) {
    // Log number 0: no open ever completed its first edit, and tables are
    // only written after it; only lost edits explain table data.
    problems.push_back(
        "the manifest records no completed open (log number 0) but the directory "
        "holds table data (" +
        count(inv.tables.size(), "table file") + ", sst.pack of " + std::to_string(inv.pack_bytes) +
        " bytes)");
  }
  if (!versions.tracks_wal_segments()) return problems;
  for (uint64_t n : on_disk) {
    if (n < recovered_next) continue;
    const std::string name = std::to_string(n);
    const uint64_t size = env->get_file_size(wal_file_path(dir, n));
    if (size > 0) {
      problems.push_back("WAL segment " + name + " holds " + std::to_string(size) +
                         " bytes but is numbered at or past the recovered next file number " +
                         std::to_string(recovered_next) + " (an edit that recorded it is lost)");
    }
  }
  return problems;
}

std::vector<std::string> audit_unrecorded_tables(Env* env, const std::string& dir,
                                                 const DirInventory& inv, uint64_t recovered_next,
                                                 uint64_t last_sequence, uint64_t log_number) {
  std::vector<std::pair<std::string, uint64_t>> newer;  // past last_sequence
  for (uint64_t n : inv.tables) {
    if (n < recovered_next) continue;
    const std::string path = dir + "/sst/" + table_file_name(n);
    const uint64_t max_seq =
        newest_sequence(env->new_random_access_file(path), env->get_file_size(path), path);
    if (max_seq > last_sequence) newer.emplace_back("table " + std::to_string(n), max_seq);
  }
  return lost_edit_problems(env, dir, inv.wal_segments, last_sequence, log_number, newer);
}

std::vector<PackExtent> find_pack_footers(const RandomAccessFile& pack, uint64_t from,
                                          uint64_t to) {
  constexpr size_t kChunk = 1 << 20;
  std::string magic;
  put_fixed64(&magic, kTableMagic);
  std::vector<PackExtent> found;
  std::string buf;
  char footer[kFooterSize];
  for (uint64_t pos = from; pos < to; pos += kChunk) {
    // 7 bytes more: a magic that starts in this chunk is found here.
    buf.resize(static_cast<size_t>(std::min<uint64_t>(kChunk + 7, to - pos)));
    buf.resize(pack.read(pos, buf.size(), buf.data()));
    const std::string_view view(buf);
    for (size_t i = view.find(magic); i != std::string_view::npos && i < kChunk;
         i = view.find(magic, i + 1)) {
      const uint64_t end = pos + i + 8;
      if (end - from < kFooterSize) continue;
      if (pack.read(end - kFooterSize, kFooterSize, footer) != kFooterSize) continue;
      const uint64_t index_off = decode_fixed64(footer + 32),
                     index_size = decode_fixed64(footer + 40);
      if (index_off > end || index_size > end) continue;
      const uint64_t size = index_off + index_size + kBlockTrailerSize + kFooterSize;
      if (size > end - from) continue;
      found.push_back({end - size, size});
    }
  }
  return found;
}

std::vector<std::string> audit_pack_gaps(Env* env, const std::string& dir, const DirInventory& inv,
                                         const Version& live, uint64_t last_sequence,
                                         uint64_t log_number) {
  if (inv.pack_bytes == 0) return {};
  std::vector<std::pair<uint64_t, uint64_t>> used;  // (offset, end) of the live tables
  for (const auto& [bucket, files] : live.buckets) {
    for (const auto& f : files)
      used.emplace_back(f->container_offset, f->container_offset + f->file_size);
  }
  std::sort(used.begin(), used.end());
  used.emplace_back(inv.pack_bytes, inv.pack_bytes);
  auto store = FileStore::create(StorageBackendKind::SingleFile, env, dir, /*read_only=*/true);
  auto pack = env->new_random_access_file(dir + "/sst.pack");
  std::vector<std::pair<std::string, uint64_t>> newer;  // past last_sequence
  uint64_t pos = 0;
  for (const auto& [off, end] : used) {
    for (const PackExtent& x : find_pack_footers(*pack, pos, std::min(off, inv.pack_bytes))) {
      FileMeta m;
      m.container_offset = x.offset;
      m.file_size = x.size;
      const std::string name =
          "table at sst.pack@" + std::to_string(x.offset) + "+" + std::to_string(x.size);
      const uint64_t max_seq = newest_sequence(store->open(m), x.size, name);
      if (max_seq > last_sequence) newer.emplace_back(name, max_seq);
    }
    pos = std::max(pos, end);
  }
  return lost_edit_problems(env, dir, inv.wal_segments, last_sequence, log_number, newer);
}

std::vector<std::string> audit_pack_footers(Env* env, const std::string& dir, const Version& live) {
  std::vector<std::string> problems;
  if (live.file_count() == 0) return problems;
  const std::string path = dir + "/sst.pack";
  auto pack = env->new_random_access_file(path);
  char footer[kFooterSize];
  for (const auto& [bucket, files] : live.buckets) {
    for (const auto& f : files) {
      const uint64_t end = f->container_offset + f->file_size;
      if (f->file_size < kFooterSize || end > pack->size()) continue;  // reported elsewhere
      const size_t got = pack->read(end - kFooterSize, kFooterSize, footer);
      if (got != kFooterSize || decode_fixed64(footer + kFooterSize - 8) != kTableMagic) {
        problems.push_back("live table " + std::to_string(f->number) + " at sst.pack@" +
                           std::to_string(f->container_offset) + " does not end in a table footer");
      }
    }
  }
  return problems;
}

}  // namespace flowdb
