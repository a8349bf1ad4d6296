// Repair of a damaged WAL segment: the damaged bytes are skipped up to the
// next record that starts in a later block (LevelDB's resync) and every
// whole batch after them is still replayed. The batches lost are computed
// from where the segment was damaged and the record layout read off the
// intact segment, never hard-coded.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "damage_util.h"

using namespace flowdb;
using namespace flowdb::damage;

namespace {

constexpr uint64_t kBlock = 32768;

struct WalOp {
  std::string key;
  int64_t ts;
  std::optional<std::string> value;  // nullopt: a delete
};

// One WAL record of the intact segment: [start, end) and its fragments.
struct LogRecord {
  uint64_t start = 0, end = 0;
  std::vector<uint64_t> fragments;  // header offsets
};

// CRC32C (Castagnoli), bitwise, masked as the log format stores it.
uint32_t masked_crc32c(const char* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= static_cast<uint8_t>(p[i]);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
  }
  c = ~c;
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

// Incompressible bytes, so records keep their size in the WAL.
std::string noise(uint64_t seed, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>(seed >> 56);
  }
  return s;
}

// A store whose acknowledged batches are all in one WAL segment (the engine
// "crashes": every file operation fails at close, so nothing is flushed).
struct WalStore {
  TempDir work;
  std::string dir = (work / "db");
  ManualClock clock;
  Config cfg = test_config(dir, clock);
  std::vector<std::vector<WalOp>> batches;  // in write order: WAL record i is batch i
  std::string segment;                      // "wal/N.log"
  std::string bytes;                        // the intact segment
  std::vector<LogRecord> records;

  explicit WalStore(StorageBackendKind backend) {
    cfg.storage_backend = backend;
    cfg.memtable_size_mb = 4;
    cfg.wal_segment_size_mb = 4;
    FaultInjectionEnv env(Env::posix());
    Config c = cfg;
    c.env = &env;
    auto e = Engine::open(c);
    for (int b = 0; b < 60; ++b) write_batch(*e, b);
    using F = FaultInjectionEnv::Op;
    for (F op : {F::Write, F::Sync, F::Rename, F::Create, F::Remove}) env.fail_after(op, 0);
    e.reset();
    env.clear_faults();
    const auto segs = wal_segments(dir);
    REQUIRE(segs.size() == 1);
    segment = segs[0];
    bytes = read_bytes(dir + "/" + segment);
    parse_records();
    REQUIRE(records.size() == batches.size());
    REQUIRE(bytes.size() > 6 * kBlock);
  }

  // Puts of 1..5 records of 1.5 KB over 40 keys (so later batches overwrite
  // earlier ones), one batch of 30 (a record with a MIDDLE fragment), and
  // every sixth batch deletes two keys.
  void write_batch(Engine& e, int b) {
    std::vector<WalOp> ops;
    if (b % 6 == 5) {
      std::vector<std::pair<std::string, int64_t>> dels;
      for (int k : {b % 40, (b * 3) % 40}) {
        dels.emplace_back(key_of(k), 1);
        ops.push_back({key_of(k), 1, std::nullopt});
      }
      e.delete_batch(dels);
    } else {
      const int n = b == 20 ? 30 : 1 + (b * 7) % 5;
      std::vector<Record> rs;
      for (int i = 0; i < n; ++i) {
        const int k = (b * 11 + i) % 40;
        std::string v = noise(uint64_t(b) * 1000 + uint64_t(i), 1500);
        rs.emplace_back(key_of(k), 1, v);
        ops.push_back({key_of(k), 1, std::move(v)});
      }
      e.write_batch(rs);
    }
    batches.push_back(std::move(ops));
  }

  void parse_records() {
    LogRecord cur;
    for (uint64_t pos = 0; pos + 7 <= bytes.size();) {
      if (kBlock - pos % kBlock < 7) {  // block trailer
        pos += kBlock - pos % kBlock;
        continue;
      }
      const uint8_t type = static_cast<uint8_t>(bytes[pos + 6]);
      const uint64_t len =
          static_cast<uint8_t>(bytes[pos + 4]) | (static_cast<uint8_t>(bytes[pos + 5]) << 8);
      REQUIRE((type >= 1 && type <= 4));
      if (type == 1 || type == 2) cur = LogRecord{pos, 0, {}};
      cur.fragments.push_back(pos);
      pos += 7 + len;
      if (type == 1 || type == 4) {
        cur.end = pos;
        records.push_back(cur);
      }
    }
  }

  // What open must return once the batches in `lost` are gone.
  Model model_without(const std::set<size_t>& lost) const {
    Model m;
    for (size_t b = 0; b < batches.size(); ++b) {
      if (lost.count(b)) continue;
      for (const WalOp& op : batches[b]) {
        if (op.value) {
          m[{op.key, op.ts}] = *op.value;
        } else {
          m.erase({op.key, op.ts});
        }
      }
    }
    return m;
  }

  // The fragment holding byte `d`.
  uint64_t fragment_at(uint64_t d) const {
    uint64_t f = 0;
    for (const auto& r : records) {
      for (uint64_t h : r.fragments) {
        if (h <= d) f = std::max(f, h);
      }
    }
    return f;
  }
};

// What repair must drop for damage at byte `d`: the rest of d's block from
// the fragment holding d, so every record with a byte there.
struct Expected {
  std::set<size_t> lost;
  uint64_t bytes_skipped = 0;
  size_t after = 0;  // batches replayed after the damage
};

Expected expect_for(const WalStore& s, uint64_t d) {
  const uint64_t from = s.fragment_at(d);
  const uint64_t block_end = (d / kBlock + 1) * kBlock;
  Expected x;
  uint64_t prev_end = 0, next_start = s.bytes.size();
  for (size_t i = 0; i < s.records.size(); ++i) {
    const LogRecord& r = s.records[i];
    if (r.start < block_end && r.end > from) {
      x.lost.insert(i);
    } else if (r.end <= from) {
      prev_end = std::max(prev_end, r.end);
    } else {
      next_start = std::min(next_start, r.start);
      ++x.after;
    }
  }
  x.bytes_skipped = next_start - prev_end;
  return x;
}

// Repairs the damaged store and checks everything the repair must do.
void repair_and_check(WalStore& s, const std::string& damaged, const Expected& x) {
  REQUIRE(!x.lost.empty());
  REQUIRE(x.after > 0);  // there are intact batches after the damage
  write_bytes(s.dir + "/" + s.segment, damaged);
  try {  // open's strict rules are unchanged: damage before valid records
    auto e = Engine::open(s.cfg);
    FAIL("open accepted a damaged WAL segment");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::Corruption);
  }
  const RepairResult r = Engine::repair(s.cfg);
  const std::string summary = r.summary();
  INFO(summary);
  REQUIRE(r.wal_damage.size() == 1);
  const WalSegmentRepair& w = r.wal_damage[0];
  CHECK(w.segment == s.segment);
  CHECK(w.damaged_regions == 1);
  CHECK(w.bytes_skipped == x.bytes_skipped);
  CHECK(w.batches_undecodable == 0);
  CHECK(w.batches_replayed == s.batches.size() - x.lost.size());
  CHECK(w.batches_after_damage == x.after);
  CHECK(w.stopped.empty());
  using Catch::Matchers::Contains;
  CHECK_THAT(summary, Contains(s.segment + ": damaged: skipped " + std::to_string(x.bytes_skipped) +
                               " bytes in 1 damaged region"));
  CHECK_THAT(summary, Contains(std::to_string(x.after) + " of them after the damage"));
  CHECK(read_bytes(s.dir + "/lost/" + s.segment) == damaged);  // quarantined unchanged
  CHECK(!fs::exists(s.dir + "/" + s.segment));
  auto e = Engine::open(s.cfg);
  CHECK(compare_with_model(*e, s.model_without(x.lost)).empty());
}

// A fragment header that starts a record in the middle of block `block`,
// after at least one whole record in that block.
uint64_t record_start_in_block(const WalStore& s, uint64_t block) {
  for (size_t i = 1; i < s.records.size(); ++i) {
    const LogRecord& r = s.records[i];
    if (r.start / kBlock == block && r.start % kBlock > 0 &&
        s.records[i - 1].start / kBlock == block) {
      return r.start;
    }
  }
  FAIL("no record starts inside block " << block);
  return 0;
}

}  // namespace

TEST_CASE("repair skips a damaged stretch of a WAL segment and replays every whole batch after it",
          "[engine][repair][wal]") {
  const auto backend = GENERATE(StorageBackendKind::MultiFile, StorageBackendKind::SingleFile);
  INFO(backend_name(backend));
  WalStore s(backend);
  std::string d = s.bytes;
  const uint64_t mid_block = s.bytes.size() / kBlock / 2;
  SECTION("a flipped byte inside a record in the middle") {
    const uint64_t at = s.bytes.size() / 2;
    const uint64_t f = s.fragment_at(at);
    const uint64_t pos = std::max(at, f + 7);  // in the payload, not the header
    d[pos] = static_cast<char>(d[pos] ^ 0x40);
    repair_and_check(s, d, expect_for(s, pos));
  }
  SECTION("a whole 32 KiB block zeroed in the middle") {
    std::fill(d.begin() + mid_block * kBlock, d.begin() + (mid_block + 1) * kBlock, '\0');
    repair_and_check(s, d, expect_for(s, mid_block * kBlock));
  }
  SECTION("a fragment header whose length overruns its block") {
    const uint64_t h = record_start_in_block(s, mid_block);
    d[h + 4] = '\xff';
    d[h + 5] = '\xff';
    repair_and_check(s, d, expect_for(s, h));
  }
}

TEST_CASE("repair skips a batch whose checksum is valid but whose payload does not decode",
          "[engine][repair][wal]") {
  const auto backend = GENERATE(StorageBackendKind::MultiFile, StorageBackendKind::SingleFile);
  INFO(backend_name(backend));
  WalStore s(backend);
  // A one-fragment record in the middle, its payload rewritten with a valid
  // checksum: 1 kind byte (unknown) and garbage.
  size_t victim = s.records.size() / 2;
  while (s.records[victim].fragments.size() != 1) ++victim;
  const LogRecord& r = s.records.at(victim);
  std::string d = s.bytes;
  const std::string junk = "\x7f" + std::string(r.end - r.start - 8, '\x55');
  d.replace(r.start + 7, junk.size(), junk);
  const uint32_t crc = masked_crc32c(d.data() + r.start + 6, 1 + junk.size());
  for (int i = 0; i < 4; ++i) d[r.start + i] = static_cast<char>(crc >> (8 * i));
  write_bytes(s.dir + "/" + s.segment, d);
  const RepairResult res = Engine::repair(s.cfg);
  INFO(res.summary());
  REQUIRE(res.wal_damage.size() == 1);
  const WalSegmentRepair& w = res.wal_damage[0];
  CHECK(w.batches_undecodable == 1);
  CHECK(w.bytes_skipped == 0);
  CHECK(w.damaged_regions == 0);
  CHECK(w.first_damage_at == r.start);
  CHECK(w.batches_replayed == s.batches.size() - 1);
  CHECK(w.batches_after_damage == s.batches.size() - 1 - victim);
  CHECK_THAT(res.summary(), Catch::Matchers::Contains("1 undecodable batch"));
  CHECK(read_bytes(s.dir + "/lost/" + s.segment) == d);
  auto e = Engine::open(s.cfg);
  CHECK(compare_with_model(*e, s.model_without({victim})).empty());
}

TEST_CASE("a torn tail of the newest WAL segment is still ignored, not counted as skipped",
          "[engine][repair][wal]") {
  WalStore s(StorageBackendKind::MultiFile);
  const LogRecord& last = s.records.back();
  REQUIRE(last.end == s.bytes.size());
  write_bytes(s.dir + "/" + s.segment, s.bytes.substr(0, last.start + 10));  // cut short
  const RepairResult r = Engine::repair(s.cfg);
  INFO(r.summary());
  CHECK(r.wal_damage.empty());
  CHECK(r.clean());
  CHECK_THAT(r.summary(),
             Catch::Matchers::Contains(s.segment + ": ignored a torn tail at offset " +
                                       std::to_string(s.records[s.records.size() - 2].end)));
  auto e = Engine::open(s.cfg);
  CHECK(compare_with_model(*e, s.model_without({s.batches.size() - 1})).empty());
}

#ifdef FLOWDB_CLI_BIN
TEST_CASE("flowdb repair prints the bytes it skipped in a damaged WAL segment",
          "[engine][repair][wal][cli]") {
  WalStore s(StorageBackendKind::MultiFile);
  std::string d = s.bytes;
  const uint64_t block = s.bytes.size() / kBlock / 2;
  std::fill(d.begin() + block * kBlock, d.begin() + (block + 1) * kBlock, '\0');
  const Expected x = expect_for(s, block * kBlock);
  write_bytes(s.dir + "/" + s.segment, d);
  const std::string out = (s.work / "repair.out");
  const int st = std::system(
      (std::string(FLOWDB_CLI_BIN) + " repair --data-dir " + s.dir + " > " + out + " 2>&1")
          .c_str());
  const std::string text = read_bytes(out);
  INFO(text);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 1);  // something was quarantined
  using Catch::Matchers::Contains;
  CHECK_THAT(text, Contains(s.segment + ": damaged: skipped " + std::to_string(x.bytes_skipped) +
                            " bytes in 1 damaged region"));
  CHECK_THAT(text, Contains("lost/" + s.segment + ": damaged WAL segment"));
  CHECK(read_bytes(s.dir + "/lost/" + s.segment) == d);
}
#endif  // FLOWDB_CLI_BIN
