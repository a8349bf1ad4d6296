#include "log.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "coding.h"
#include "crc32c.h"
#include "flowdb/env.h"
#include "flowdb/error.h"
#include "flowdb/fault_injection_env.h"
#include "temp_dir.h"

namespace flowdb::log {
namespace {

using flowdb::testing::TempDir;

namespace fs = std::filesystem;

// In-memory sources and sinks, so thousands of damaged variants are cheap.
class StringFile final : public RandomAccessFile {
 public:
  explicit StringFile(std::string data) : data_(std::move(data)) {}
  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= data_.size()) return 0;
    n = std::min<uint64_t>(n, data_.size() - offset);
    std::memcpy(scratch, data_.data() + offset, n);
    return n;
  }
  uint64_t size() const override { return data_.size(); }

 private:
  const std::string data_;
};

class StringSink final : public WritableFile {
 public:
  void append(std::string_view data) override {
    contents.append(data);
    ++appends;
  }
  void sync() override {}
  void close() override {}
  uint64_t size() const override { return contents.size(); }

  std::string contents;
  int appends = 0;
};

struct Log {
  std::string data;
  std::vector<std::string> records;
  std::vector<uint64_t> ends;  // offset just past each record
};

Log build(const std::vector<std::string>& records) {
  StringSink sink;
  Writer w(&sink);
  Log log;
  for (const auto& r : records) {
    w.add_record(r);
    log.records.push_back(r);
    log.ends.push_back(sink.contents.size());
  }
  log.data = sink.contents;
  return log;
}

struct ReadResult {
  std::vector<std::string> records;
  bool torn = false;
  uint64_t end = 0;
};

ReadResult read_all(std::string data, const std::string& name = "test.log") {
  const size_t max_records = data.size() / kHeaderSize + 1;
  Reader reader(std::make_unique<StringFile>(std::move(data)), name);
  ReadResult out;
  std::string scratch;
  std::string_view record;
  while (reader.read_record(&scratch, &record)) {
    out.records.emplace_back(record);
    REQUIRE(out.records.size() <= max_records);  // progress is always made
  }
  REQUIRE_FALSE(reader.read_record(&scratch, &record));  // stays at the end
  out.torn = reader.hit_torn_tail();
  out.end = reader.last_record_end();
  return out;
}

// Reads `data`, which must be corrupt; returns the error message.
std::string read_corrupt(std::string data, const std::string& name = "test.log") {
  try {
    read_all(std::move(data), name);
  } catch (const Error& e) {
    REQUIRE(e.code() == Errc::Corruption);
    return e.what();
  }
  FAIL("expected Corruption");
  return "";
}

// A hand-made fragment (for layouts the writer never produces).
std::string fragment(uint8_t type, std::string_view payload) {
  const char t = static_cast<char>(type);
  std::string out;
  put_fixed32(
      &out, crc32c::mask(crc32c::extend(crc32c::extend(0, &t, 1), payload.data(), payload.size())));
  out.push_back(static_cast<char>(payload.size() & 0xff));
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(t);
  out.append(payload);
  return out;
}

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (seed + i * 7) % 26);
  return s;
}

std::string random_string(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_CASE("records of every size round-trip through a log file on disk", "[log]") {
  TempDir dir;
  Env* env = Env::posix();
  const std::string path = (dir / "000001.log");
  const std::vector<std::string> records = {
      "",
      "small",
      pattern(100 * 1024 + 3, 1),  // spans four blocks
      "",
      pattern(kBlockSize - kHeaderSize, 2),
      pattern(1000, 3),
      pattern(3 * kBlockSize, 4),
      "tail",
  };
  {
    auto file = env->new_writable_file(path);
    Writer writer(file.get());
    for (const auto& r : records) writer.add_record(r);
    file->close();
  }
  Reader reader(env->new_random_access_file(path), path);
  std::string scratch;
  std::string_view record;
  for (const auto& expected : records) {
    REQUIRE(reader.read_record(&scratch, &record));
    REQUIRE(record == expected);
  }
  REQUIRE_FALSE(reader.read_record(&scratch, &record));
  REQUIRE_FALSE(reader.hit_torn_tail());
  REQUIRE(reader.last_record_end() == env->get_file_size(path));
}

TEST_CASE("last_record_end follows each record", "[log]") {
  const Log log = build({"a", pattern(40000, 1), "", "b"});
  Reader reader(std::make_unique<StringFile>(log.data), "x");
  std::string scratch;
  std::string_view record;
  REQUIRE(reader.last_record_end() == 0);
  for (size_t i = 0; i < log.records.size(); ++i) {
    REQUIRE(reader.read_record(&scratch, &record));
    REQUIRE(record == log.records[i]);
    REQUIRE(reader.last_record_end() == log.ends[i]);
  }
  REQUIRE(log.ends.back() == log.data.size());
}

TEST_CASE("each record is handed to the file in a single append", "[log]") {
  StringSink sink;
  Writer writer(&sink);
  writer.add_record(pattern(kBlockSize - 10, 0));  // leaves a 3-byte trailer
  writer.add_record(pattern(150 * 1024, 1));       // trailer + five fragments
  writer.add_record("");
  REQUIRE(sink.appends == 3);
  const auto result = read_all(sink.contents);
  REQUIRE(result.records.size() == 3);
  REQUIRE(result.records[1] == pattern(150 * 1024, 1));
}

TEST_CASE("the fragment header holds the masked crc, length and type", "[log]") {
  const Log log = build({"hello"});
  REQUIRE(log.data.size() == kHeaderSize + 5);
  REQUIRE(log.data == fragment(kFull, "hello"));
  REQUIRE(crc32c::unmask(decode_fixed32(log.data.data())) == crc32c::value("\x01hello"));
  REQUIRE(log.data[4] == 5);
  REQUIRE(log.data[5] == 0);
  REQUIRE(log.data[6] == kFull);
}

TEST_CASE("a record exactly filling a block leaves no trailer", "[log]") {
  const Log log = build({pattern(kBlockSize - kHeaderSize, 5), "next"});
  REQUIRE(log.ends[0] == kBlockSize);
  REQUIRE(log.data.substr(kBlockSize) == fragment(kFull, "next"));
  const auto result = read_all(log.data);
  REQUIRE(result.records == log.records);
  REQUIRE_FALSE(result.torn);
}

TEST_CASE("block trailers shorter than a header are zero-filled and skipped", "[log]") {
  for (size_t leftover = 1; leftover < kHeaderSize; ++leftover) {
    INFO("leftover=" << leftover);
    const size_t first = kBlockSize - leftover - kHeaderSize;
    const Log log = build({pattern(first, 1), "second"});
    REQUIRE(log.ends[0] == kBlockSize - leftover);
    REQUIRE(log.data.substr(kBlockSize - leftover, leftover) == std::string(leftover, '\0'));
    REQUIRE(log.data.substr(kBlockSize) == fragment(kFull, "second"));
    const auto result = read_all(log.data);
    REQUIRE(result.records == log.records);
    REQUIRE_FALSE(result.torn);
  }
}

TEST_CASE("exactly a header of room left gets a zero-length fragment", "[log]") {
  const size_t first = kBlockSize - 2 * kHeaderSize;
  const Log log = build({pattern(first, 1), "second", ""});
  REQUIRE(log.data.substr(kBlockSize - kHeaderSize, kHeaderSize) == fragment(kFirst, ""));
  REQUIRE(log.data.substr(kBlockSize, kHeaderSize + 6) == fragment(kLast, "second"));
  REQUIRE(read_all(log.data).records == log.records);

  // An empty record in that spot is a zero-length FULL.
  const Log log2 = build({pattern(first, 1), ""});
  REQUIRE(log2.data.size() == kBlockSize);
  REQUIRE(log2.data.substr(kBlockSize - kHeaderSize) == fragment(kFull, ""));
  REQUIRE(read_all(log2.data).records == log2.records);
}

TEST_CASE("a large record is split into FIRST, MIDDLE and LAST fragments", "[log]") {
  const std::string big = pattern(3 * kBlockSize, 9);  // 3 full fragments + 21 bytes
  const Log log = build({big});
  REQUIRE(static_cast<uint8_t>(log.data[6]) == kFirst);
  REQUIRE(static_cast<uint8_t>(log.data[kBlockSize + 6]) == kMiddle);
  REQUIRE(static_cast<uint8_t>(log.data[2 * kBlockSize + 6]) == kMiddle);
  REQUIRE(static_cast<uint8_t>(log.data[3 * kBlockSize + 6]) == kLast);
  REQUIRE(read_all(log.data).records == std::vector<std::string>{big});
}

TEST_CASE("a writer reopened at an offset continues the block layout", "[log]") {
  const std::vector<std::string> records = {pattern(kBlockSize - 12, 1), "x", pattern(50000, 2),
                                            "y", "z"};
  const Log whole = build(records);
  for (size_t split = 0; split <= records.size(); ++split) {
    INFO("split=" << split);
    StringSink sink;
    {
      Writer w(&sink);
      for (size_t i = 0; i < split; ++i) w.add_record(records[i]);
    }
    Writer resumed(&sink, sink.contents.size());
    for (size_t i = split; i < records.size(); ++i) resumed.add_record(records[i]);
    REQUIRE(sink.contents == whole.data);
  }
}

TEST_CASE("an empty log has no records and no torn tail", "[log]") {
  const auto result = read_all("");
  REQUIRE(result.records.empty());
  REQUIRE_FALSE(result.torn);
  REQUIRE(result.end == 0);
}

// Every truncation of the last record must read back as exactly the records
// before it, with a torn tail ending where the previous record ended. With
// `stride` > 1, cut points far from block and record edges are sampled.
void check_every_cut(const Log& log, uint64_t stride = 1) {
  const uint64_t prev_end = log.ends.size() >= 2 ? log.ends[log.ends.size() - 2] : 0;
  const std::vector<std::string> expected(log.records.begin(), log.records.end() - 1);
  for (uint64_t cut = prev_end; cut < log.data.size(); ++cut) {
    const uint64_t in_block = cut % kBlockSize;
    const bool near_edge = in_block < 64 || in_block > kBlockSize - 64 || cut < prev_end + 64 ||
                           cut + 64 > log.data.size();
    if (!near_edge && cut % stride != 0) continue;
    const auto result = read_all(log.data.substr(0, cut));
    if (result.records != expected || result.end != prev_end || result.torn != (cut != prev_end)) {
      FAIL_CHECK("cut=" << cut << " records=" << result.records.size() << " end=" << result.end
                        << " torn=" << result.torn);
      return;
    }
  }
  SUCCEED();
}

TEST_CASE("a torn tail at every cut point of a small last record", "[log][torn]") {
  check_every_cut(build({"first", "second", pattern(300, 3)}));
  check_every_cut(build({pattern(300, 3)}));
  check_every_cut(build({"a", ""}));
}

TEST_CASE("a torn tail at every cut point of a record crossing a block", "[log][torn]") {
  // The last record starts 20 bytes before a block end: trailer-free
  // FIRST/LAST, and a cut inside the header of the LAST fragment.
  check_every_cut(build({pattern(kBlockSize - 20 - kHeaderSize, 1), pattern(500, 2)}));
  // The last record is preceded by a 3-byte zero trailer.
  check_every_cut(build({pattern(kBlockSize - 3 - kHeaderSize, 1), pattern(200, 2)}));
}

TEST_CASE("a torn tail at cut points throughout a FIRST/MIDDLE/LAST record", "[log][torn]") {
  // Every cut costs a checksum of the whole first block, so cuts inside the
  // MIDDLE fragment are sampled (every 7th byte, plus all near the edges).
  check_every_cut(build({"head", pattern(kBlockSize + 2000, 4)}), 7);
}

TEST_CASE("a flipped byte anywhere in the last record is a torn tail", "[log][torn]") {
  for (const Log& log :
       {build({"one", "two", pattern(200, 1)}), build({"one", pattern(kBlockSize + 300, 2)})}) {
    const uint64_t prev_end = log.ends[log.ends.size() - 2];
    const std::vector<std::string> expected(log.records.begin(), log.records.end() - 1);
    const uint64_t step = log.data.size() - prev_end > 1000 ? 61 : 1;
    for (uint64_t pos = prev_end; pos < log.data.size(); pos += step) {
      std::string damaged = log.data;
      damaged[pos] ^= 0x20;
      const auto result = read_all(damaged);
      INFO("pos=" << pos);
      REQUIRE(result.records == expected);
      REQUIRE(result.torn);
      REQUIRE(result.end == prev_end);
    }
  }
}

TEST_CASE("a flipped byte in an earlier record followed by valid records is Corruption",
          "[log][corruption]") {
  SECTION("in the same block") {
    const Log log = build({"r0", "r1-damaged", "r2", "r3"});
    for (uint64_t pos = log.ends[0]; pos < log.ends[1]; ++pos) {
      std::string damaged = log.data;
      damaged[pos] ^= 0x01;
      const std::string what = read_corrupt(damaged, "wal/000007.log");
      INFO(what);
      REQUIRE_THAT(what, Catch::StartsWith("wal/000007.log: corrupt log record at offset " +
                                           std::to_string(log.ends[0]) + ": "));
    }
  }
  SECTION("in an earlier block, found from the following blocks") {
    const Log log = build({pattern(kBlockSize + 500, 1), pattern(kBlockSize, 2), "last"});
    std::string damaged = log.data;
    damaged[kBlockSize + 100] ^= 0x40;  // inside the LAST fragment of record 0
    const std::string what = read_corrupt(damaged);
    REQUIRE_THAT(what, Catch::Contains("offset " + std::to_string(kBlockSize)));
    REQUIRE_THAT(what, Catch::Contains("checksum mismatch"));
  }
  SECTION("in the length field") {
    const Log log = build({"r0", pattern(100, 1), "r2"});
    std::string damaged = log.data;
    damaged[log.ends[0] + 4] = static_cast<char>(0xff);  // length 65535: past the block end
    damaged[log.ends[0] + 5] = static_cast<char>(0xff);
    const std::string what = read_corrupt(damaged);
    REQUIRE_THAT(what, Catch::Contains("offset " + std::to_string(log.ends[0])));
    REQUIRE_THAT(what, Catch::Contains("exceeds"));
  }
}

TEST_CASE("a zero-filled hole before valid records is Corruption", "[log][corruption]") {
  Log log = build({"a", pattern(3000, 1), "c"});
  std::fill(log.data.begin() + static_cast<std::ptrdiff_t>(log.ends[0]),
            log.data.begin() + static_cast<std::ptrdiff_t>(log.ends[1]), '\0');
  REQUIRE_THAT(read_corrupt(log.data), Catch::Contains("offset " + std::to_string(log.ends[0])));
}

TEST_CASE("a FIRST without LAST followed by a record is Corruption", "[log][corruption]") {
  const std::string data = fragment(kFull, "ok") + fragment(kFirst, "part") + fragment(kFull, "x");
  const std::string what = read_corrupt(data);
  REQUIRE_THAT(what, Catch::Contains("offset 9"));
  REQUIRE_THAT(what, Catch::Contains("FIRST"));

  const std::string twice = fragment(kFirst, "a") + fragment(kFirst, "b") + fragment(kLast, "c");
  REQUIRE_THAT(read_corrupt(twice), Catch::Contains("offset 0"));
}

TEST_CASE("a FIRST without LAST at the end of the file is a torn tail", "[log][torn]") {
  const std::string data =
      fragment(kFull, "ok") + fragment(kFirst, "part") + fragment(kMiddle, "more");
  const auto result = read_all(data);
  REQUIRE(result.records == std::vector<std::string>{"ok"});
  REQUIRE(result.torn);
  REQUIRE(result.end == 9);
}

TEST_CASE("orphan MIDDLE or LAST fragments", "[log]") {
  const std::string ok = fragment(kFull, "ok");
  for (uint8_t type : {uint8_t(kMiddle), uint8_t(kLast)}) {
    INFO("type=" << int(type));
    // At the tail: torn.
    const auto result = read_all(ok + fragment(type, "orphan"));
    REQUIRE(result.records == std::vector<std::string>{"ok"});
    REQUIRE(result.torn);
    REQUIRE(result.end == ok.size());
    // Before another record: corruption at the orphan.
    const std::string what = read_corrupt(ok + fragment(type, "orphan") + fragment(kFull, "z"));
    REQUIRE_THAT(what, Catch::Contains("offset 9"));
    REQUIRE_THAT(what, Catch::Contains("without FIRST"));
  }
}

TEST_CASE("a checksummed fragment of unknown type is Corruption", "[log][corruption]") {
  for (uint8_t type : {uint8_t(5), uint8_t(0x80), uint8_t(0xff)}) {
    const std::string what = read_corrupt(fragment(kFull, "ok") + fragment(type, "future"));
    REQUIRE_THAT(what, Catch::Contains("unknown fragment type " + std::to_string(type)));
  }
}

TEST_CASE("a zero-filled tail is a torn tail", "[log][torn]") {
  const Log log = build({"a", pattern(5000, 1)});
  for (size_t zeros : {size_t(1), size_t(6), size_t(7), size_t(100), size_t(3 * kBlockSize)}) {
    INFO("zeros=" << zeros);
    const auto result = read_all(log.data + std::string(zeros, '\0'));
    REQUIRE(result.records == log.records);
    REQUIRE(result.torn);
    REQUIRE(result.end == log.data.size());
  }
  const auto all_zero = read_all(std::string(2 * kBlockSize + 5, '\0'));
  REQUIRE(all_zero.records.empty());
  REQUIRE(all_zero.torn);
  REQUIRE(all_zero.end == 0);
}

TEST_CASE("a lost middle page of the last record is still a torn tail", "[log][torn]") {
  // Writeback before fsync is unordered: the block holding the LAST fragment
  // may reach the disk while the MIDDLE block is still zeros.
  Log log = build({"a", pattern(3 * kBlockSize, 1)});
  std::fill(log.data.begin() + kBlockSize, log.data.begin() + 2 * kBlockSize, '\0');
  const auto result = read_all(log.data);
  REQUIRE(result.records == std::vector<std::string>{"a"});
  REQUIRE(result.torn);
  REQUIRE(result.end == log.ends[0]);
}

TEST_CASE("a tail that is only a block trailer counts as torn", "[log][torn]") {
  const Log log = build({pattern(kBlockSize - 4 - kHeaderSize, 1), "next"});
  const auto result = read_all(log.data.substr(0, kBlockSize));
  REQUIRE(result.records.size() == 1);
  REQUIRE(result.torn);
  REQUIRE(result.end == kBlockSize - 4);
}

TEST_CASE("a torn log on disk is repaired by truncating at last_record_end", "[log][torn]") {
  TempDir dir;
  FaultInjectionEnv env(Env::posix());
  const std::string path = (dir / "000003.log");
  {
    auto file = env.new_writable_file(path);
    env.sync_dir((dir / ""));
    Writer w(file.get());
    w.add_record("durable-1");
    w.add_record(pattern(70000, 1));
    file->sync();
    w.add_record(pattern(40000, 2));  // never synced
    env.fail_after(FaultInjectionEnv::Op::Write, 0);
    REQUIRE_THROWS_AS(w.add_record("refused"), Error);
    env.clear_faults();
  }
  // Simulate a torn write of the unsynced record: keep half of it.
  const uint64_t synced_size = 7 + 9 + 70000 + 3 * 7;
  const uint64_t torn_size = env.get_file_size(path) - 20000;
  env.truncate_file(path, torn_size);
  env.reset_tracking();

  uint64_t end;
  {
    Reader reader(env.new_random_access_file(path), path);
    std::string scratch;
    std::string_view record;
    REQUIRE(reader.read_record(&scratch, &record));
    REQUIRE(record == "durable-1");
    REQUIRE(reader.read_record(&scratch, &record));
    REQUIRE(record == pattern(70000, 1));
    REQUIRE_FALSE(reader.read_record(&scratch, &record));
    REQUIRE(reader.hit_torn_tail());
    end = reader.last_record_end();
    REQUIRE(end == synced_size);
  }
  env.truncate_file(path, end);
  auto file = env.new_appendable_file(path);
  Writer w(file.get(), file->size());
  w.add_record("after-repair");
  file->sync();
  const auto result = read_all(read_file_to_string(&env, path));
  REQUIRE(result.records.size() == 3);
  REQUIRE(result.records[2] == "after-repair");
  REQUIRE_FALSE(result.torn);
}

TEST_CASE("random garbage never crashes or hangs the reader", "[log][fuzz]") {
  std::mt19937_64 rng(20240611);
  int corrupt = 0, torn = 0;
  for (int iter = 0; iter < 120; ++iter) {
    const size_t size = rng() % (2 * kBlockSize + 100);
    std::string data;
    switch (iter % 3) {
      case 0:  // uniform random bytes
        data = random_string(rng, size);
        break;
      case 1:  // only bytes 0..4: nearly every position is a plausible header
        data.resize(size / 4);
        for (auto& c : data) c = static_cast<char>(rng() % 5);
        break;
      case 2:  // random headers with small lengths strewn between valid fragments
        while (data.size() < size) {
          data += rng() % 2 ? fragment(static_cast<uint8_t>(1 + rng() % 4),
                                       random_string(rng, rng() % 64))
                            : random_string(rng, rng() % 16);
        }
        break;
    }
    INFO("iter=" << iter);
    try {
      const auto result = read_all(data);
      REQUIRE(result.end <= data.size());
      ++torn;
    } catch (const Error& e) {
      REQUIRE(e.code() == Errc::Corruption);
      ++corrupt;
    }
  }
  REQUIRE(corrupt + torn == 120);
}

TEST_CASE("damaged valid logs read back a prefix of their records", "[log][fuzz]") {
  std::mt19937_64 rng(77);
  for (int iter = 0; iter < 100; ++iter) {
    std::vector<std::string> records;
    const int n = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      const size_t len = rng() % 4 == 0 ? rng() % 70000 : rng() % 300;
      records.push_back(random_string(rng, len));
    }
    const Log log = build(records);
    std::string data = log.data;
    const int damage = static_cast<int>(rng() % 4);
    for (int d = 0; d < damage && !data.empty(); ++d)
      data[rng() % data.size()] ^= static_cast<char>(1 + rng() % 255);
    if (rng() % 2 && !data.empty()) data.resize(rng() % data.size());
    INFO("iter=" << iter);
    try {
      const auto result = read_all(data);
      REQUIRE(result.records.size() <= records.size());
      for (size_t i = 0; i < result.records.size(); ++i) REQUIRE(result.records[i] == records[i]);
      if (!result.records.empty()) REQUIRE(result.end == log.ends[result.records.size() - 1]);
      if (data == log.data) REQUIRE_FALSE(result.torn);
    } catch (const Error& e) {
      REQUIRE(e.code() == Errc::Corruption);
      REQUIRE(data != log.data);
    }
  }
}

}  // namespace
}  // namespace flowdb::log
