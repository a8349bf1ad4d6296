// Writes the seed corpus of every harness (tests/fuzz/corpus/<target>/):
// WAL, MANIFEST and SST files of tiny real stores written by the engine
// (lz4, zstd and uncompressed), raw blocks, encoded JsonDB keys. The text
// seeds (line protocol, JSON, YAML) are committed by hand.
// Usage: fuzz_make_seeds <corpus-dir>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "block.h"
#include "compression.h"
#include "dbformat.h"
#include "flowdb/engine.h"
#include "jsondb/key_codec.h"
#include "table.h"

namespace fs = std::filesystem;
using namespace flowdb;

namespace {

// `mode` is the harness's leading selector byte; kNoMode writes `b` alone.
constexpr int kNoMode = -1;
void write_seed(const fs::path& dir, const std::string& name, int mode, const std::string& b) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  if (mode != kNoMode) out.put(static_cast<char>(mode));
  out << b;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A store with two flushed time buckets and an unflushed tail in the WAL
// (returned open, so that the WAL segment still holds it).
std::unique_ptr<Engine> write_store(const fs::path& dir, Compression c) {
  Config cfg;
  cfg.data_dir = dir.string();
  cfg.time_bucket_secs = 60;
  cfg.compression = c;
  auto e = Engine::open(cfg);
  std::vector<Record> batch;
  for (int i = 0; i < 40; ++i) {
    batch.emplace_back("dev" + std::to_string(i % 4) + ".temp", int64_t{i} * 5'000'000,
                       std::string(8 + i % 5, char('a' + i % 26)));
  }
  e->write_batch(batch);
  WriteBatch wb;
  wb.del("dev1.temp", 5'000'000);
  wb.delete_range("dev2", "dev3");
  e->write(WriteOptions{.sync = true}, wb);
  e->flush();
  batch.resize(6);
  for (Record& r : batch) r.ts += 600'000'000;
  e->write_batch_sync(batch);
  return e;
}

void harvest(const fs::path& store, const fs::path& corpus, const std::string& tag) {
  for (const auto& f : fs::recursive_directory_iterator(store)) {
    if (!f.is_regular_file()) continue;
    const std::string name = f.path().filename().string();
    const std::string bytes = slurp(f.path());
    std::string target;
    if (name.ends_with(".log")) target = "wal";
    if (name.starts_with("MANIFEST")) target = "manifest";
    if (name.ends_with(".sst")) target = "table";
    if (target.empty() || bytes.empty() || bytes.size() > 48 * 1024) continue;
    write_seed(corpus / target, tag + "-" + name, 0, bytes);
    write_seed(corpus / target, tag + "-" + name + "-fixcrc", 1, bytes);
  }
}

void block_seeds(const fs::path& corpus) {
  BlockBuilder b(4);
  for (int i = 0; i < 20; ++i) {
    std::string v;
    append_entry_value(&v, kNeverExpires, "value" + std::to_string(i));
    b.add(make_internal_key("key" + std::to_string(100 + i), i, 1000 - i, ValueType::Value), v);
  }
  const std::string block(b.finish());
  write_seed(corpus / "block", "data-block", 0, block);
  // Selector 2 / 3: the stored form of a block compressed with lz4 / zstd.
  const std::pair<int, Compression> kinds[] = {{2, Compression::lz4()}, {3, Compression::zstd(3)}};
  for (const auto& [mode, c] : kinds) {
    std::string stored;
    if (compress_block(c, block, &stored) != Compression::Kind::None) {
      write_seed(corpus / "block", "data-block-" + std::to_string(mode), mode, stored);
    }
  }
  TableProperties p;
  p.num_entries = 20;
  p.num_data_blocks = 2;
  p.smallest_user_key = "a";
  p.largest_user_key = "z";
  std::string props;
  encode_table_properties(p, &props);
  write_seed(corpus / "block", "properties", 1, props);
}

void key_seeds(const fs::path& corpus) {
  using boost::json::parse;
  const char* keys[] = {"0",
                        "-1.5",
                        "1e300",
                        "\"\"",
                        "\"a\\u0000b\"",
                        "\"h\\u00e9\\ud83d\\ude00\"",
                        "[]",
                        "[1,\"x\",[2,[]]]"};
  int i = 0;
  for (const char* k : keys) {
    write_seed(corpus / "key_codec", "key" + std::to_string(i++), kNoMode,
               jsondb::detail::encode_key(parse(k)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const fs::path corpus = argv[1];
  const fs::path tmp = fs::temp_directory_path() / ("flowdb-seeds-" + std::to_string(getpid()));
  const std::pair<const char*, Compression> kinds[] = {
      {"lz4", Compression::lz4()}, {"zstd", Compression::zstd(3)}, {"none", Compression::none()}};
  for (const auto& [tag, c] : kinds) {
    auto engine = write_store(tmp / tag, c);
    harvest(tmp / tag, corpus, tag);
  }
  fs::remove_all(tmp);
  block_seeds(corpus);
  key_seeds(corpus);
  return 0;
}
