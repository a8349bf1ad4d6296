// Helpers of the SST tests: in-memory files, building a table from entries
// and reading every entry back.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "block_cache.h"
#include "flowdb/env.h"
#include "table.h"

namespace flowdb::testing {

class StringSink final : public WritableFile {
 public:
  void append(std::string_view d) override { data.append(d); }
  void sync() override {}
  void close() override {}
  uint64_t size() const override { return data.size(); }
  std::string data;
};

class StringSource final : public RandomAccessFile {
 public:
  explicit StringSource(std::string d) : data_(std::move(d)) {}
  size_t read(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= data_.size()) return 0;
    n = std::min<size_t>(n, data_.size() - offset);
    std::copy_n(data_.data() + offset, n, scratch);
    return n;
  }
  uint64_t size() const override { return data_.size(); }

 private:
  std::string data_;
};

struct Entry {
  std::string key;    // internal key
  std::string value;  // entry value
};

inline std::string build_table(const std::vector<Entry>& entries, const TableOptions& opts,
                               TableProperties* props = nullptr) {
  StringSink sink;
  TableBuilder b(opts, &sink);
  for (const auto& e : entries) b.add(e.key, e.value);
  CHECK(b.num_entries() == entries.size());
  b.finish();
  CHECK(b.file_size() == sink.data.size());
  if (props) *props = b.properties();
  return sink.data;
}

inline std::shared_ptr<Table> open_table(const std::string& data, BlockCache* cache = nullptr,
                                         ReadCounters* counters = nullptr, uint64_t id = 1) {
  return Table::open(std::make_unique<StringSource>(data), data.size(), id, "000001.sst", cache,
                     counters);
}

inline std::vector<Entry> scan(const Table& t, const ReadOptions& ro = {},
                               int64_t ts_min = INT64_MIN, int64_t ts_max = INT64_MAX) {
  std::vector<Entry> out;
  auto it = t.new_iterator(ro, ts_min, ts_max);
  for (it->seek_to_first(); it->valid(); it->next()) {
    out.push_back({std::string(it->key()), std::string(it->value())});
  }
  return out;
}

}  // namespace flowdb::testing
