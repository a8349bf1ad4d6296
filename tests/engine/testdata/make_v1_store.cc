// Wrote tests/engine/testdata/v1_store/ (SST table format version 1) with the
// engine at 715b7d4, the last commit before table format 2. Kept beside the
// store as the record of what it holds; format_compat_test.cc checks exactly
// this content. Not built. To regenerate with that commit:
//   g++ -std=c++20 -Iengine/include make_v1_store.cc build/dev/engine/libflowdb_engine.a -llz4
//   -lzstd
//   ./a.out tests/engine/testdata/v1_store
#include <flowdb/engine.h>

#include <string>

using namespace flowdb;

constexpr int64_t kT0 = 1'700'000'000'000'000;   // µs, 2023-11-14
constexpr int64_t kFar = 4'102'444'800'000'000;  // µs, 2100-01-01

int main(int, char** argv) {
  Config c;
  c.data_dir = argv[1];
  c.create_if_missing = true;
  c.time_bucket_secs = 3600;
  auto db = Engine::open(c);
  // Three one-hour buckets; per series 120 points 90 s apart. Series s0..s3.
  // Even i: never expires; odd i: expire_at = kFar + i (distinct per point).
  WriteBatch b;
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < 120; ++i) {
      Record r("s" + std::to_string(s), kT0 + int64_t{i} * 90'000'000,
               "v" + std::to_string(s * 1000 + i));
      if (i % 2 == 1) r.expire_at = kFar + i;
      b.put(std::move(r));
    }
  }
  // One point that had already expired when it was written: never visible.
  b.put(Record("gone", kT0, kT0 + 1, "expired"));
  db->write(b);
  db->flush();
  // A second table: point deletions of s1 at i = 0..9 and an overwrite of
  // s2 at i = 5 (newer sequence number, same key and ts).
  WriteBatch d;
  for (int i = 0; i < 10; ++i) d.del("s1", kT0 + int64_t{i} * 90'000'000);
  d.put(Record("s2", kT0 + 5 * 90'000'000, "overwritten"));
  db->write(d);
  db->flush();
  db->close();
  return 0;
}
