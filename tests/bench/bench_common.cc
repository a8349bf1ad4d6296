#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench.h"

namespace bench {

Params make_params(double scale, bool smoke, uint64_t seed) {
  Params p;
  p.scale = scale;
  p.smoke = smoke;
  p.seed = seed;
  auto sc = [&](uint64_t full, uint64_t min) {
    return std::max<uint64_t>(min, static_cast<uint64_t>(static_cast<double>(full) * scale));
  };
  if (smoke) {
    p.fill_n = 20'000;
    p.ts_series = 200;
    p.ts_points = 60'000;
    p.sync_batches[0] = 20;
    p.sync_batches[1] = 10;
    p.sync_batches[2] = 4;
    p.read_points = 40'000;
    p.read_ops = 2'000;
    p.window_points = 60'000;
    p.ttl_series = 40;
    p.ttl_secs = 600;
    p.ttl_multiple = 5;
    p.recovery_wal_mb = 4;
    p.many_series = 20'000;
    p.many_rounds = 3;
    return p;
  }
  p.fill_n = sc(p.fill_n, 10'000);
  p.ts_points = sc(p.ts_points, 100'000);
  // Durable writes are bounded by fsync latency, not data size: not scaled.
  p.read_points = sc(p.read_points, 100'000);
  p.read_ops = sc(p.read_ops, 10'000);
  p.window_points = sc(p.window_points, 100'000);
  p.ttl_series = static_cast<uint32_t>(sc(40'000, 100));  // full scale: 40K series
  // The series count is the point of the workload (index growth): only the
  // rounds scale.
  p.many_rounds = sc(p.many_rounds, 3);
  return p;
}

std::vector<std::string> make_series(uint32_t n) {
  std::vector<std::string> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) v.push_back(series_id(i));
  return v;
}

void kv_value(uint64_t key_id, char out[100]) {
  uint64_t h = mix64(key_id ^ 0x5bd1e995);
  for (int i = 0; i < 50; i += 8) {
    uint64_t x = mix64(h + static_cast<uint64_t>(i));
    std::memcpy(out + i, &x, std::min(8, 50 - i));
  }
  for (int i = 50; i < 100; ++i)
    out[i] = static_cast<char>('a' + (h + static_cast<uint64_t>(i / 10)) % 26);
}

TsStream::TsStream(uint32_t series, uint64_t points, size_t batch, bool disorder, uint64_t seed)
    : series_(series), points_(points), batch_(batch), disorder_(disorder), seed_(seed) {}

bool TsStream::next(std::vector<TsPoint>& out) {
  out.clear();
  if (!disorder_) {
    while (out.size() < batch_ && i_ < points_) out.push_back(grid_point(i_++, series_));
    emitted_ += out.size();
    return !out.empty();
  }
  const uint64_t hour = 360ull * series_;
  while (out.size() < batch_ && (i_ < points_ || !heap_.empty())) {
    if (i_ < points_) {
      uint64_t i = i_++;
      uint64_t h = mix64(seed_ ^ mix64(i));
      uint64_t delay = 0;
      bool late_batch = mix64(seed_ + (i / batch_)) % 100 < 5;
      if (late_batch && h % 100 < 30)
        delay = 1 + (h >> 8) % (10 * batch_);
      else if ((h >> 40) % 100 == 0)
        delay = 1 + (h >> 20) % hour;
      if (delay == 0 && (heap_.empty() || heap_.top().arrival > i)) {
        out.push_back(grid_point(i, series_));
      } else {
        heap_.push({i + delay, seq_++, grid_point(i, series_)});
      }
      while (out.size() < batch_ && !heap_.empty() && heap_.top().arrival <= i) {
        out.push_back(heap_.top().p);
        heap_.pop();
      }
    } else {
      out.push_back(heap_.top().p);
      heap_.pop();
    }
  }
  emitted_ += out.size();
  return !out.empty();
}

void TsWriter::build(const std::vector<TsPoint>& pts) {
  buf_.resize(pts.size());
  vals_.resize(pts.size());
  for (size_t i = 0; i < pts.size(); ++i) {
    ts_value(pts[i].s, pts[i].ts, vals_[i].data());
    buf_[i] = Point{series_[pts[i].s], pts[i].ts, std::string_view(vals_[i].data(), 8)};
  }
}
void TsWriter::write(KvAdapter& db, const std::vector<TsPoint>& pts, bool sync) {
  build(pts);
  db.write(buf_, sync);
}
void TsWriter::del(KvAdapter& db, const std::vector<TsPoint>& pts) {
  build(pts);
  db.del(buf_);
}

void verify_ts_get(KvAdapter& db, const std::vector<std::string>& series, uint32_t s, int64_t ts) {
  std::string v;
  BENCH_VERIFY(db.get(series[s], ts, &v),
               "point missing: series " + std::to_string(s) + " ts " + std::to_string(ts));
  char want[8];
  ts_value(s, ts, want);
  BENCH_VERIFY(v == std::string_view(want, 8), "wrong value");
}

ProcIo proc_io() {
  ProcIo r;
  std::ifstream f("/proc/self/io");
  std::string k;
  uint64_t v;
  while (f >> k >> v) {
    if (k == "write_bytes:") r.write_bytes = v;
    if (k == "read_bytes:") r.read_bytes = v;
    if (k == "cancelled_write_bytes:") r.cancelled_write_bytes = v;
  }
  return r;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::error_code e2;
    if (it->is_regular_file(e2)) {
      auto s = it->file_size(e2);
      if (!e2) n += s;
    }
  }
  return n;
}

void evict_page_cache(const std::string& dir) {
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

std::string base_engine(const std::string& variant) {
  auto d = variant.find('-');
  return d == std::string::npos ? variant : variant.substr(0, d);
}

AdapterOptions default_options(const std::string& variant, const Params& p) {
  AdapterOptions o;
  o.dir = p.dir;
  if (variant == "rocksdb-fifo") o.ttl = TtlMode::RocksFifo;
  if (variant == "rocksdb-cf") o.ttl = TtlMode::RocksFilter;
  if (variant == "leveldb-del") o.ttl = TtlMode::PerKeyDelete;
  return o;
}

std::vector<Workload> all_workloads() {
  std::vector<Workload> w;
  add_fill_workloads(w);
  add_ingest_workloads(w);
  add_durable_workloads(w);
  add_read_workloads(w);
  add_ttl_workloads(w);
  add_recovery_workloads(w);
  return w;
}

}  // namespace bench
