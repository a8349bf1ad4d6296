// The damage-trial store (issue 14) shared by damage_test.cc and
// repair_test.cc: 20,000 records in four flushed tables and two WAL segments
// (see build()), a ledger of which file holds each write, and comparisons.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine_util.h"
#include "flowdb/engine.h"
#include "flowdb/fault_injection_env.h"

namespace flowdb::damage {

using flowdb::testing::ManualClock;
using flowdb::testing::read_bytes;
using flowdb::testing::TempDir;
using flowdb::testing::test_config;
using flowdb::testing::write_bytes;
using Op = FaultInjectionEnv::Op;
namespace fs = std::filesystem;

constexpr int kRecords = 20000;
constexpr int kRounds = 5;  // rounds 0..3 are flushed to tables, round 4 stays in the WAL
constexpr int kPerRound = kRecords / kRounds;
constexpr int kTail = 200;  // the last records, alone in the newest WAL segment

using Model = std::map<std::pair<std::string, int64_t>, std::string>;

// Which file of the pristine store holds a write: table 0..3 (the flushed
// rounds, in file-number and pack order), or WAL segment kWalA / kWalB.
constexpr int kWalA = 4, kWalB = 5;
struct Write {
  int unit;
  std::string key;
  int64_t ts;
  std::optional<std::string> value;  // nullopt: a delete
};

inline std::string key_of(int i) {
  char k[32];
  std::snprintf(k, sizeof k, "sensor-%05d/temp", i);
  return k;
}
inline int64_t ts_of(int i) { return 1000 + i % 7; }
inline std::string value_of(int i, int version) {
  return "v" + std::to_string(version) + "-" + std::to_string(i) + std::string(60, 'x');
}

// A pristine store and what it must hold.
struct Pristine {
  TempDir dir;
  Config cfg;
  Model model;
  std::vector<Write> ledger;  // every write, in order
  std::string path() const { return (dir / "db"); }
};

inline void put_range(Engine& e, Pristine& p, int unit, int from, int to, int version) {
  std::vector<Record> rs;
  for (int i = from; i < to; ++i) {
    rs.emplace_back(key_of(i), ts_of(i), value_of(i, version));
    p.model[{key_of(i), ts_of(i)}] = value_of(i, version);
    p.ledger.push_back({unit, key_of(i), ts_of(i), value_of(i, version)});
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
inline void build(Pristine& p, StorageBackendKind backend) {
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
    put_range(*e, p, r + 1 < kRounds ? r : kWalA, r * kPerRound,
              (r + 1) * kPerRound - (r + 1 < kRounds ? 0 : kTail), 1);
    if (r + 1 < kRounds) e->flush();
  }
  put_range(*e, p, kWalA, 0, 500, 2);  // overwrites of flushed records
  std::vector<std::pair<std::string, int64_t>> dels;
  for (int i = kPerRound; i < kPerRound + 300; ++i) {
    dels.emplace_back(key_of(i), ts_of(i));
    p.model.erase({key_of(i), ts_of(i)});
    p.ledger.push_back({kWalA, key_of(i), ts_of(i), std::nullopt});
  }
  e->delete_batch(dels);
  REQUIRE(e->stats().frozen_memtable_count == 0);
  // The next write freezes the memtable (new clock bucket) and starts a new
  // segment (the one Create allowed); the flush cannot create its table.
  clock.advance(int64_t{120} * 1000000);
  env.fail_after(Op::Create, 1);
  put_range(*e, p, kWalB, kRecords - kTail, kRecords, 1);  // one batch
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
// (The ledger's units name the round; the overwrites are unit kWalA.)
inline void build_closed(Pristine& p, StorageBackendKind backend, bool compact) {
  static ManualClock clock;
  p.cfg = test_config(p.path(), clock);
  p.cfg.storage_backend = backend;
  p.cfg.memtable_size_mb = 4;
  p.cfg.block_size = 2048;
  p.cfg.compaction_threshold = 1;
  auto e = Engine::open(p.cfg);
  for (int r = 0; r < kRounds; ++r) {
    put_range(*e, p, r, r * kPerRound, (r + 1) * kPerRound, 1);
    e->flush();
  }
  put_range(*e, p, kWalA, 0, 500, 2);
  e->flush();
  if (compact) {
    size_t compacted = 0;
    for (const BucketInfo& b : e->list_buckets()) compacted += e->compact_bucket(b.bucket) ? 1 : 0;
    REQUIRE(compacted > 0);
  }
  e.reset();
}

inline Pristine& pristine(StorageBackendKind backend, Layout layout = Layout::WalTail) {
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

inline std::string backend_name(StorageBackendKind b) {
  return b == StorageBackendKind::MultiFile ? "MultiFile" : "SingleFile";
}

inline std::string manifest_name(const std::string& dir) {
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
inline Tables tables_of(const std::string& dir) {
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
inline std::string lost_tables(const Tables& before, const Tables& after) {
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
inline std::string compare_with_model(Engine& e, const Model& model) {
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

// What the store holds once the writes of `lost` units are gone: the newest
// surviving write of each (key, ts) wins.
inline Model model_without(const Pristine& p, const std::set<int>& lost) {
  Model m;
  for (const Write& w : p.ledger) {
    if (lost.count(w.unit)) continue;
    if (w.value) {
      m[{w.key, w.ts}] = *w.value;
    } else {
      m.erase({w.key, w.ts});
    }
  }
  return m;
}

// Where each MANIFEST record ends (records of one fragment: a small file).
inline std::vector<size_t> record_ends(const std::string& manifest) {
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

// ------------------------------------------------------------ repair trials

using Files = std::map<std::string, std::string>;  // relative path -> bytes

inline Files snapshot(const std::string& dir) {
  Files f;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).string();
    if (rel != "LOCK") f[rel] = read_bytes(e.path().string());
  }
  return f;
}

// Empty if every file of `before` (but CURRENT, which repair rewrites) is
// still in place or in lost/ with the same bytes, sst.pack's old bytes are a
// prefix of the new pack, and every file in lost/ holds original bytes.
inline std::string check_nothing_lost(const Files& before, const std::string& dir) {
  const Files after = snapshot(dir);
  std::string out;
  auto at = [&](const std::string& rel) {
    auto it = after.find(rel);
    return it == after.end() ? std::optional<std::string>() : it->second;
  };
  for (const auto& [rel, bytes] : before) {
    if (rel == "CURRENT" && !at("lost/CURRENT")) continue;
    if (rel == "sst.pack") {
      if (!at(rel) || at(rel)->compare(0, bytes.size(), bytes) != 0) out += " sst.pack changed;";
      continue;
    }
    if (at(rel) != bytes && at("lost/" + rel) != bytes) out += " " + rel + " is gone or changed;";
  }
  for (const auto& [rel, bytes] : after) {
    if (rel.rfind("lost/", 0) != 0) continue;
    std::optional<std::string> original;
    unsigned long long off = 0, size = 0;
    if (std::sscanf(rel.c_str(), "lost/sst.pack@%llu+%llu", &off, &size) == 2) {
      auto pack = before.find("sst.pack");
      if (pack != before.end() && off + size <= pack->second.size()) {
        original = pack->second.substr(off, size);
      }
    } else if (auto it = before.find(rel.substr(5)); it != before.end()) {
      original = it->second;
    } else if (auto dot = rel.rfind('.'); dot != std::string::npos) {
      // "NAME.1": a second repair's copy of what an interrupted one moved.
      if (auto it2 = before.find(rel.substr(5, dot - 5)); it2 != before.end()) {
        original = it2->second;
      }
    }
    if (original != bytes) out += " " + rel + " does not hold original bytes;";
  }
  return out;
}

// The files of `sub` ("wal", "sst") as "sub/NAME", sorted (by number).
inline std::vector<std::string> files_in(const std::string& dir, const std::string& sub) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir + "/" + sub)) {
    out.push_back(sub + "/" + e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}
inline std::vector<std::string> wal_segments(const std::string& dir) {
  return files_in(dir, "wal");
}
// The table files in number order (MultiFile): tables 0..3 of the ledger.
inline std::vector<std::string> table_files(const std::string& dir) { return files_in(dir, "sst"); }

inline void flip(const std::string& path, uint64_t pos) {
  std::string d = read_bytes(path);
  REQUIRE(pos < d.size());
  d[pos] = static_cast<char>(d[pos] ^ 0x40);
  write_bytes(path, d);
}

}  // namespace flowdb::damage
