// 8. Recovery: open time after kill -9 with a full WAL (64 MiB).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

namespace bench {
namespace {

Metrics run_recovery(const std::string& engine, const Params& p) {
  AdapterOptions o = default_options(engine, p);
  // 256 MB memtable in every engine so that the memtable limit never freezes
  // it before the WAL reaches 64 MiB (FlowDB lz4-compresses WAL batches, so
  // its memtable is ~2.5x its WAL; FlowDB's own WAL segment limit is 64 MiB).
  o.memtable_mb = 256;
  const uint64_t target = (p.recovery_wal_mb << 20) - (256u << 10);
  const uint32_t S = p.ts_series;
  auto series = make_series(S);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    uint64_t n = 0;
    uint64_t wal = 0;
    try {
      auto db = open_engine(base_engine(engine), o);
      std::vector<Point> b(p.ts_batch);
      std::vector<std::array<char, 100>> vals(p.ts_batch);
      uint64_t prev = 0;
      while ((wal = db->wal_bytes()) < target) {
        if (wal < prev) {
          fprintf(stderr, "recovery writer: WAL rolled over at %llu bytes before the target\n",
                  static_cast<unsigned long long>(prev));
          _exit(5);
        }
        prev = wal;
        for (size_t j = 0; j < p.ts_batch; ++j, ++n) {
          TsPoint g = grid_point(n, S);
          kv_value(n, vals[j].data());
          b[j] = Point{series[g.s], g.ts, std::string_view(vals[j].data(), 100)};
        }
        db->write(b, false);
      }
      uint64_t msg[2] = {n, wal};
      if (write(fds[1], msg, sizeof msg) != sizeof msg) _exit(3);
      raise(SIGKILL);  // no close, no flush
    } catch (const std::exception& e) {
      fprintf(stderr, "recovery writer: %s\n", e.what());
      _exit(2);
    }
    _exit(4);
  }
  close(fds[1]);
  uint64_t msg[2] = {0, 0};
  ssize_t got = read(fds[0], msg, sizeof msg);
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  BENCH_VERIFY(got == sizeof msg && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
               "writer did not reach the WAL target");
  const uint64_t n = msg[0];
  auto t0 = Clock::now();
  auto db = open_engine(base_engine(engine), o);
  double open_s = secs_since(t0);
  // Verify: the last written point and a sample, with their values.
  Rng r(p.seed);
  std::string v;
  for (int i = 0; i < 2000; ++i) {
    uint64_t k = i == 0 ? n - 1 : r.uniform(n);
    TsPoint g = grid_point(k, S);
    BENCH_VERIFY(db->get(series[g.s], g.ts, &v), "point lost in recovery");
    char want[100];
    kv_value(k, want);
    BENCH_VERIFY(v == std::string_view(want, 100), "recovered value wrong");
  }
  TsPoint after = grid_point(n, S);
  BENCH_VERIFY(!db->get(series[after.s], after.ts, &v), "phantom point after recovery");
  db->close();
  return {{"open_s", open_s, "s", false},
          {"wal_MiB", static_cast<double>(msg[1]) / (1 << 20), "MiB", true},
          {"points", static_cast<double>(n), "pt", true}};
}

}  // namespace

void add_recovery_workloads(std::vector<Workload>& w) {
  w.push_back({"recovery",
               "8. open time after kill -9 with a full WAL (64 MiB; 100 B values, 256 MB memtable "
               "in all engines so that only the WAL size matters); points = records in that WAL "
               "(FlowDB's WAL is lz4-compressed and holds more)",
               {"flowdb", "rocksdb", "leveldb"},
               run_recovery});
}

}  // namespace bench
