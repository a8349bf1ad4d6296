// log::Reader::skip_damage() (repair's reader): damage is skipped to the next
// record that starts in a later block, as LevelDB's reader does; a torn tail
// is still a torn tail; without it the same damage stays Corruption.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine_util.h"
#include "flowdb/env.h"
#include "flowdb/error.h"
#include "log.h"

using namespace flowdb;
using flowdb::testing::TempDir;

namespace {

constexpr uint64_t kBlock = log::kBlockSize;

// A log file written by log::Writer, and where each record starts and ends.
struct LogFile {
  TempDir dir;
  std::string path = (dir / "x.log");
  std::vector<std::string> records;
  std::vector<uint64_t> starts, ends;

  explicit LogFile(const std::vector<size_t>& sizes) {
    auto file = Env::posix()->new_writable_file(path);
    log::Writer w(file.get());
    for (size_t i = 0; i < sizes.size(); ++i) {
      records.push_back(std::string(sizes[i], static_cast<char>('a' + i % 26)));
      uint64_t start = file->size();
      if (kBlock - start % kBlock < log::kHeaderSize) start += kBlock - start % kBlock;
      w.add_record(records.back());
      starts.push_back(start);
      ends.push_back(file->size());
    }
    file->sync();
    file->close();
  }
  std::string bytes() const { return flowdb::testing::read_bytes(path); }
  void write(const std::string& b) const { flowdb::testing::write_bytes(path, b); }
};

struct Read {
  std::vector<std::string> records;
  bool torn = false;
  log::Reader::Skipped skipped;
};

Read read_skipping(const std::string& path) {
  log::Reader r(Env::posix()->new_random_access_file(path), path);
  r.skip_damage();
  Read out;
  std::string scratch;
  std::string_view rec;
  while (r.read_record(&scratch, &rec)) out.records.emplace_back(rec);
  out.torn = r.hit_torn_tail();
  out.skipped = r.skipped();
  return out;
}

// Damage to the header of record k (which starts inside its block): the rest
// of that block is dropped, so every record with a byte in [start_k, block end).
void check_skip_from_record(const LogFile& f, size_t k, const std::string& damaged) {
  const uint64_t from = f.starts[k], block_end = (from / kBlock + 1) * kBlock;
  std::vector<std::string> want;
  uint64_t prev_end = 0, next_start = damaged.size();
  for (size_t i = 0; i < f.records.size(); ++i) {
    if (f.starts[i] < block_end && f.ends[i] > from) continue;  // dropped
    want.push_back(f.records[i]);
    if (f.ends[i] <= from) prev_end = f.ends[i];
    if (f.starts[i] >= block_end) next_start = std::min(next_start, f.starts[i]);
  }
  REQUIRE(want.size() < f.records.size());
  f.write(damaged);
  const Read got = read_skipping(f.path);
  CHECK(got.records == want);
  CHECK_FALSE(got.torn);
  CHECK(got.skipped.regions == 1);
  CHECK(got.skipped.bytes == next_start - prev_end);
  CHECK(got.skipped.first_offset == from);
  // Without skip_damage() the same bytes are Corruption, as at open.
  log::Reader strict(Env::posix()->new_random_access_file(f.path), f.path);
  std::string scratch;
  std::string_view rec;
  try {
    while (strict.read_record(&scratch, &rec)) {
    }
    FAIL("the strict reader accepted damage followed by records");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::Corruption);
  }
}

}  // namespace

TEST_CASE("skip mode resumes after a damaged header at the next block's first record start",
          "[log][skip]") {
  // 300-byte records, then one spanning four blocks (its MIDDLE and LAST
  // fragments must be dropped after the resync), then small ones again.
  std::vector<size_t> sizes(150, 300);
  sizes.push_back(100000);
  sizes.insert(sizes.end(), 300, 300);
  LogFile f(sizes);
  size_t k = 0;  // a record starting mid-block 1, before the big record
  while (!(f.starts[k] / kBlock == 1 && f.starts[k] % kBlock > 1000)) ++k;
  std::string d = f.bytes();
  SECTION("a flipped checksum byte") { d[f.starts[k]] ^= 0x01; }
  SECTION("a length that overruns the block") {
    d[f.starts[k] + 4] = '\xff';
    d[f.starts[k] + 5] = '\xff';
  }
  SECTION("a changed type byte") { d[f.starts[k] + 6] = 9; }
  check_skip_from_record(f, k, d);
}

TEST_CASE("skip mode drops a record whose FIRST fragment is damaged, with its later fragments",
          "[log][skip]") {
  std::vector<size_t> sizes(50, 300);
  sizes.push_back(100000);  // FIRST in block 0, MIDDLEs, LAST in block 3
  sizes.insert(sizes.end(), 300, 300);
  LogFile f(sizes);
  std::string d = f.bytes();
  d[f.starts[50] + 10] ^= 0x40;  // inside the FIRST fragment's payload
  check_skip_from_record(f, 50, d);
}

TEST_CASE("skip mode still treats damage with no record after it as a torn tail", "[log][skip]") {
  LogFile f(std::vector<size_t>(300, 300));
  const std::string b = f.bytes();
  f.write(b.substr(0, f.starts.back() + 50));
  const Read got = read_skipping(f.path);
  CHECK(got.records.size() == 299);
  CHECK(got.torn);
  CHECK(got.skipped.regions == 0);
  CHECK(got.skipped.bytes == 0);
}
