#!/usr/bin/env python3
"""query_range on flowdb-agent against a real Prometheus holding the same data.

Loads 24 h at 15 s resolution (5,760 samples a series) of one series `x_one`
and of 1,000 counter series `x{host="h0".."h9",instance=...}` into both by
remote write (the hand-encoded WriteRequest of
tests/agent/promql_compare/promlib.py), then times query_range over 1 h, 6 h
and 24 h at step 15 s of `x_one` (1 series) and of
`sum by (host) (rate(x[5m]))` (1,000 series), each the median of --runs runs
after one warm-up, agent and Prometheus back to back in each run. Prints a
Markdown table: agent ms, Prometheus ms, ratio (agent / Prometheus), whether
the answers are equal (as tests/agent/promql_compare compares them), and the
agent's VmRSS (highest seen, sampled every 20 ms during its queries) and
VmHWM from /proc/PID/status.

How Prometheus 2.42 takes 24 h by remote write: its head refuses a sample
older than (head max time - 1 h) ("out of bounds") and per series one older
than the series' last ("out of order"), but an empty head takes any first
sample. So the load is sent in time order across all series (each request
one 5-minute window of every series), from 24 h ago to now; Prometheus
compacts its head into blocks while it loads, and the benchmark waits until
the head spans at most 3 h and no compaction ran for 5 s before it queries.
(`--prom-load blocks` instead writes OpenMetrics and builds blocks with
`promtool tsdb create-blocks-from openmetrics` before Prometheus starts.)

  tests/bench/promql_bench.py --agent build/release/agent/flowdb-agent [--runs 5]
  tests/bench/promql_bench.py --self-test      # a second Prometheus instead of the agent

Only 127.0.0.1 is contacted; servers are stopped by pid.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "agent", "promql_compare"))

from promlib import (agent_stored, api, compare_answers, encode_timeseries,  # noqa: E402
                     _field_bytes, proc_status, remote_write_raw, snappy_compress,
                     start_agent, start_prometheus, wait_until)

STEP_MS = 15_000
DAY_MS = 86_400_000


def scrape(port, names):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        for n in names:
            if line.startswith(n + " "):
                out[n] = float(line.split()[1])
    return out


class Data:
    """The benchmark's samples, generated window by window (the 5.8 M samples
    are never all in memory)."""

    def __init__(self, end_ms, nseries, hosts, seed=18):
        self.end = end_ms
        self.start = end_ms - DAY_MS + STEP_MS
        self.labels = [{"__name__": "x_one", "host": "h0"}]
        self.labels += [{"__name__": "x", "host": f"h{i % hosts}", "instance": f"i{i:04d}"}
                        for i in range(nseries)]
        rnd = random.Random(seed)
        self.rate = [rnd.uniform(0.5, 20) for _ in self.labels]
        self.value = [0.0] * len(self.labels)
        self.rnd = rnd
        self.npoints = (self.end - self.start) // STEP_MS + 1

    def windows(self, per_window=20):
        """Yields [(labels, [(ts, v)...])] for per_window timestamps at a time."""
        t = self.start
        while t <= self.end:
            ts = list(range(t, min(self.end, t + (per_window - 1) * STEP_MS) + 1, STEP_MS))
            req = []
            for k, labels in enumerate(self.labels):
                samples = []
                v = self.value[k]
                for x in ts:
                    v += self.rate[k] * 15 * (0.5 + self.rnd.random())
                    samples.append((x, round(v, 3)))
                self.value[k] = v
                req.append((labels, samples))
            yield req
            t = ts[-1] + STEP_MS


def encode(req):
    return snappy_compress(b"".join(_field_bytes(1, encode_timeseries(l, s)) for l, s in req))


def write_openmetrics(data, path):
    """The same samples as OpenMetrics (time-ordered), for promtool."""
    with open(path, "w") as f:
        f.write("# TYPE x_one gauge\n# TYPE x gauge\n")
        for req in data.windows():
            lines = []
            for labels, samples in req:
                name = labels["__name__"]
                ls = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
                for t, v in samples:
                    lines.append((t, f"{name}{{{ls}}} {v!r} {t / 1000:.3f}\n"))
            lines.sort(key=lambda x: x[0])
            f.write("".join(line for _, line in lines))
        f.write("# EOF\n")


def time_query(port, params):
    t0 = time.perf_counter()
    st, js, _ = api(port, "/api/v1/query_range", params, timeout=600)
    return (time.perf_counter() - t0) * 1000, js


class RssSampler:
    def __init__(self, pid):
        self.pid, self.max_rss, self.on = pid, 0, False
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.wait(0.02):  # the sampling cadence of the report
            if self.on:
                try:
                    self.max_rss = max(self.max_rss, proc_status(self.pid)["VmRSS"])
                except (OSError, KeyError):
                    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", default=os.environ.get("FLOWDB_AGENT"))
    ap.add_argument("--self-test", action="store_true",
                    help="the system under test is a second Prometheus")
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--promtool", default="/usr/bin/promtool")
    ap.add_argument("--prom-load", choices=("remote-write", "blocks"), default="remote-write")
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not args.self_test and not args.agent:
        ap.error("--agent PATH (or FLOWDB_AGENT) or --self-test")

    work = tempfile.mkdtemp(prefix="promql-bench-")
    procs = []
    try:
        end_ms = int(time.time() * 1000) // STEP_MS * STEP_MS - 60_000
        data = Data(end_ms, args.series, args.hosts)
        nsamples = data.npoints * len(data.labels)
        t0 = time.monotonic()
        prom_tsdb = os.path.join(work, "prometheus-tsdb")
        if args.prom_load == "blocks":
            om = os.path.join(work, "data.om")
            write_openmetrics(Data(end_ms, args.series, args.hosts), om)
            subprocess.run([args.promtool, "tsdb", "create-blocks-from", "openmetrics", "-q",
                            om, prom_tsdb], check=True)
            os.unlink(om)
            print(f"blocks built in {time.monotonic() - t0:.0f} s")
        prom = start_prometheus(args.prometheus, work, "prometheus", tsdb=prom_tsdb)
        procs.append(prom)
        if args.self_test:
            sut = start_prometheus(args.prometheus, work, "prometheus2")
            sut_name = "prometheus2"
        else:
            sut = start_agent(args.agent, work)
            sut_name = "agent"
        procs.append(sut)

        t0 = time.monotonic()
        targets = [sut.port] + ([prom.port] if args.prom_load == "remote-write" else [])
        for req in data.windows():
            body = encode(req)
            for port in targets:
                remote_write_raw(port, body)
        into = f"{sut_name} and Prometheus" if len(targets) > 1 else sut_name
        print(f"{len(data.labels)} series x {data.npoints} samples = {nsamples} samples "
              f"remote-written into {into} in {time.monotonic() - t0:.0f} s"
              + ("" if len(targets) > 1 else " (Prometheus: blocks from promtool)"))

        end_s = end_ms / 1000

        def count(port):
            st, js, _ = api(port, "/api/v1/query", {
                "query": "sum(count_over_time(x[1d])) + sum(count_over_time(x_one[1d]))",
                "time": f"{end_s:.3f}"}, timeout=600)
            if not isinstance(js, dict) or js.get("status") != "success":
                return None
            r = js["data"]["result"]
            return int(float(r[0]["value"][1])) if r else 0

        wait_until(lambda: count(prom.port) == nsamples, 300, "Prometheus to hold the data",
                   prom)
        if count(sut.port) is None:
            wait_until(lambda: sum(agent_stored(sut.port)) >= nsamples, 600,
                       "the agent to store the data", sut)
            print("note: the agent has no PromQL API yet; loaded per its /metrics")
        else:
            wait_until(lambda: count(sut.port) == nsamples, 600, f"{sut_name} to hold the data",
                       sut)
        # Let Prometheus finish compacting its head (it spans 24 h after the load)
        # and its blocks: its compaction loop has run at least once (it wakes
        # on appends and every minute), then nothing changed for 5 s.
        names = ["prometheus_tsdb_head_min_time", "prometheus_tsdb_head_max_time",
                 "prometheus_tsdb_compactions_total", "prometheus_tsdb_blocks_loaded",
                 "prometheus_tsdb_compactions_triggered_total"]
        for p in [prom] + ([sut] if args.self_test else []):
            last, since = None, time.monotonic()

            def settled():
                nonlocal last, since
                m = scrape(p.port, names)
                span = m["prometheus_tsdb_head_max_time"] - m["prometheus_tsdb_head_min_time"]
                key = (m["prometheus_tsdb_compactions_total"], m["prometheus_tsdb_blocks_loaded"])
                if key != last:
                    last, since = key, time.monotonic()
                return (span <= 3 * 3600_000 and time.monotonic() - since >= 5
                        and m.get("prometheus_tsdb_compactions_triggered_total", 0) >= 1)
            wait_until(settled, 600, "Prometheus to finish compacting", p)
        print(f"loaded and settled in {time.monotonic() - t0:.0f} s")

        sampler = RssSampler(sut.pid)
        rows = []
        for expr, nser in (("x_one", 1), ("sum by (host) (rate(x[5m]))", args.series)):
            for hours in (1, 6, 24):
                params = {"query": expr, "start": f"{end_s - hours * 3600:.3f}",
                          "end": f"{end_s:.3f}", "step": "15"}
                time_query(sut.port, params)
                time_query(prom.port, params)  # warm-up
                ta, tp = [], []
                ja = jp = None
                for _ in range(args.runs):
                    sampler.on = True
                    ms, ja = time_query(sut.port, params)
                    sampler.on = False
                    ta.append(ms)
                    ms, jp = time_query(prom.port, params)
                    tp.append(ms)
                diffs = compare_answers(jp, ja)
                ma, mp = statistics.median(ta), statistics.median(tp)
                failed = not isinstance(ja, dict) or ja.get("status") != "success"
                if failed:  # an error answer's time is no query time
                    err = ja.get("error") if isinstance(ja, dict) else "not JSON"
                    eq = f"no: {sut_name} answered an error ({str(err)[:50]})"
                else:
                    eq = "yes" if not diffs else f"no ({diffs[0][:60]})"
                rows.append((expr, nser, hours, None if failed else ma, mp,
                             None if failed or not mp else ma / mp, eq))
        sampler.stop.set()
        st = proc_status(sut.pid)
        pst = proc_status(prom.pid)

        print(f"\nquery_range, step 15 s, median of {args.runs} runs after a warm-up; "
              f"{sut_name} vs Prometheus 2.42 ({args.prom_load}), same data\n")
        print(f"| query | series | range | {sut_name} ms | Prometheus ms | ratio | equal |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for expr, nser, hours, ma, mp, ratio, eq in rows:
            a = "—" if ma is None else f"{ma:.1f}"
            r = "—" if ratio is None else f"{ratio:.2f}"
            print(f"| `{expr}` | {nser} | {hours} h | {a} | {mp:.1f} | {r} | {eq} |")
        mib = 1024
        print(f"\n{sut_name} RSS during its queries: highest VmRSS {sampler.max_rss / mib:.1f} "
              f"MiB, VmHWM {st['VmHWM'] / mib:.1f} MiB (VmRSS now {st['VmRSS'] / mib:.1f} MiB); "
              f"Prometheus VmRSS {pst['VmRSS'] / mib:.1f} MiB, VmHWM {pst['VmHWM'] / mib:.1f} MiB")
        # Unequal answers make the timings meaningless: fail the run.
        return 0 if all(eq == "yes" for *_, eq in rows) else 1
    finally:
        for p in reversed(procs):
            p.stop()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
