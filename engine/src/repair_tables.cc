// Engine::repair, tables: find every table on disk (MultiFile: sst/*.sst;
// SingleFile: the extents the MANIFEST records plus every footer found in
// sst.pack), verify every block, and choose the live set.
#include <algorithm>

#include "block.h"
#include "coding.h"
#include "file_store.h"
#include "repair.h"
#include "table.h"

namespace flowdb {

namespace {

constexpr size_t kChunk = 1 << 20;

std::string extent_name(uint64_t off, uint64_t size) {
  return "sst.pack@" + std::to_string(off) + "+" + std::to_string(size);
}

bool seqs_overlap(const FileMeta& a, const FileMeta& b) {
  return a.props.min_seq <= b.props.max_seq && b.props.min_seq <= a.props.max_seq;
}

bool bytes_overlap(const FileMeta& a, const FileMeta& b) {
  return a.container_offset < b.container_offset + b.file_size &&
         b.container_offset < a.container_offset + a.file_size;
}

bool all_zero(const RandomAccessFile& f, uint64_t from, uint64_t to) {
  std::string buf;
  for (uint64_t at = from; at < to; at += kChunk) {
    buf.resize(static_cast<size_t>(std::min<uint64_t>(kChunk, to - at)));
    buf.resize(f.read(at, buf.size(), buf.data()));
    if (!std::all_of(buf.begin(), buf.end(), [](char ch) { return ch == 0; })) return false;
  }
  return true;
}

std::vector<std::string> children(Env* env, const std::string& dir) {
  return env->file_exists(dir) ? env->get_children(dir) : std::vector<std::string>{};
}

}  // namespace

void Repairer::check_backend() {
  if (!single_file_ && inv_.pack_bytes > 0) {
    throw Error(Errc::InvalidArgument, dir_ +
                                           ": holds sst.pack (the SingleFile storage backend) but "
                                           "repair was asked for the MultiFile backend");
  }
  if (single_file_ && !inv_.tables.empty()) {
    throw Error(Errc::InvalidArgument, dir_ +
                                           ": holds sst/*.sst (the MultiFile storage backend) but "
                                           "repair was asked for the SingleFile backend");
  }
}

void Repairer::find_tables() {
  for (const auto& name : children(env_, dir_ + "/sst")) {
    if (name.ends_with(".sst.tmp")) temp_files_.push_back("sst/" + name);
  }
  for (const auto& name : children(env_, dir_ + "/staging")) {
    if (name.ends_with(".sst")) temp_files_.push_back("staging/" + name);
  }
  if (single_file_) {
    find_pack_tables();
    return;
  }
  for (const auto& [n, f] : manifest_.live) {
    if (!std::binary_search(inv_.tables.begin(), inv_.tables.end(), n)) {
      result_.notes.push_back("table " + std::to_string(n) + " that the manifest lists is missing");
    }
  }
  for (uint64_t n : inv_.tables) {
    TableCandidate c;
    c.where = "sst/" + table_file_name(n);
    auto it = manifest_.live.find(n);
    if (it != manifest_.live.end()) {
      c.meta = it->second;
      c.recorded = true;
    }
    c.meta.number = n;
    c.meta.container_offset = 0;
    const std::string path = dir_ + "/" + c.where;
    const uint64_t size = env_->get_file_size(path);
    if (c.recorded && c.meta.file_size != size) {
      c.recorded = false;  // not the table the manifest describes
      result_.notes.push_back(c.where + " does not have its recorded size");
    }
    c.meta.file_size = size;
    verify(c, env_->new_random_access_file(path));
    tables_.push_back(std::move(c));
  }
}

// The extents the manifest records, then every table find_pack_footers
// (db_validate.h, shared with open) finds in the pack.
void Repairer::find_pack_tables() {
  if (inv_.pack_bytes == 0) return;
  // The store only reads here: slices of the pack (it creates staging/).
  auto store = FileStore::create(StorageBackendKind::SingleFile, env_, dir_);
  const uint64_t size = env_->get_file_size(dir_ + "/sst.pack");
  FileMeta whole;
  whole.file_size = size;
  auto pack = store->open(whole);
  std::map<std::pair<uint64_t, uint64_t>, TableCandidate> found;
  for (const auto& [n, f] : manifest_.live) {
    TableCandidate c;
    c.meta = f;
    c.recorded = true;
    found.emplace(std::make_pair(f.container_offset, f.file_size), std::move(c));
  }
  for (const PackExtent& x : find_pack_footers(*pack, 0, size)) {
    TableCandidate c;
    c.meta.container_offset = x.offset;
    c.meta.file_size = x.size;
    found.emplace(std::make_pair(x.offset, x.size), std::move(c));
  }
  for (auto& [extent, c] : found) {
    c.where = extent_name(extent.first, extent.second);
    if (c.meta.number == 0) c.meta.number = ++max_number_;  // unrecorded: a fresh number
    if (extent.first + extent.second > size) {
      c.problem = "lies past the end of sst.pack";
    } else {
      verify(c, store->open(c.meta));
    }
    tables_.push_back(std::move(c));
  }
}

void Repairer::verify(TableCandidate& c, std::unique_ptr<RandomAccessFile> file) {
  try {
    auto table =
        Table::open(std::move(file), c.meta.file_size, c.meta.number, c.where, nullptr, nullptr);
    const uint64_t blocks = table->verify_all_blocks();
    c.meta.props = table->properties();
    if (!c.recorded) {
      c.meta.bucket = bucket_of(c.meta.props.min_ts, width_us_);
      c.meta.rt_applied_seq = 0;  // range tombstones are applied when read
      if (bucket_of(c.meta.props.max_ts, width_us_) != c.meta.bucket) {
        result_.notes.push_back(c.where + " spans several time buckets of " +
                                std::to_string(cfg_.time_bucket_secs) +
                                " s: is time_bucket_secs the one the store was written with?");
      }
    }
    c.readable = true;
    result_.blocks_verified += blocks;
  } catch (const std::exception& e) {  // Corruption, Io, or an allocation a bad size asked for
    c.problem = std::string("unreadable: ") + e.what();
  }
}

// SingleFile: the pack's tables carry no number, so a table the readable
// manifest removed (a compaction input, a dropped bucket) whose bytes were
// never punched out is known by its extent and recorded properties.
bool Repairer::removed_by_manifest(const TableCandidate& c) const {
  const TableProperties& p = c.meta.props;
  return std::any_of(manifest_.removed.begin(), manifest_.removed.end(), [&](const FileMeta& r) {
    return r.container_offset == c.meta.container_offset && r.file_size == c.meta.file_size &&
           r.props.min_seq == p.min_seq && r.props.max_seq == p.max_seq &&
           r.props.num_entries == p.num_entries && r.props.min_ts == p.min_ts &&
           r.props.max_ts == p.max_ts && r.props.smallest_user_key == p.smallest_user_key &&
           r.props.largest_user_key == p.largest_user_key;
  });
}

// Keeps, per bucket, tables whose sequence ranges do not overlap (live
// tables never do): of overlapping ones -- a compaction's output and its
// inputs -- the one spanning more sequences (the output), then the newer.
void Repairer::choose_tables() {
  std::vector<TableCandidate*> order;
  for (auto& c : tables_) {
    if (!c.readable) continue;
    if (!c.recorded &&
        ((!single_file_ && manifest_.usable() && c.meta.number < manifest_.next_file_number) ||
         (single_file_ && removed_by_manifest(c)))) {
      c.problem = "obsolete: not live in the manifest, which recorded its removal";
      continue;
    }
    order.push_back(&c);
  }
  std::sort(order.begin(), order.end(), [](const TableCandidate* a, const TableCandidate* b) {
    const uint64_t wa = a->meta.props.max_seq - a->meta.props.min_seq;
    const uint64_t wb = b->meta.props.max_seq - b->meta.props.min_seq;
    if (wa != wb) return wa > wb;
    return a->meta.number > b->meta.number;
  });
  std::vector<const TableCandidate*> kept;
  for (TableCandidate* c : order) {
    for (const TableCandidate* k : kept) {
      if (k->meta.bucket == c->meta.bucket && seqs_overlap(k->meta, c->meta)) {
        c->problem = "superseded by " + k->where + " (overlapping sequence numbers)";
      } else if (single_file_ && bytes_overlap(k->meta, c->meta)) {
        c->problem = "overlaps the bytes of " + k->where;
      }
      if (!c->problem.empty()) break;
    }
    if (!c->problem.empty()) continue;
    c->kept = true;
    kept.push_back(c);
    ++result_.tables_kept;
    if (!c->recorded) ++result_.tables_adopted;
    result_.records_in_tables += c->meta.props.num_entries;
    max_number_ = std::max(max_number_, c->meta.number);
    last_seq_ = std::max(last_seq_, c->meta.props.max_seq);
    ranges_[c->meta.bucket].emplace_back(c->meta.props.min_seq, c->meta.props.max_seq);
  }
  for (auto& [b, r] : ranges_) std::sort(r.begin(), r.end());
}

// MultiFile: moves every table not kept, and unfinished ones, into lost/.
// SingleFile: the unfinished ones (the pack's extents are copied instead).
void Repairer::quarantine_tables() {
  for (const auto& rel : temp_files_) move_to_lost(rel, "unfinished table, never published", true);
  if (single_file_) return;
  for (const auto& c : tables_) {
    if (!c.kept) move_to_lost(c.where, c.problem, true);
  }
}

uint64_t Repairer::pack_end() const {
  uint64_t end = 0;
  for (const auto& c : tables_) {
    if (c.kept) end = std::max(end, c.meta.container_offset + c.meta.file_size);
  }
  for (const auto& f : built_) end = std::max(end, f.container_offset + f.file_size);
  return end;
}

// Copies every stretch of sst.pack outside the kept tables that is not all
// zeros (a punched hole reads as zeros) into lost/sst.pack@OFFSET+SIZE. Open
// reclaims the stretch afterwards, as it reclaims any space no live table uses.
void Repairer::copy_pack_gaps() {
  if (inv_.pack_bytes == 0) return;
  auto pack = env_->new_random_access_file(dir_ + "/sst.pack");
  const uint64_t size = pack->size();
  std::vector<std::pair<uint64_t, uint64_t>> used;
  for (const auto& c : tables_) {
    if (c.kept) used.emplace_back(c.meta.container_offset, c.meta.file_size);
  }
  std::sort(used.begin(), used.end());
  used.emplace_back(size, 0);
  uint64_t pos = 0;
  for (const auto& [off, len] : used) {
    if (off > pos && !all_zero(*pack, pos, off)) {
      std::string why;
      for (const auto& c : tables_) {
        if (!c.kept && c.meta.container_offset >= pos && c.meta.container_offset < off) {
          why += (why.empty() ? "" : "; ") + c.where + " " + c.problem;
        }
      }
      if (why.empty()) why = "bytes no readable table accounts for";
      const std::string to = lost_name(extent_name(pos, off - pos));
      auto out = env_->new_writable_file(dir_ + "/" + to);
      std::string buf;
      for (uint64_t at = pos; at < off; at += kChunk) {
        buf.resize(static_cast<size_t>(std::min<uint64_t>(kChunk, off - at)));
        if (pack->read(at, buf.size(), buf.data()) != buf.size()) {
          throw Error(Errc::Io, dir_ + "/sst.pack: short read at " + std::to_string(at));
        }
        out->append(buf);
      }
      out->sync();
      out->close();
      env_->sync_dir(dir_ + "/lost");
      result_.quarantined.push_back(to + ": copied from sst.pack (" + why + ")");
    }
    pos = std::max(pos, off + len);
  }
}

}  // namespace flowdb
