// find_pack_footers (db_validate.h), the sst.pack scanner open and repair
// share: a table is found once, by the extent its footer gives, only when it
// lies wholly in the scanned stretch, also when its magic straddles a chunk.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "db_validate.h"
#include "dbformat.h"
#include "engine_util.h"
#include "table.h"

using namespace flowdb;
using flowdb::testing::read_bytes;
using flowdb::testing::TempDir;
using flowdb::testing::write_bytes;

namespace {

std::string small_table(const std::string& path) {
  auto file = Env::posix()->new_writable_file(path);
  TableBuilder b(TableOptions{}, file.get());
  for (int i = 0; i < 50; ++i) {
    std::string value;
    append_entry_value(&value, INT64_MAX, "value-" + std::to_string(i));
    b.add(make_internal_key("key-" + std::to_string(1000 + i), 1, i + 1, ValueType::Value), value);
  }
  b.finish();
  file->close();
  return read_bytes(path);
}

std::vector<PackExtent> scan(const std::string& path, uint64_t from, uint64_t to) {
  return find_pack_footers(*Env::posix()->new_random_access_file(path), from, to);
}

}  // namespace

TEST_CASE("the pack scanner finds a table once, only when it lies wholly in the stretch",
          "[engine][validate][pack]") {
  TempDir tmp;
  const std::string table = small_table((tmp / "t.sst"));
  constexpr uint64_t kChunk = 1 << 20;
  // The table ends 4 bytes into the second chunk: its magic straddles the
  // boundary. Non-zero junk before it, zeros (a punched hole) after.
  const uint64_t off = kChunk + 4 - table.size();
  std::string pack(off, 'j');
  pack += table;
  pack += std::string(4096, '\0');
  const std::string path = (tmp / "sst.pack");
  write_bytes(path, pack);

  const auto all = scan(path, 0, pack.size());
  REQUIRE(all.size() == 1);
  CHECK(all[0].offset == off);
  CHECK(all[0].size == table.size());
  CHECK(scan(path, off, off + table.size()).size() == 1);
  CHECK(scan(path, off + 1, pack.size()).empty());             // starts before the stretch
  CHECK(scan(path, 0, off + table.size() - 1).empty());        // ends past it
  CHECK(scan(path, off + table.size(), pack.size()).empty());  // zeros only

  write_bytes(path, table + table);  // back to back, from offset 0
  const auto two = scan(path, 0, 2 * table.size());
  REQUIRE(two.size() == 2);
  CHECK(two[0].offset == 0);
  CHECK(two[1].offset == table.size());
}
