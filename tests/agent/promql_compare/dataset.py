"""The deterministic dataset of the PromQL comparison.

generate(end_ms) -> [(labels, [(ts_ms, value)])]: two hours of samples ending
at end_ms; the values depend only on the seed, the timestamps only on end_ms
(so the same end gives the same data). What it holds, by metric:

- http_requests_total{job,instance,host,method,code}: counters, 15 s scrape
  with a per-target millisecond offset; one resets once, one twice (one of
  them to a non-zero value), one only at the start.
- node_temperature_celsius{job,instance,host,sensor}: gauges (sine + noise,
  negative values on one sensor), 10 s scrape.
- node_memory_free_bytes{job,instance,host}: large gauges (~1e9..8e9).
- up{job,instance,host}: 0/1, one target down for 20 minutes.
- host_info{host,team,version}: constant 1, for group_left/group_right joins.
- gap_metric{host}: 15 s gauge with a 12 minute hole (longer than the 5 m
  lookback) at END-70m..END-58m; a counter gap_counter_total with the same hole.
- stale_metric{host}: h1 ends at END-30m with a staleness marker (NaN
  0x7ff0000000000002), h2 ends at END-30m without one (visible for 5 more
  minutes), h3 has a marker at END-60m and comes back at END-50m.
- request_duration_seconds_bucket{job,le} / _sum / _count: classic
  histograms, two jobs, buckets 0.05 .. 2.5 and +Inf.
- tie_metric{host}: values 1, 2, 2, 3, 3, 3 (topk / bottomk / count_values
  ties), changing every 20 minutes.
- edge_values{kind}: -2.5 -1.5 -0.5 0.5 1.5 2.5, 0, -0 and 1e-320 (round,
  ceil, floor, division by zero); a sparse series scraped every 73.1 s.
- special_values{kind}: a float NaN (not the stale one) and +Inf/-Inf samples.
"""
import math
import random

from promlib import STALE_NAN

MIN = 60_000
HOUR = 60 * MIN
SPAN = 2 * HOUR


def _times(start, end, step_ms, offset_ms):
    t = start + offset_ms
    while t <= end:
        yield t
        t += step_ms


def generate(end_ms, seed=18):
    rnd = random.Random(seed)
    start = end_ms - SPAN
    out = []

    def add(labels, samples):
        out.append((labels, samples))

    # Counters with resets.
    targets = [("api", "10.0.0.1:9100", "h1"), ("api", "10.0.0.2:9100", "h2"),
               ("db", "10.0.1.1:9100", "h3")]
    k = 0
    for job, inst, host in targets:
        for method in ("get", "post"):
            for code in ("200", "500"):
                k += 1
                off = (k * 1373) % 15000
                rate = (5.0 if code == "200" else 0.25) * (2 if method == "get" else 1)
                rate *= 1 + 0.3 * k / 12
                v = 100.0 * k if k != 3 else 0.0
                resets = {}
                if k == 2:
                    resets = {start + 40 * MIN: 0.0}
                if k == 5:
                    resets = {start + 25 * MIN: 0.0, start + 80 * MIN: 3.0}
                samples = []
                for t in _times(start, end_ms, 15000, off):
                    v += rate * 15 * (0.5 + rnd.random())
                    for rt in list(resets):
                        if t >= rt:
                            v = resets.pop(rt)
                    samples.append((t, round(v, 3)))
                add({"__name__": "http_requests_total", "job": job, "instance": inst,
                     "host": host, "method": method, "code": code}, samples)

    # Gauges.
    for i, (job, inst, host) in enumerate(targets):
        for sensor in ("cpu", "board"):
            off = 700 + 2311 * i + (0 if sensor == "cpu" else 4999)
            base = 40 + 10 * i if sensor == "cpu" else -5 + 3 * i
            samples = []
            for t in _times(start, end_ms, 10000, off):
                x = (t - start) / HOUR
                samples.append((t, round(base + 8 * math.sin(2 * math.pi * x / 1.3 + i)
                                         + rnd.gauss(0, 0.7), 4)))
            add({"__name__": "node_temperature_celsius", "job": job, "instance": inst,
                 "host": host, "sensor": sensor}, samples)
        samples = []
        mem = 1e9 * (2 + 2 * i)
        for t in _times(start, end_ms, 15000, 5000 + 101 * i):
            mem += rnd.randint(-5_000_000, 5_000_000)
            samples.append((t, float(mem)))
        add({"__name__": "node_memory_free_bytes", "job": job, "instance": inst, "host": host},
            samples)
        samples = []
        for t in _times(start, end_ms, 15000, 3000 + 17 * i):
            down = i == 1 and start + 50 * MIN <= t < start + 70 * MIN
            samples.append((t, 0.0 if down else 1.0))
        add({"__name__": "up", "job": job, "instance": inst, "host": host}, samples)

    for host, team, version in (("h1", "core", "1.2.0"), ("h2", "core", "1.3.1"),
                                ("h3", "storage", "1.3.1"), ("h4", "edge", "0.9.9")):
        add({"__name__": "host_info", "host": host, "team": team, "version": version},
            [(t, 1.0) for t in _times(start, end_ms, 30000, 11000)])

    # A hole longer than the lookback.
    hole = (end_ms - 70 * MIN, end_ms - 58 * MIN)
    g, c = [], []
    cv = 0.0
    for t in _times(start, end_ms, 15000, 2500):
        cv += rnd.randint(1, 9)
        if hole[0] <= t < hole[1]:
            continue
        g.append((t, round(50 + 20 * math.cos((t - start) / HOUR * 3), 3)))
        c.append((t, cv))
    add({"__name__": "gap_metric", "host": "h1"}, g)
    add({"__name__": "gap_counter_total", "host": "h1"}, c)

    # Staleness.
    def stale_series(host, segments, marker_at):
        s = []
        for a, b in segments:
            for t in _times(a, b, 15000, 4100):
                s.append((t, round(rnd.uniform(1, 10), 2)))
        for m in marker_at:
            s.append((m, STALE_NAN))
        s.sort()
        add({"__name__": "stale_metric", "host": host}, s)

    stale_series("h1", [(start, end_ms - 30 * MIN)], [end_ms - 30 * MIN + 15000 + 4100])
    stale_series("h2", [(start, end_ms - 30 * MIN)], [])
    stale_series("h3", [(start, end_ms - 60 * MIN), (end_ms - 50 * MIN, end_ms)],
                 [end_ms - 60 * MIN + 7000])

    # Classic histograms.
    bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
    for j, job in enumerate(("api", "db")):
        cum = [0.0] * len(bounds)
        total_sum = 0.0
        per_le = {b: [] for b in bounds}
        sums, counts = [], []
        for t in _times(start, end_ms, 15000, 6000 + 333 * j):
            n = rnd.randint(20, 60)
            for _ in range(n):
                d = rnd.expovariate(4.0 if job == "api" else 1.5)
                total_sum += d
                for bi, b in enumerate(bounds):
                    if b == "+Inf" or d <= float(b):
                        cum[bi] += 1
            for bi, b in enumerate(bounds):
                per_le[b].append((t, cum[bi]))
            sums.append((t, round(total_sum, 6)))
            counts.append((t, cum[-1]))
        for b in bounds:
            add({"__name__": "request_duration_seconds_bucket", "job": job, "le": b}, per_le[b])
        add({"__name__": "request_duration_seconds_sum", "job": job}, sums)
        add({"__name__": "request_duration_seconds_count", "job": job}, counts)

    # Ties.
    tie_vals = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0]
    for hi, v in enumerate(tie_vals):
        s = []
        for t in _times(start, end_ms, 15000, 9000):
            phase = int((t - start) // (20 * MIN))
            s.append((t, tie_vals[(hi + phase) % len(tie_vals)] if phase % 2 else v))
        add({"__name__": "tie_metric", "host": f"h{hi + 1}"}, s)

    # Edge values.
    for kind, v in (("m2.5", -2.5), ("m1.5", -1.5), ("m0.5", -0.5), ("p0.5", 0.5),
                    ("p1.5", 1.5), ("p2.5", 2.5), ("zero", 0.0), ("negzero", -0.0),
                    ("tiny", 1e-320), ("big", 1.7e308)):
        add({"__name__": "edge_values", "kind": kind},
            [(t, v) for t in _times(start, end_ms, 30000, 13000)])
    sparse = []
    for t in _times(start, end_ms, 73100, 1234):
        sparse.append((t, round(rnd.uniform(-3, 3), 3)))
    add({"__name__": "edge_values", "kind": "sparse"}, sparse)

    # Real NaN / Inf values (not staleness markers).
    for kind, v in (("nan", float("nan")), ("pinf", float("inf")), ("minf", float("-inf"))):
        s = []
        for n, t in enumerate(_times(start, end_ms, 30000, 14000)):
            s.append((t, v if n % 4 == 3 else float(n % 7)))
        add({"__name__": "special_values", "kind": kind}, s)
    return out


def stats(series):
    """(samples sent, stale markers, series) of a dataset."""
    total = sum(len(s) for _, s in series)
    stale = sum(1 for _, s in series for _, v in s if v is STALE_NAN)
    return total, stale, len(series)
