// FlowDB adapter: (series key, ts) natively, through the public API only.
#include <flowdb/engine.h>

#include <stdexcept>
#include <vector>

#include "kv_adapter.h"

namespace bench {
namespace {

class FlowdbAdapter final : public KvAdapter {
 public:
  explicit FlowdbAdapter(const AdapterOptions& o) : o_(o) {
    flowdb::Config c;
    c.data_dir = o.dir;
    c.memtable_size_mb = o.memtable_mb;
    c.block_cache_capacity_mb = o.cache_mb;
    c.bloom_bits_per_key = static_cast<size_t>(o.bloom_bits);
    c.compression = flowdb::Compression::lz4();
    // No-sync mode: every batch reaches the OS before the call returns (like
    // RocksDB/LevelDB with sync=false); FlowDB additionally fsyncs once a second.
    c.wal_sync_mode = o.sync ? flowdb::SyncMode::always() : flowdb::SyncMode::interval_ms(1000);
    c.time_bucket_secs = o.time_bucket_secs;
    if (o.ttl == TtlMode::Native) {
      c.default_ttl_secs = o.ttl_secs;
      c.gc_interval_secs = 1;
      c.compaction_interval_ms = 1000;
    }
    if (o.sim_now_us) {
      auto* p = o.sim_now_us;
      c.clock = [p] { return p->load(std::memory_order_relaxed); };
    }
    db_ = flowdb::Engine::open(std::move(c));
  }
  ~FlowdbAdapter() override { close(); }

  const char* name() const override { return "flowdb"; }

  void write(std::span<const Point> pts, bool sync) override {
    // Reuse the Record buffers (their strings keep their capacity); one set per thread.
    thread_local std::vector<flowdb::Record> buf_;
    if (buf_.size() < pts.size()) buf_.resize(pts.size());
    for (size_t i = 0; i < pts.size(); ++i) {
      buf_[i].key.assign(pts[i].series);
      buf_[i].ts = o_.ts_keys ? pts[i].ts : 0;
      buf_[i].expire_at = flowdb::kNeverExpires;
      buf_[i].value.assign(pts[i].value);
    }
    std::span<const flowdb::Record> s(buf_.data(), pts.size());
    if (sync)
      db_->write_batch_sync(s);
    else
      db_->write_batch(s);
  }

  void del(std::span<const Point> pts) override {
    std::vector<std::pair<std::string, int64_t>> k;
    k.reserve(pts.size());
    for (const auto& p : pts) k.emplace_back(std::string(p.series), o_.ts_keys ? p.ts : 0);
    db_->delete_batch(k);
  }

  bool get(std::string_view series, int64_t ts, std::string* value) override {
    auto r = db_->get(series, o_.ts_keys ? ts : 0);
    if (!r) return false;
    *value = std::move(r->value);
    return true;
  }

  bool get_latest(std::string_view series, int64_t* ts, std::string* value) override {
    auto r = db_->get_latest(series);
    if (!r) return false;
    *ts = r->ts;
    *value = std::move(r->value);
    return true;
  }

  size_t range(std::string_view series, int64_t t0, int64_t t1,
               const std::function<void(int64_t, std::string_view)>& fn) override {
    // Exactly one key: [series, series + '\0'), which also lets FlowDB skip
    // files by their Bloom filters (a prefix range would include longer keys).
    std::string end(series);
    end.push_back('\0');
    size_t n = 0;
    for (const flowdb::Record& r : db_->scan(
             flowdb::ScanRange::key_time_range(std::string(series), std::move(end), t0, t1))) {
      fn(r.ts, r.value);
      ++n;
    }
    return n;
  }

  void flush() override { db_->flush(); }

  void compact() override {
    db_->flush();
    db_->trigger_gc();
    for (const auto& b : db_->list_buckets())
      if (b.files > 1) db_->compact_bucket(b.bucket);
    db_->trigger_gc();
  }

  uint64_t wal_bytes() override { return db_->stats().wal_bytes; }

  void close() override {
    if (db_) {
      db_->close();
      db_.reset();
    }
  }

 private:
  AdapterOptions o_;
  std::unique_ptr<flowdb::Engine> db_;
};

}  // namespace

std::unique_ptr<KvAdapter> open_flowdb(const AdapterOptions& o) {
  return std::make_unique<FlowdbAdapter>(o);
}

std::unique_ptr<KvAdapter> open_engine(const std::string& engine, const AdapterOptions& o) {
  if (engine == "flowdb") return open_flowdb(o);
  if (engine == "rocksdb") return open_rocksdb(o);
  if (engine == "leveldb") return open_leveldb(o);
  throw std::invalid_argument("unknown engine " + engine);
}

}  // namespace bench
