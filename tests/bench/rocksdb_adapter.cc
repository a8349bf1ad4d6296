// RocksDB 7.8 adapter: key = series + BE(ts).
#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/system_clock.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <stdexcept>

#include "kv_adapter.h"

namespace bench {
namespace {

void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string("rocksdb ") + what + ": " + s.ToString());
}

// SystemClock whose wall time (GetCurrentTime, used by FIFO/leveled ttl and
// table creation times) follows the simulated clock.
class SimClock : public rocksdb::SystemClockWrapper {
 public:
  SimClock(const std::atomic<int64_t>* now)
      : rocksdb::SystemClockWrapper(rocksdb::SystemClock::Default()), now_(now) {}
  const char* Name() const override { return "SimClock"; }
  rocksdb::Status GetCurrentTime(int64_t* t) override {
    *t = now_->load(std::memory_order_relaxed) / 1000000;
    return rocksdb::Status::OK();
  }

 private:
  const std::atomic<int64_t>* now_;
};

class SimEnv : public rocksdb::EnvWrapper {
 public:
  SimEnv(std::shared_ptr<rocksdb::SystemClock> clock)
      : rocksdb::EnvWrapper(rocksdb::Env::Default()) {
    system_clock_ = std::move(clock);
  }
  const char* Name() const override { return "SimEnv"; }
  uint64_t NowMicros() override { return system_clock_->NowMicros(); }
  rocksdb::Status GetCurrentTime(int64_t* t) override { return system_clock_->GetCurrentTime(t); }
};

// Drops points whose ts is older than now - ttl.
class TtlFilter : public rocksdb::CompactionFilter {
 public:
  TtlFilter(const std::atomic<int64_t>* now, uint64_t ttl) : now_(now), ttl_us_(ttl * 1000000) {}
  const char* Name() const override { return "bench.TtlFilter"; }
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*,
              bool*) const override {
    if (key.size() < 8) return false;
    int64_t ts = decode_kv_ts(std::string_view(key.data(), key.size()));
    int64_t now = now_ ? now_->load(std::memory_order_relaxed)
                       : static_cast<int64_t>(rocksdb::SystemClock::Default()->NowMicros());
    return ts + static_cast<int64_t>(ttl_us_) <= now;
  }

 private:
  const std::atomic<int64_t>* now_;
  uint64_t ttl_us_;
};

class RocksAdapter final : public KvAdapter {
 public:
  explicit RocksAdapter(const AdapterOptions& o) : o_(o) {
    rocksdb::Options opt;
    opt.create_if_missing = true;
    opt.write_buffer_size = o.memtable_mb << 20;
    opt.max_background_jobs = 2;
    opt.level_compaction_dynamic_level_bytes = true;
    opt.compression = rocksdb::kLZ4Compression;
    // Recovery keeps the replayed memtable instead of flushing it, as FlowDB
    // does (the recovery workload compares like with like).
    opt.avoid_flush_during_recovery = true;
    rocksdb::BlockBasedTableOptions t;
    cache_ = rocksdb::NewLRUCache(o.cache_mb << 20);
    t.block_cache = cache_;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(o.bloom_bits, false));
    opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    if (o.sim_now_us) {
      env_ = std::make_unique<SimEnv>(std::make_shared<SimClock>(o.sim_now_us));
      opt.env = env_.get();
    }
    if (o.ttl == TtlMode::RocksFifo) {
      opt.compaction_style = rocksdb::kCompactionStyleFIFO;
      opt.compaction_options_fifo.max_table_files_size = 1ull << 40;  // ttl only
      opt.ttl = o.ttl_secs;
    } else if (o.ttl == TtlMode::RocksFilter) {
      filter_ = std::make_unique<TtlFilter>(o.sim_now_us, o.ttl_secs);
      opt.compaction_filter = filter_.get();
      opt.ttl = o.ttl_secs;  // files older than ttl get compacted (and filtered)
    }
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(opt, o.dir, &db), "open");
    db_.reset(db);
  }
  ~RocksAdapter() override { close(); }

  const char* name() const override { return "rocksdb"; }

  void write(std::span<const Point> pts, bool sync) override {
    thread_local rocksdb::WriteBatch batch_;
    thread_local std::string key_;
    batch_.Clear();
    for (const auto& p : pts) {
      encode_kv_key(key_, p.series, p.ts, o_.ts_keys);
      batch_.Put(key_, rocksdb::Slice(p.value.data(), p.value.size()));
    }
    rocksdb::WriteOptions w;
    w.sync = sync;
    check(db_->Write(w, &batch_), "write");
  }

  void del(std::span<const Point> pts) override {
    thread_local rocksdb::WriteBatch batch_;
    thread_local std::string key_;
    batch_.Clear();
    for (const auto& p : pts) {
      encode_kv_key(key_, p.series, p.ts, o_.ts_keys);
      batch_.Delete(key_);
    }
    check(db_->Write(rocksdb::WriteOptions(), &batch_), "delete");
  }

  bool get(std::string_view series, int64_t ts, std::string* value) override {
    thread_local std::string key_;
    encode_kv_key(key_, series, ts, o_.ts_keys);
    rocksdb::PinnableSlice v;
    auto s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), key_, &v);
    if (s.IsNotFound()) return false;
    check(s, "get");
    value->assign(v.data(), v.size());
    return true;
  }

  bool get_latest(std::string_view series, int64_t* ts, std::string* value) override {
    std::string hi(series);
    hi.append(8, '\xff');
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekForPrev(hi);
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
    if (t1 == INT64_MAX) {
      hi.assign(series);
      hi.append(8, '\xff');
      hi.push_back('\0');
    } else {
      encode_kv_key(hi, series, t1 + 1, true);
    }
    rocksdb::Slice upper(hi);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    size_t n = 0;
    for (it->Seek(lo); it->Valid(); it->Next()) {
      auto k = it->key();
      fn(decode_kv_ts(std::string_view(k.data(), k.size())),
         std::string_view(it->value().data(), it->value().size()));
      ++n;
    }
    check(it->status(), "iter");
    return n;
  }

  void flush() override { check(db_->Flush(rocksdb::FlushOptions()), "flush"); }

  void compact() override {
    flush();
    rocksdb::CompactRangeOptions c;
    c.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    check(db_->CompactRange(c, nullptr, nullptr), "compact");
  }

  uint64_t wal_bytes() override {
    uint64_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(o_.dir))
      if (e.path().extension() == ".log") n += e.file_size();
    return n;
  }

  void close() override {
    if (db_) {
      check(db_->Close(), "close");
      db_.reset();
    }
  }

 private:
  AdapterOptions o_;
  std::unique_ptr<SimEnv> env_;
  std::unique_ptr<TtlFilter> filter_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

std::unique_ptr<KvAdapter> open_rocksdb(const AdapterOptions& o) {
  return std::make_unique<RocksAdapter>(o);
}

}  // namespace bench
