// flowdb-bench: FlowDB vs RocksDB vs LevelDB, same operation streams.
//
// Every trial (one workload x one engine x one run) runs in a forked child
// process on a fresh directory, so peak RSS, /proc/self/io and CPU time are
// per engine. Runs alternate engines (the order rotates every run) so that
// machine drift hits all of them alike. Every read is verified; a failed
// verification fails the trial and the exit status.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "bench.h"

using namespace bench;

namespace {

struct Trial {
  bool ok = false;
  std::string error;
  Metrics metrics;
};

Trial run_trial(const Workload& w, const std::string& engine, const Params& p) {
  std::filesystem::remove_all(p.dir);
  std::filesystem::create_directories(p.dir);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    FILE* out = fdopen(fds[1], "w");
    int rc = 0;
    try {
      Metrics m = w.run(engine, p);
      for (const auto& x : m)
        fprintf(out, "M\t%s\t%.17g\t%s\t%d\n", x.name.c_str(), x.value, x.unit.c_str(),
                x.higher_better ? 1 : 0);
    } catch (const VerifyError& e) {
      fprintf(out, "E\t%s\n", e.what());
      rc = 2;
    } catch (const std::exception& e) {
      fprintf(out, "E\terror: %s\n", e.what());
      rc = 3;
    }
    fclose(out);
    _exit(rc);
  }
  close(fds[1]);
  Trial t;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int st = 0;
  rusage ru{};
  wait4(pid, &st, 0, &ru);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tag;
    std::getline(ls, tag, '\t');
    if (tag == "M") {
      Metric m;
      std::string v, hb;
      std::getline(ls, m.name, '\t');
      std::getline(ls, v, '\t');
      std::getline(ls, m.unit, '\t');
      std::getline(ls, hb, '\t');
      m.value = std::stod(v);
      m.higher_better = hb == "1";
      t.metrics.push_back(m);
    } else if (tag == "E") {
      std::getline(ls, t.error);
    }
  }
  t.ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  if (!t.ok && t.error.empty())
    t.error = WIFSIGNALED(st) ? "killed by signal " + std::to_string(WTERMSIG(st))
                              : "exit status " + std::to_string(WEXITSTATUS(st));
  t.metrics.push_back({"peak_RSS_MB", static_cast<double>(ru.ru_maxrss) / 1024.0, "MB", false});
  if (t.ok) std::filesystem::remove_all(p.dir);
  return t;
}

std::string fmt(double v) {
  char b[64];
  double a = std::fabs(v);
  if (a >= 1e6)
    snprintf(b, sizeof b, "%.3gM", v / 1e6);
  else if (a >= 1e4)
    snprintf(b, sizeof b, "%.3gK", v / 1e3);
  else if (a >= 100)
    snprintf(b, sizeof b, "%.0f", v);
  else
    snprintf(b, sizeof b, "%.3g", v);
  return b;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return NAN;
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void usage() {
  fprintf(stderr,
          "usage: flowdb-bench [--smoke] [--scale X] [--runs N] [--dir D] [--seed N]\n"
          "                    [--workloads a,b] [--engines flowdb,rocksdb,leveldb]\n"
          "                    [--out results.md] [--raw results.tsv] [--list]\n"
          "  --smoke   every workload at tiny scale, 1 run, reads verified (CI)\n"
          "  --scale   multiply record counts (default 1 = full scale of the issue)\n");
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    if (!x.empty()) v.push_back(x);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  double scale = 1.0;
  bool smoke = false;
  int runs = -1;
  uint64_t seed = 42;
  std::string dir = "/tmp/flowdb-bench", out, raw;
  std::vector<std::string> only_w, only_e;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        exit(64);
      }
      return argv[++i];
    };
    if (a == "--smoke")
      smoke = true;
    else if (a == "--scale")
      scale = std::stod(val());
    else if (a == "--runs")
      runs = std::stoi(val());
    else if (a == "--dir")
      dir = val();
    else if (a == "--seed")
      seed = std::stoull(val());
    else if (a == "--workloads")
      only_w = split(val());
    else if (a == "--engines")
      only_e = split(val());
    else if (a == "--out")
      out = val();
    else if (a == "--raw")
      raw = val();
    else if (a == "--list")
      list = true;
    else {
      usage();
      return 64;
    }
  }
  if (runs < 0) runs = smoke ? 1 : 3;
  auto workloads = all_workloads();
  if (list) {
    for (const auto& w : workloads) printf("%-16s %s\n", w.name.c_str(), w.description.c_str());
    return 0;
  }
  std::vector<Workload> sel;
  for (const auto& w : workloads)
    if (only_w.empty() || std::find(only_w.begin(), only_w.end(), w.name) != only_w.end())
      sel.push_back(w);
  for (auto& w : sel) {
    std::vector<std::string> e;
    for (const auto& x : w.engines)
      if (only_e.empty() || std::find(only_e.begin(), only_e.end(), base_engine(x)) != only_e.end())
        e.push_back(x);
    w.engines = e;
  }
  Params base = make_params(scale, smoke, seed);
  std::ofstream rawf;
  if (!raw.empty()) rawf.open(raw, std::ios::app);

  // results[workload][engine][metric] -> values over runs
  std::map<std::string, std::map<std::string, std::map<std::string, std::vector<double>>>> res;
  std::map<std::string, std::pair<std::string, bool>> meta;  // metric -> unit, higher_better
  std::map<std::string, std::vector<std::string>> order;     // workload -> metric order
  int failures = 0;
  for (int r = 0; r < runs; ++r)
    for (const auto& w : sel) {
      size_t ne = w.engines.size();
      for (size_t k = 0; k < ne; ++k) {
        const std::string& e = w.engines[(k + static_cast<size_t>(r)) % ne];
        Params p = base;
        p.dir = dir + "/" + w.name + "-" + e;
        auto t0 = Clock::now();
        Trial t = run_trial(w, e, p);
        double secs = secs_since(t0);
        fprintf(stderr, "[run %d] %-14s %-12s %s (%.1f s)", r + 1, w.name.c_str(), e.c_str(),
                t.ok ? "ok" : "FAILED", secs);
        if (!t.ok) {
          ++failures;
          fprintf(stderr, ": %s", t.error.c_str());
        }
        for (const auto& m : t.metrics) {
          fprintf(stderr, " %s=%s", m.name.c_str(), fmt(m.value).c_str());
          if (rawf)
            rawf << r + 1 << '\t' << w.name << '\t' << e << '\t' << m.name << '\t' << m.value
                 << '\n';
          if (!t.ok) continue;
          res[w.name][e][m.name].push_back(m.value);
          meta[m.name] = {m.unit, m.higher_better};
          auto& o = order[w.name];
          if (std::find(o.begin(), o.end(), m.name) == o.end()) o.push_back(m.name);
        }
        fprintf(stderr, "\n");
        if (rawf) rawf.flush();
      }
    }

  std::ostringstream md;
  md << "Scale " << scale << (smoke ? " (smoke)" : "") << ", " << runs << " run(s), seed " << seed
     << ". Cells: median [min – max] over runs.\n\n";
  for (const auto& w : sel) {
    md << "### " << w.name << "\n\n" << w.description << "\n\n| metric |";
    std::vector<std::string> rocks;
    for (const auto& e : w.engines) {
      md << ' ' << e << " |";
      if (base_engine(e) == "rocksdb") rocks.push_back(e);
    }
    bool have_flow = std::find(w.engines.begin(), w.engines.end(), "flowdb") != w.engines.end();
    if (have_flow)
      for (const auto& rk : rocks) md << " flowdb vs " << rk << " |";
    md << "\n|---|";
    for (size_t i = 0; i < w.engines.size() + (have_flow ? rocks.size() : 0); ++i) md << "---|";
    md << "\n";
    for (const auto& m : order[w.name]) {
      auto [unit, hb] = meta[m];
      md << "| " << m << " (" << unit << (hb ? ", higher better" : ", lower better") << ") |";
      for (const auto& e : w.engines) {
        auto& v = res[w.name][e][m];
        if (v.empty()) {
          md << " – |";
          continue;
        }
        auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        md << ' ' << fmt(median(v));
        if (v.size() > 1) md << " [" << fmt(*lo) << " – " << fmt(*hi) << "]";
        md << " |";
      }
      if (have_flow)
        for (const auto& rk : rocks) {
          double f = median(res[w.name]["flowdb"][m]), k = median(res[w.name][rk][m]);
          double ratio = hb ? f / k : k / f;
          if (std::isfinite(ratio) && f != 0 && k != 0) {
            char b[32];
            snprintf(b, sizeof b, " **%.2fx** |", ratio);
            md << b;
          } else {
            md << " – |";
          }
        }
      md << "\n";
    }
    md << "\n";
  }
  md << "Ratios: FlowDB relative to RocksDB, oriented so that > 1 means FlowDB is better "
        "(higher-better metrics: flowdb / rocksdb; lower-better: rocksdb / flowdb).\n";
  std::cout << md.str();
  if (!out.empty()) std::ofstream(out) << md.str();
  if (failures) fprintf(stderr, "%d trial(s) FAILED\n", failures);
  return failures ? 1 : 0;
}
