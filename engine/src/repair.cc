// Engine::repair: rebuilds CURRENT and the MANIFEST from what can be read.
// Order (so that a crash during repair loses nothing and a rerun finishes
// the job): read everything first; then copy unreadable pack extents to
// lost/, write the new tables, move unreadable files to lost/, and only then
// start a new MANIFEST and point CURRENT at it. Rules: engine/doc/format.md
// ("Repair").
#include "repair.h"

#include <algorithm>
#include <limits>
#include <set>

#include "file_store.h"
#include "log.h"
#include "table.h"

namespace flowdb {

namespace {

// A WritableFile that keeps its bytes in memory (a table for sst.pack).
class StringFile final : public WritableFile {
 public:
  void append(std::string_view data) override { data_.append(data); }
  void sync() override {}
  void close() override {}
  uint64_t size() const override { return data_.size(); }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

std::string plural(uint64_t n, const char* what, const char* suffix = "s") {
  return std::to_string(n) + " " + what + (n == 1 ? "" : suffix);
}

// One line per damaged WAL segment for RepairResult::summary().
std::string describe(const WalSegmentRepair& w) {
  std::string s = w.segment + ": damaged:";
  if (w.damaged_regions > 0 || w.batches_undecodable > 0) {
    s += " skipped " + plural(w.bytes_skipped, "byte") + " in " +
         plural(w.damaged_regions, "damaged region") + " and " +
         plural(w.batches_undecodable, "undecodable batch", "es") + " (first at offset " +
         std::to_string(w.first_damage_at) + ": " + w.first_damage + ");";
  }
  s += " replayed " + plural(w.batches_replayed, "batch", "es") + ", " +
       std::to_string(w.batches_after_damage) + " of them after the damage";
  if (!w.stopped.empty()) s += "; stopped early (" + w.stopped + ")";
  return s + "\n";
}

}  // namespace

std::string RepairResult::summary() const {
  std::string s = "tables kept: " + std::to_string(tables_kept) + " (" +
                  std::to_string(tables_adopted) + " not recorded by the manifest, adopted), " +
                  plural(blocks_verified, "block") + " verified\n";
  s += "tables built from WAL records: " + std::to_string(tables_built) + "\n";
  s += "records recovered: " + std::to_string(records_recovered()) + " (" +
       std::to_string(records_in_tables) + " in tables, " + std::to_string(records_from_wal) +
       " replayed from the WAL)\n";
  s += "WAL segments replayed: " + std::to_string(wal_segments_replayed) + "\n";
  s += "files quarantined in lost/: " + std::to_string(quarantined.size()) + "\n";
  for (const auto& q : quarantined) s += "  " + q + "\n";
  for (const auto& r : replaced) s += "replaced (kept in lost/): " + r + "\n";
  for (const auto& w : wal_damage) s += describe(w);
  for (const auto& n : notes) s += "note: " + n + "\n";
  return s;
}

RepairResult Engine::repair(Config config) { return Repairer(std::move(config)).run(); }

Repairer::Repairer(Config cfg) : cfg_(std::move(cfg)) {
  cfg_.validate();
  env_ = cfg_.env != nullptr ? cfg_.env : Env::posix();
  dir_ = cfg_.data_dir;
  single_file_ = cfg_.storage_backend == StorageBackendKind::SingleFile;
  width_us_ = static_cast<int64_t>(cfg_.time_bucket_secs) * 1'000'000;
}

RepairResult Repairer::run() {
  inv_ = inventory_dir(env_, dir_);
  if (!inv_.holds_data()) {
    throw Error(Errc::NotFound, dir_ + ": no FlowDB table, WAL or MANIFEST file to repair");
  }
  lock_ = env_->lock_file(dir_ + "/LOCK");  // Busy while an engine holds it
  check_backend();
  for (const auto* list : {&inv_.manifests, &inv_.wal_segments, &inv_.tables, &inv_.temp_tables}) {
    for (uint64_t n : *list) max_number_ = std::max(max_number_, n);
  }
  recover_manifest();
  find_tables();
  choose_tables();
  replay_wal();
  // Reading is done: from here on files are written and moved.
  env_->create_dir(dir_ + "/lost");
  if (single_file_) copy_pack_gaps();
  build_wal_tables();
  quarantine_tables();
  for (uint64_t n : damaged_segments_) {
    char name[32];
    std::snprintf(name, sizeof name, "wal/%06llu.log", static_cast<unsigned long long>(n));
    move_to_lost(name, "damaged WAL segment (its readable records were replayed)", true);
  }
  write_new_state();
  return result_;
}

// ------------------------------------------------------------ lost/

std::string Repairer::lost_name(const std::string& rel) {
  std::string name = "lost/" + rel;
  for (int i = 1; env_->file_exists(dir_ + "/" + name); ++i) {
    name = "lost/" + rel + "." + std::to_string(i);  // an earlier repair's file
  }
  return name;
}

std::string Repairer::move_to_lost(const std::string& rel, const std::string& why,
                                   bool quarantine) {
  const std::string to = lost_name(rel);
  const size_t slash = to.rfind('/');
  env_->create_dir(dir_ + "/" + to.substr(0, slash));
  env_->rename_file(dir_ + "/" + rel, dir_ + "/" + to);
  env_->sync_dir(dir_ + "/" + to.substr(0, slash));
  const size_t from_slash = rel.rfind('/');
  env_->sync_dir(from_slash == std::string::npos ? dir_ : dir_ + "/" + rel.substr(0, from_slash));
  (quarantine ? result_.quarantined : result_.replaced).push_back(to + ": " + why);
  return to;
}

// ------------------------------------------------------------ MANIFEST

void Repairer::recover_manifest() {
  std::string name;
  const std::string current = dir_ + "/CURRENT";
  if (env_->file_exists(current)) {
    std::string c = read_file_to_string(env_, current);
    if (c.size() > 10 && c.back() == '\n' && c.rfind("MANIFEST-", 0) == 0 &&
        env_->file_exists(dir_ + "/" + c.substr(0, c.size() - 1))) {
      name = c.substr(0, c.size() - 1);
    } else {
      move_to_lost("CURRENT", "malformed, or names a MANIFEST that does not exist", true);
    }
  } else {
    result_.notes.push_back("CURRENT was missing");
  }
  if (name.empty() && !inv_.manifests.empty()) {
    name = manifest_file_name(inv_.manifests.back());
    result_.notes.push_back("read the newest MANIFEST, " + name);
  }
  if (!name.empty()) read_manifest(name);
  if (!manifest_.usable()) {
    result_.notes.push_back("no usable MANIFEST: every table found is a candidate");
  }
}

// Applies edits until the first one that cannot be read or applied.
void Repairer::read_manifest(const std::string& name) {
  manifest_.name = name;
  const std::string path = dir_ + "/" + name;
  log::Reader reader(env_->new_random_access_file(path), path);
  std::string scratch;
  std::string_view rec;
  try {
    while (reader.read_record(&scratch, &rec)) {
      const VersionEdit e = VersionEdit::decode(rec, path);
      // Checked before anything is applied: an edit applies wholly or not at all.
      const std::set<uint64_t> deleted(e.deleted_files.begin(), e.deleted_files.end());
      for (uint64_t n : deleted) {
        if (!manifest_.live.count(n)) {
          throw Error(Errc::Corruption, path + ": deletes unknown file " + std::to_string(n));
        }
      }
      RecoveredManifest& m = manifest_;
      for (uint64_t n : deleted) {
        m.removed.push_back(m.live.at(n));
        m.live.erase(n);
      }
      for (const auto& f : e.added_files) {
        m.live[f.number] = f;
        m.next_file_number = std::max(m.next_file_number, f.number + 1);
      }
      for (uint64_t s : e.deleted_tombstones) {
        std::erase_if(m.tombstones, [s](const RangeTombstone& t) { return t.seq == s; });
      }
      m.tombstones.insert(m.tombstones.end(), e.added_tombstones.begin(), e.added_tombstones.end());
      if (e.next_file_number)
        m.next_file_number = std::max(m.next_file_number, *e.next_file_number);
      if (e.last_sequence) m.last_sequence = std::max(m.last_sequence, *e.last_sequence);
      ++m.edits;
    }
    if (reader.hit_torn_tail()) {
      manifest_.damage =
          "damaged or incomplete record at offset " + std::to_string(reader.last_record_end());
    }
  } catch (const std::exception& e) {
    manifest_.damage = e.what();
  }
  if (manifest_.edits == 0 && manifest_.damage.empty()) manifest_.damage = "holds no edit";
  if (!manifest_.damage.empty()) {
    result_.notes.push_back(name + ": used its first " + plural(manifest_.edits, "edit") + " (" +
                            manifest_.damage + ")");
  }
  max_number_ = std::max(max_number_, manifest_.next_file_number);
  last_seq_ = std::max(last_seq_, manifest_.last_sequence);
  tombstones_ = manifest_.tombstones;
}

// ------------------------------------------------------------ WAL

void Repairer::replay_wal() {
  for (size_t i = 0; i < inv_.wal_segments.size(); ++i) {
    const uint64_t n = inv_.wal_segments[i];
    if (!replay_segment(n, i + 1 == inv_.wal_segments.size())) damaged_segments_.push_back(n);
    ++result_.wal_segments_replayed;
  }
}

// Replays every whole, decodable batch of a segment, skipping damaged bytes
// (log::Reader::skip_damage) and undecodable batches; false if damaged.
bool Repairer::replay_segment(uint64_t number, bool newest) {
  char rel[32];
  std::snprintf(rel, sizeof rel, "wal/%06llu.log", static_cast<unsigned long long>(number));
  const std::string path = dir_ + "/" + rel;
  log::Reader reader(env_->new_random_access_file(path), path);
  reader.skip_damage();
  WalSegmentRepair d;
  d.segment = rel;
  std::string scratch, buf;
  std::string_view rec;
  try {
    while (reader.read_record(&scratch, &rec)) {
      std::vector<WalEntry> entries;
      try {
        const std::string_view payload =
            wal_record_payload(rec, &buf, path, reader.last_record_end());
        // Decode the whole batch first: a batch is applied entirely or not at all.
        WalBatchReader batch(payload);
        WalEntry e;
        while (batch.next(&e)) entries.push_back(e);
      } catch (const std::exception& e) {  // Corruption, or a bad size asked too much
        if (d.first_damage.empty() && reader.skipped().regions == 0) {
          d.first_damage_at = reader.last_record_start();
          d.first_damage = std::string("undecodable batch: ") + e.what();
        }
        ++d.batches_undecodable;
        continue;
      }
      add_wal_entries(entries);
      ++d.batches_replayed;
      if (reader.skipped().regions > 0 || d.batches_undecodable > 0) ++d.batches_after_damage;
    }
  } catch (const std::exception& e) {  // an I/O error: what was read is used
    d.stopped = e.what();
  }
  const log::Reader::Skipped& sk = reader.skipped();
  d.bytes_skipped = sk.bytes;
  d.damaged_regions = sk.regions;
  if (sk.regions > 0 && (d.first_damage.empty() || sk.first_offset < d.first_damage_at)) {
    d.first_damage_at = sk.first_offset;
    d.first_damage = sk.first_reason;
  }
  if (reader.hit_torn_tail()) {
    const std::string at = "at offset " + std::to_string(reader.last_record_end());
    if (newest) {
      // A crash cuts the newest segment's last append short: normal, as at open.
      result_.notes.push_back(std::string(rel) + ": ignored a torn tail " + at);
    } else if (d.stopped.empty()) {
      d.stopped = "damaged record " + at + " with no record after it";
    }
  }
  if (d.stopped.empty() && d.damaged_regions == 0 && d.batches_undecodable == 0) return true;
  result_.wal_damage.push_back(std::move(d));
  return false;
}

void Repairer::add_wal_entries(const std::vector<WalEntry>& entries) {
  for (const WalEntry& e : entries) {
    last_seq_ = std::max(last_seq_, e.seq);
    if (e.tag == kWalDeleteRange) {
      const bool known = std::any_of(tombstones_.begin(), tombstones_.end(),
                                     [&](const RangeTombstone& t) { return t.seq == e.seq; });
      if (!known) {
        tombstones_.push_back({std::string(e.key), std::string(e.end_key), e.seq});
        ++result_.records_from_wal;
      }
      continue;
    }
    // A kept table of the entry's bucket whose sequence range holds it has
    // it (or, after a compaction, something newer): skip it. Otherwise it
    // goes into a new table between the kept ranges it falls between.
    const int64_t bucket = bucket_of(e.ts, width_us_);
    const auto& ranges = ranges_[bucket];
    size_t gap = 0;
    bool covered = false;
    for (const auto& [lo, hi] : ranges) {
      if (e.seq >= lo && e.seq <= hi) covered = true;
      if (hi < e.seq) ++gap;
    }
    if (covered) continue;
    std::string ikey, value;
    if (e.tag == kWalPut) {
      append_internal_key(&ikey, e.key, e.ts, e.seq, ValueType::Value);
      append_entry_value(&value, e.expire_at, e.value);
    } else {
      append_internal_key(&ikey, e.key, e.ts, e.seq, ValueType::Deletion);
      append_entry_value(&value, std::numeric_limits<int64_t>::min(), {});
    }
    wal_groups_[{bucket, gap}].emplace(std::move(ikey), std::move(value));
    ++result_.records_from_wal;
  }
}

void Repairer::build_wal_tables() {
  for (const auto& [key, entries] : wal_groups_) {
    built_.push_back(write_table(key.first, entries));
    ++result_.tables_built;
  }
}

FileMeta Repairer::write_table(int64_t bucket,
                               const std::map<std::string, std::string, InternalKeyLess>& entries) {
  TableOptions topts;
  topts.block_size = cfg_.block_size;
  topts.compression = cfg_.compression;
  topts.bloom_bits_per_key = cfg_.bloom_bits_per_key;
  FileMeta m;
  m.number = ++max_number_;
  m.bucket = bucket;
  const std::string sst = dir_ + "/sst/" + table_file_name(m.number);
  StringFile mem;
  std::unique_ptr<WritableFile> disk;
  if (!single_file_) {
    env_->create_dir(dir_ + "/sst");
    disk = env_->new_writable_file(sst + ".tmp");
  }
  TableBuilder builder(topts, single_file_ ? static_cast<WritableFile*>(&mem) : disk.get());
  std::string last;  // user key + ts of the previous entry: only the newest version is kept
  for (const auto& [ikey, value] : entries) {
    const std::string_view id(ikey.data(), ikey.size() - 8);
    if (!last.empty() && id == last) continue;
    last.assign(id);
    builder.add(ikey, value);
  }
  builder.finish();
  m.file_size = builder.file_size();
  m.props = builder.properties();
  if (single_file_) {
    auto pack = env_->new_read_write_file(dir_ + "/sst.pack");
    m.container_offset = std::max(pack->size(), pack_end());
    pack->write_at(m.container_offset, mem.data());
    pack->sync();
  } else {
    disk->sync();
    disk->close();
    env_->rename_file(sst + ".tmp", sst);
    env_->sync_dir(dir_ + "/sst");
  }
  return m;
}

// ------------------------------------------------------------ new state

void Repairer::write_new_state() {
  VersionEdit edit;
  for (const auto& t : tables_) {
    if (t.kept) edit.added_files.push_back(t.meta);
  }
  edit.added_files.insert(edit.added_files.end(), built_.begin(), built_.end());
  for (const auto& f : edit.added_files) last_seq_ = std::max(last_seq_, f.props.max_seq);
  std::sort(tombstones_.begin(), tombstones_.end(),
            [](const RangeTombstone& a, const RangeTombstone& b) { return a.seq < b.seq; });
  edit.added_tombstones = tombstones_;
  // An empty segment for the manifest's log number: every older segment's
  // records are in tables now (open deletes them once no feed needs them).
  const uint64_t log_number = ++max_number_;
  env_->create_dir(dir_ + "/wal");
  auto log_file = env_->new_writable_file(wal_file_path(dir_, log_number));
  log_file->sync();
  log_file->close();
  env_->sync_dir(dir_ + "/wal");
  const uint64_t manifest_number = ++max_number_;
  edit.log_number = log_number;
  edit.next_file_number = max_number_ + 1;
  edit.last_sequence = last_seq_;
  const std::string name = manifest_file_name(manifest_number);
  auto file = env_->new_writable_file(dir_ + "/" + name);
  log::Writer writer(file.get());
  writer.add_record(edit.encode());
  file->sync();
  file->close();
  env_->sync_dir(dir_);
  write_file_atomic(env_, dir_ + "/CURRENT", name + "\n");
  // The old MANIFESTs are history now; a damaged one is quarantined.
  for (uint64_t n : inv_.manifests) {
    const std::string old = manifest_file_name(n);
    const bool damaged = old == manifest_.name && !manifest_.damage.empty();
    move_to_lost(old, damaged ? "damaged MANIFEST (" + manifest_.damage + ")" : "replaced MANIFEST",
                 damaged);
  }
}

}  // namespace flowdb
