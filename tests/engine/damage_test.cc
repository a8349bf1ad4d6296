// Damage trials (issue 14): a store of 20,000 records with several tables and
// live WAL data is damaged the way field devices damage data directories --
// a metadata file removed, the MANIFEST cut at every length, bytes of it
// flipped -- and each trial opens a fresh copy. Open must either throw
// Errc::Corruption or return every record written; in neither case may a
// table file disappear (MultiFile: the names under sst/; SingleFile: the
// size of sst.pack must not shrink). See "What open accepts and what it
// refuses" in engine/doc/format.md.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "flowdb/engine.h"
#include "flowdb/fault_injection_env.h"
#include "test_util.h"

using namespace flowdb;
using flowdb::testing::ManualClock;
using flowdb::testing::read_bytes;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;
using flowdb::testing::write_bytes;
namespace fs = std::filesystem;
using Op = FaultInjectionEnv::Op;

namespace {

constexpr int kRecords = 20000;
constexpr int kRounds = 5;  // rounds 0..3 are flushed to tables, round 4 stays in the WAL
constexpr int kPerRound = kRecords / kRounds;
constexpr int kTail = 200;  // the last records, alone in the newest WAL segment

using Model = std::map<std::pair<std::string, int64_t>, std::string>;

std::string key_of(int i) {
  char k[32];
  std::snprintf(k, sizeof k, "sensor-%05d/temp", i);
  return k;
}
int64_t ts_of(int i) { return 1000 + i % 7; }
std::string value_of(int i, int version) {
  return "v" + std::to_string(version) + "-" + std::to_string(i) + std::string(60, 'x');
}

// A pristine store and what it must hold.
struct Pristine {
  TempDir dir;
  Config cfg;
  Model model;
  std::string path() const { return dir.sub("db"); }
};

void put_range(Engine& e, Model& m, int from, int to, int version) {
  std::vector<Record> rs;
  for (int i = from; i < to; ++i) {
    rs.emplace_back(key_of(i), ts_of(i), value_of(i, version));
    m[{key_of(i), ts_of(i)}] = value_of(i, version);
    if (rs.size() == 200) {
      e.write_batch(rs);
      rs.clear();
    }
  }
  if (!rs.empty()) e.write_batch(rs);
}

// Writes kRecords records: four rounds each flushed to its own tables, a
// fifth round plus overwrites of round 0 and deletes of round 1 left in one
// WAL segment, then a last batch in a second segment whose flush never
// happens (the memtable is frozen by a clock-bucket change and creating its
// table fails). Then "crashes": every further file operation fails, so close
// cannot flush and two WAL segments hold acknowledged data.
void build(Pristine& p, StorageBackendKind backend) {
  static ManualClock clock;
  p.cfg = test_config(p.path(), clock);
  p.cfg.storage_backend = backend;
  p.cfg.memtable_size_mb = 4;  // explicit flushes only: the layout is deterministic
  p.cfg.wal_segment_size_mb = 1;
  p.cfg.block_size = 2048;
  FaultInjectionEnv env(Env::posix());
  Config cfg = p.cfg;
  cfg.env = &env;
  auto e = Engine::open(cfg);
  for (int r = 0; r < kRounds; ++r) {
    put_range(*e, p.model, r * kPerRound, (r + 1) * kPerRound - (r + 1 < kRounds ? 0 : kTail), 1);
    if (r + 1 < kRounds) e->flush();
  }
  put_range(*e, p.model, 0, 500, 2);  // overwrites of flushed records
  std::vector<std::pair<std::string, int64_t>> dels;
  for (int i = kPerRound; i < kPerRound + 300; ++i) {
    dels.emplace_back(key_of(i), ts_of(i));
    p.model.erase({key_of(i), ts_of(i)});
  }
  e->delete_batch(dels);
  REQUIRE(e->stats().frozen_memtable_count == 0);
  // The next write freezes the memtable (new clock bucket) and starts a new
  // segment (the one Create allowed); the flush cannot create its table.
  clock.advance(int64_t{120} * 1000000);
  env.fail_after(Op::Create, 1);
  put_range(*e, p.model, kRecords - kTail, kRecords, 1);  // one batch
  for (Op op : {Op::Write, Op::Sync, Op::Rename, Op::Create, Op::Remove}) env.fail_after(op, 0);
  e.reset();
  env.clear_faults();
  REQUIRE(p.model.size() == static_cast<size_t>(kRecords - 300));
}

// How a pristine store is laid out.
enum class Layout {
  WalTail,    // build(): tables plus acknowledged data in two WAL segments
  Flushed,    // closed cleanly after every round was flushed: the WAL is empty
  Compacted,  // Flushed, then every bucket compacted: the inputs' space is freed
};

// Layout::Flushed or Layout::Compacted: only the tables hold the records.
void build_closed(Pristine& p, StorageBackendKind backend, bool compact) {
  static ManualClock clock;
  p.cfg = test_config(p.path(), clock);
  p.cfg.storage_backend = backend;
  p.cfg.memtable_size_mb = 4;
  p.cfg.block_size = 2048;
  p.cfg.compaction_threshold = 1;
  auto e = Engine::open(p.cfg);
  for (int r = 0; r < kRounds; ++r) {
    put_range(*e, p.model, r * kPerRound, (r + 1) * kPerRound, 1);
    e->flush();
  }
  put_range(*e, p.model, 0, 500, 2);
  e->flush();
  if (compact) {
    size_t compacted = 0;
    for (const BucketInfo& b : e->list_buckets()) compacted += e->compact_bucket(b.bucket) ? 1 : 0;
    REQUIRE(compacted > 0);
  }
  e.reset();
}

Pristine& pristine(StorageBackendKind backend, Layout layout = Layout::WalTail) {
  static std::map<std::pair<StorageBackendKind, Layout>, std::unique_ptr<Pristine>> cache;
  auto& slot = cache[{backend, layout}];
  if (!slot) {
    auto p = std::make_unique<Pristine>();
    // A failed build is not cached.
    if (layout == Layout::WalTail) {
      build(*p, backend);
    } else {
      build_closed(*p, backend, layout == Layout::Compacted);
    }
    slot = std::move(p);
  }
  return *slot;
}

std::string backend_name(StorageBackendKind b) {
  return b == StorageBackendKind::MultiFile ? "MultiFile" : "SingleFile";
}

std::string manifest_name(const std::string& dir) {
  std::string cur = read_bytes(dir + "/CURRENT");
  REQUIRE(!cur.empty());
  if (cur.back() == '\n') cur.pop_back();
  return cur;
}

// What must never shrink: the table files under sst/ and the pack's size.
struct Tables {
  std::set<std::string> names;
  uint64_t pack_size = 0;
};
Tables tables_of(const std::string& dir) {
  Tables t;
  if (fs::exists(dir + "/sst")) {
    for (const auto& e : fs::directory_iterator(dir + "/sst")) {
      t.names.insert(e.path().filename().string());
    }
  }
  if (fs::exists(dir + "/sst.pack")) t.pack_size = fs::file_size(dir + "/sst.pack");
  return t;
}

// Empty if nothing of `before` is gone from `after`, else what is.
std::string lost_tables(const Tables& before, const Tables& after) {
  std::string out;
  for (const auto& n : before.names) {
    if (!after.names.count(n)) out += " deleted sst/" + n;
  }
  if (after.pack_size < before.pack_size) {
    out += " sst.pack shrank " + std::to_string(before.pack_size) + "->" +
           std::to_string(after.pack_size);
  }
  return out;
}

// Empty if the engine returns exactly the model, else a description.
std::string compare_with_model(Engine& e, const Model& model) {
  auto rs = e.query(Query{ScanRange::all(), {}});
  size_t missing = 0, wrong = 0, extra = 0;
  Model got;
  for (const auto& r : rs) got[{r.key, r.ts}] = r.value;
  for (const auto& [k, v] : model) {
    auto it = got.find(k);
    if (it == got.end()) {
      ++missing;
    } else if (it->second != v) {
      ++wrong;
    }
  }
  for (const auto& [k, v] : got) extra += model.count(k) ? 0 : 1;
  if (missing == 0 && wrong == 0 && extra == 0 && rs.size() == model.size()) return {};
  std::ostringstream os;
  os << "open returned " << rs.size() << " of " << model.size() << " records (missing " << missing
     << ", wrong value " << wrong << ", resurrected/extra " << extra << ")";
  return os.str();
}

struct Outcome {
  int trials = 0, corruption = 0, recovered = 0;
  std::vector<std::string> failures;
};

// Copies the pristine store, damages the copy, opens it and classifies.
void trial(const Pristine& p, const std::string& what,
           const std::function<void(const std::string&)>& damage, Outcome& out) {
  TempDir work;
  const std::string dir = work.sub("db");
  fs::copy(p.path(), dir, fs::copy_options::recursive);
  const Tables before = tables_of(p.path());
  damage(dir);
  ++out.trials;
  Config cfg = p.cfg;
  cfg.data_dir = dir;
  cfg.env = nullptr;
  std::string failure;
  try {
    auto e = Engine::open(cfg);
    failure = lost_tables(before, tables_of(dir));
    std::string diff = compare_with_model(*e, p.model);
    if (!diff.empty()) failure = diff + failure;
    e.reset();
    if (failure.empty()) failure = lost_tables(before, tables_of(dir));
    if (failure.empty()) ++out.recovered;
  } catch (const Error& e) {
    if (e.code() == Errc::Corruption) {
      ++out.corruption;
      failure = lost_tables(before, tables_of(dir));
      if (!failure.empty()) failure = "Corruption (" + std::string(e.what()) + ") but" + failure;
    } else {
      failure = "threw a non-Corruption error: " + std::string(e.what());
    }
  } catch (const std::exception& e) {
    failure = std::string("threw a non-flowdb exception: ") + e.what();
  }
  if (!failure.empty()) out.failures.push_back(what + ": " + failure);
}

void report(const std::string& kind, StorageBackendKind backend, const Outcome& o, double secs) {
  std::ostringstream os;
  os << "damage " << kind << " [" << backend_name(backend) << "]: trials " << o.trials
     << ", Corruption " << o.corruption << ", full recoveries " << o.recovered << ", failures "
     << o.failures.size() << " (" << static_cast<int>(secs * 1000) << " ms)";
  const size_t shown = std::getenv("FLOWDB_DAMAGE_ALL") ? o.failures.size() : 40;
  for (size_t i = 0; i < o.failures.size() && i < shown; ++i) os << "\n  " << o.failures[i];
  if (o.failures.size() > shown) os << "\n  ... " << o.failures.size() - shown << " more";
  WARN(os.str());
  CHECK(o.failures.empty());
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Which metadata files a removal trial removes.
enum class Victims { CurrentManifestOldestWal, NewerWal };

void remove_metadata_files(StorageBackendKind backend, Victims which) {
  Pristine& p = pristine(backend);
  const auto t0 = Clock::now();
  std::vector<std::string> wal;
  for (const auto& e : fs::directory_iterator(p.path() + "/wal")) {
    wal.push_back("wal/" + e.path().filename().string());
  }
  std::sort(wal.begin(), wal.end());
  REQUIRE(wal.size() >= 2);  // the layout build() makes
  std::vector<std::string> victims;
  if (which == Victims::CurrentManifestOldestWal) {
    victims = {"CURRENT", manifest_name(p.path()), wal.front()};
  } else {
    victims.assign(wal.begin() + 1, wal.end());
  }
  Outcome o;
  for (const auto& v : victims) {
    trial(
        p, "remove " + v, [&](const std::string& dir) { fs::remove(dir + "/" + v); }, o);
  }
  report(which == Victims::NewerWal ? "remove-newer-wal-segment" : "remove-metadata-file", backend,
         o, since(t0));
}

// Where each MANIFEST record ends (records of one fragment: a small file).
std::vector<size_t> record_ends(const std::string& manifest) {
  std::vector<size_t> ends;
  for (size_t pos = 0; pos + 7 <= manifest.size();) {
    REQUIRE(static_cast<uint8_t>(manifest[pos + 6]) == 1);  // kFull
    pos += 7 + (static_cast<uint8_t>(manifest[pos + 4]) |
                (static_cast<uint8_t>(manifest[pos + 5]) << 8));
    ends.push_back(pos);
  }
  REQUIRE(ends.size() >= 3);  // the session's snapshot, its first edit, the flushes
  REQUIRE(ends.back() == manifest.size());
  return ends;
}

// Cuts the MANIFEST at every length (every few bytes if it is large) for
// which `keep(len, where the MANIFEST's records end)` holds.
void truncate_manifest(StorageBackendKind backend, const std::string& kind,
                       const std::function<bool(size_t, const std::vector<size_t>&)>& keep,
                       Layout layout = Layout::WalTail) {
  Pristine& p = pristine(backend, layout);
  const auto t0 = Clock::now();
  const std::string name = manifest_name(p.path());
  const std::string data = read_bytes(p.path() + "/" + name);
  const std::vector<size_t> ends = record_ends(data);
  const size_t step = data.size() <= 2048 ? 1 : data.size() / 1024 + 1;
  Outcome o;
  for (size_t len = 0; len < data.size(); len += step) {
    if (!keep(len, ends)) continue;
    trial(
        p, "truncate " + name + " to " + std::to_string(len),
        [&](const std::string& dir) { write_bytes(dir + "/" + name, data.substr(0, len)); }, o);
  }
  report(kind, backend, o, since(t0));
}

// Cuts that leave the session's opening snapshot (an empty store) as the
// last complete record: at its end or inside the edit after it.
bool leaves_only_snapshot(size_t len, const std::vector<size_t>& ends) {
  return len >= ends[0] && len < ends[1];
}
bool leaves_more_or_less(size_t len, const std::vector<size_t>& ends) {
  return !leaves_only_snapshot(len, ends);
}

// Flips one byte (XOR 0x40) at a sample of MANIFEST positions.
void flip_manifest_bytes(StorageBackendKind backend) {
  Pristine& p = pristine(backend);
  const auto t0 = Clock::now();
  const std::string name = manifest_name(p.path());
  const std::string data = read_bytes(p.path() + "/" + name);
  const size_t step = data.size() <= 256 ? 1 : data.size() / 128 + 1;
  Outcome o;
  for (size_t pos = 0; pos < data.size(); pos += step) {
    trial(
        p, "flip 0x40 at " + name + ":" + std::to_string(pos),
        [&](const std::string& dir) {
          std::string d = data;
          d[pos] = static_cast<char>(d[pos] ^ 0x40);
          write_bytes(dir + "/" + name, d);
        },
        o);
  }
  report("flip-manifest-byte", backend, o, since(t0));
}

}  // namespace

TEST_CASE("the pristine damage-trial stores open with every record", "[engine][damage]") {
  for (auto b : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    Pristine& p = pristine(b);
    Outcome o;
    trial(
        p, "no damage", [](const std::string&) {}, o);
    std::ostringstream files;
    files << "pristine " << backend_name(b) << " store (" << p.model.size() << " records):";
    for (const auto& e : fs::recursive_directory_iterator(p.path())) {
      if (e.is_regular_file()) {
        files << " " << fs::relative(e.path(), p.path()).string() << "=" << e.file_size();
      }
    }
    const std::string m = read_bytes(p.path() + "/" + manifest_name(p.path()));
    files << "; MANIFEST records (offset+payload):";
    for (size_t pos = 0; pos + 7 <= m.size();) {
      const size_t len = static_cast<uint8_t>(m[pos + 4]) | (static_cast<uint8_t>(m[pos + 5]) << 8);
      files << " " << pos << "+" << len;
      pos += 7 + len;
    }
    WARN(files.str());
    INFO(backend_name(b));
    CHECK(o.recovered == 1);
    CHECK(o.failures.empty());
    for (const auto& f : o.failures) WARN(f);
  }
}

TEST_CASE(
    "removing CURRENT, the MANIFEST or the oldest WAL segment is Corruption or a full "
    "recovery",
    "[engine][damage]") {
  remove_metadata_files(StorageBackendKind::MultiFile, Victims::CurrentManifestOldestWal);
  remove_metadata_files(StorageBackendKind::SingleFile, Victims::CurrentManifestOldestWal);
}

// A WAL segment newer than the manifest's log number: the MANIFEST records
// every segment before it is used, so open finds it missing (issue 14).
TEST_CASE("removing a WAL segment newer than the log number is Corruption or a full recovery",
          "[engine][damage]") {
  remove_metadata_files(StorageBackendKind::MultiFile, Victims::NewerWal);
  remove_metadata_files(StorageBackendKind::SingleFile, Victims::NewerWal);
}

TEST_CASE("a MANIFEST cut at any other length is Corruption or a full recovery",
          "[engine][damage]") {
  for (auto b : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    truncate_manifest(b, "truncate-manifest", leaves_more_or_less);
  }
}

// A MANIFEST cut at the end of the session's opening snapshot (an empty
// store, log number 0) or inside the edit after it recovers that empty
// state, while the WAL segments on disk hold data and are numbered past its
// next file number: only lost edits explain them, so open refuses before it
// replays anything or (SingleFile) reclaims sst.pack (issue 14).
TEST_CASE("a MANIFEST cut back to its opening snapshot is Corruption or a full recovery",
          "[engine][damage]") {
  for (auto b : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    truncate_manifest(b, "truncate-manifest-to-opening-snapshot", leaves_only_snapshot);
  }
}

// With every record in tables and the WAL empty, a MANIFEST cut at any
// length leaves a state whose log-number segment or live tables are gone
// (SingleFile: a live table's bytes no longer end in a footer), or the
// opening snapshot of a new store (log number 0) beside table data; all are
// refused (issue 14). Every 8th length and each record end.
TEST_CASE("a MANIFEST of a closed store cut at any length is Corruption or a full recovery",
          "[engine][damage]") {
  auto keep = [](size_t len, const std::vector<size_t>& ends) {
    return len % 8 == 0 || std::find(ends.begin(), ends.end(), len) != ends.end();
  };
  for (auto b : {StorageBackendKind::MultiFile, StorageBackendKind::SingleFile}) {
    truncate_manifest(b, "truncate-flushed-manifest", keep, Layout::Flushed);
    truncate_manifest(b, "truncate-compacted-manifest", keep, Layout::Compacted);
  }
}

TEST_CASE("a flipped MANIFEST byte is Corruption or a full recovery", "[engine][damage]") {
  flip_manifest_bytes(StorageBackendKind::MultiFile);
  flip_manifest_bytes(StorageBackendKind::SingleFile);
}
