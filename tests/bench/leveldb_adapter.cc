// LevelDB 1.23 adapter: key = series + BE(ts). LevelDB has no lz4: Snappy.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <filesystem>
#include <stdexcept>

#include "kv_adapter.h"

namespace bench {
namespace {

void check(const leveldb::Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string("leveldb ") + what + ": " + s.ToString());
}

class LevelAdapter final : public KvAdapter {
 public:
  explicit LevelAdapter(const AdapterOptions& o) : o_(o) {
    cache_.reset(leveldb::NewLRUCache(o.cache_mb << 20));
    filter_.reset(leveldb::NewBloomFilterPolicy(o.bloom_bits));
    leveldb::Options opt;
    opt.create_if_missing = true;
    opt.write_buffer_size = o.memtable_mb << 20;
    opt.block_cache = cache_.get();
    opt.filter_policy = filter_.get();
    opt.compression = leveldb::kSnappyCompression;
    opt.reuse_logs = true;  // recovery keeps the last WAL and its memtable, as FlowDB does
    leveldb::DB* db = nullptr;
    check(leveldb::DB::Open(opt, o.dir, &db), "open");
    db_.reset(db);
  }
  ~LevelAdapter() override { close(); }

  const char* name() const override { return "leveldb"; }

  void write(std::span<const Point> pts, bool sync) override {
    thread_local leveldb::WriteBatch batch_;
    thread_local std::string key_;
    batch_.Clear();
    for (const auto& p : pts) {
      encode_kv_key(key_, p.series, p.ts, o_.ts_keys);
      batch_.Put(key_, leveldb::Slice(p.value.data(), p.value.size()));
    }
    leveldb::WriteOptions w;
    w.sync = sync;
    check(db_->Write(w, &batch_), "write");
  }

  void del(std::span<const Point> pts) override {
    thread_local leveldb::WriteBatch batch_;
    thread_local std::string key_;
    batch_.Clear();
    for (const auto& p : pts) {
      encode_kv_key(key_, p.series, p.ts, o_.ts_keys);
      batch_.Delete(key_);
    }
    check(db_->Write(leveldb::WriteOptions(), &batch_), "delete");
  }

  bool get(std::string_view series, int64_t ts, std::string* value) override {
    thread_local std::string key_;
    encode_kv_key(key_, series, ts, o_.ts_keys);
    auto s = db_->Get(leveldb::ReadOptions(), key_, value);
    if (s.IsNotFound()) return false;
    check(s, "get");
    return true;
  }

  bool get_latest(std::string_view series, int64_t* ts, std::string* value) override {
    std::string hi(series);
    hi.append(8, '\xff');
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    it->Seek(hi);
    if (it->Valid()) {
      it->Prev();
    } else {
      it->SeekToLast();
    }
    if (!it->Valid()) {
      check(it->status(), "iter");
      return false;
    }
    auto k = it->key();
    if (k.size() != series.size() + 8 || std::string_view(k.data(), series.size()) != series)
      return false;
    *ts = decode_kv_ts(std::string_view(k.data(), k.size()));
    value->assign(it->value().data(), it->value().size());
    return true;
  }

  size_t range(std::string_view series, int64_t t0, int64_t t1,
               const std::function<void(int64_t, std::string_view)>& fn) override {
    std::string lo, hi;
    encode_kv_key(lo, series, t0, true);
    encode_kv_key(hi, series, t1, true);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    size_t n = 0;
    for (it->Seek(lo); it->Valid(); it->Next()) {
      auto k = it->key();
      if (std::string_view(k.data(), k.size()) > std::string_view(hi)) break;
      fn(decode_kv_ts(std::string_view(k.data(), k.size())),
         std::string_view(it->value().data(), it->value().size()));
      ++n;
    }
    check(it->status(), "iter");
    return n;
  }

  void flush() override {
    // LevelDB has no Flush(): CompactRange flushes the memtable first; an empty
    // range past every key then compacts nothing else.
    std::string k(40, '\xff');
    leveldb::Slice s(k);
    db_->CompactRange(&s, &s);
  }

  void compact() override { db_->CompactRange(nullptr, nullptr); }

  uint64_t wal_bytes() override {
    uint64_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(o_.dir))
      if (e.path().extension() == ".log") n += e.file_size();
    return n;
  }

  void close() override { db_.reset(); }

 private:
  AdapterOptions o_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

std::unique_ptr<KvAdapter> open_leveldb(const AdapterOptions& o) {
  return std::make_unique<LevelAdapter>(o);
}

}  // namespace bench
