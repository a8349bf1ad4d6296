#!/usr/bin/env python3
"""flowdb-agent's Prometheus HTTP API against a real Prometheus (issue 18).

Loads the same samples (dataset.py) by remote write into a real Prometheus
(Debian prometheus 2.42, --web.enable-remote-write-receiver) and into the
system under test (SUT), then runs every expression of corpus.promql as
instant queries at several evaluation times and as range queries (several
start/end/step, steps not aligned with the data), over GET and form POST,
and requires equal answers: status, errorType, resultType, the series' label
sets exactly, timestamps exactly, values to 1e-9 relative (or both NaN, or
the same infinity). Then /api/v1/series, /labels, /label/<name>/values,
parameter errors, `promtool query instant|range` against both, and a second
Prometheus with remote_read (read_recent) to the SUT and an empty TSDB whose
answers must equal the SUT's own.

  compare.py --agent build/dev/agent/flowdb-agent     # the SUT is the agent
  compare.py --self-test                              # the SUT is a second Prometheus

--self-test proves the harness: two Prometheus fed the same data must agree
(0 mismatches), and the remote-read Prometheus reads from the second one.
Exit status: 0 all equal, 1 mismatches, 2 setup failure, 77 (CTest
SKIP_RETURN_CODE) when /usr/bin/prometheus is missing. Only 127.0.0.1 is
contacted; every server is stopped by its pid / process group.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dataset  # noqa: E402
import promlib  # noqa: E402
from promlib import (agent_stored, api, batches, compare_answers,  # noqa: E402
                     remote_write, start_agent, start_prometheus, wait_until)

SKIP = 77


def load_corpus(path):
    """[(kind, expr, section, flags)] with kind '=' compared, '!' both
    bad_data, '?' the agent bad_data (outside its subset); flags from
    '#@flag' lines, which apply to the next expression."""
    out, section, flags = [], "", set()
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("##"):
                section = line.lstrip("# ").strip()
                continue
            if line.startswith("#@"):
                flags.add(line[2:].split()[0])
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in "!?":
                out.append((line[0], line[1:].strip(), section, frozenset(flags)))
            else:
                out.append(("=", line.strip(), section, frozenset(flags)))
            flags = set()
    return out


def fmt_t(t):
    return f"{t:.3f}"


def rfc3339(t):
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class Server:
    def __init__(self, name, port, proc):
        self.name, self.port, self.proc = name, port, proc

    def query(self, path, params, method="GET"):
        return api(self.port, path, params, method)


def total_count(server, end_s, names):
    """Samples the server holds (non-stale), via PromQL, one metric name at a
    time (count_over_time drops the name, so a whole-store count would
    collide); None if the server does not answer in the Prometheus format."""
    total = 0
    for name in names:
        st, js, _ = server.query("/api/v1/query", {
            "query": f'sum(count_over_time({{__name__="{name}"}}[3h]))', "time": fmt_t(end_s + 1)})
        if not isinstance(js, dict) or js.get("status") != "success":
            return None
        res = js["data"]["result"]
        total += int(float(res[0]["value"][1])) if res else 0
    return total


class Report:
    def __init__(self, verbose, record=None):
        self.record = open(record, "w") if record else None
        self.queries = 0
        self.mismatches = []
        self.verbose = verbose
        self.notes = []
        self.ref_errors = 0
        self.ref_empty = 0
        self.nonempty_exprs = set()
        self.exprs = set()

    def note_ref(self, expr, ans):
        """How informative the reference answers are."""
        self.exprs.add(expr)
        if not isinstance(ans, dict) or ans.get("status") != "success":
            self.ref_errors += 1
            return
        res = (ans.get("data") or {}).get("result")
        if res in (None, []):
            self.ref_empty += 1
        else:
            self.nonempty_exprs.add(expr)

    def check(self, what, a_name, a, b_name, b, extra=None, plain=False):
        """plain: answers that are not query results, compared whole."""
        self.queries += 1
        diffs = ([] if a == b else ["answers differ"]) if plain else compare_answers(a, b)
        if extra:
            diffs = extra + diffs
        if diffs:
            self.mismatches.append((what, a_name, a, b_name, b, diffs))
        return not diffs

    def print_mismatches(self, limit):
        for what, an, a, bn, b, diffs in self.mismatches[:limit]:
            print(f"\nMISMATCH {what}")
            for d in diffs[:12]:
                print(f"  - {d}")
            for name, ans in ((an, a), (bn, b)):
                text = json.dumps(ans, sort_keys=True)
                print(f"  {name}: {text[:1500]}{' ...' if len(text) > 1500 else ''}")
        if len(self.mismatches) > limit:
            print(f"\n... {len(self.mismatches) - limit} more mismatches not shown")


def build_queries(corpus, start_s, end_s, quick):
    """[(what, path, params, method, kind)] for every corpus expression."""
    instants = [end_s, end_s - 1800 + 67.5, start_s + 3673.5, end_s - 64 * 60, end_s + 240,
                end_s + 400, start_s - 60]
    ranges = [(start_s, end_s + 600, 60), (start_s + 7.3, end_s - 13.1, 37),
              (end_s - 1200, end_s + 120, 15), (start_s - 600, end_s, 300)]
    if quick:
        instants, ranges = instants[:3], ranges[:2]
    out = []
    for i, (kind, expr, section, _) in enumerate(corpus):
        ins, rgs = (instants, ranges) if kind == "=" else (instants[:1], ranges[:1])
        for j, t in enumerate(ins):
            method = "POST" if (i + j) % 3 == 0 else "GET"
            tv = rfc3339(t) if (i + j) % 7 == 3 else fmt_t(t)
            out.append((f"instant {expr!r} time={tv} ({method}) [{section}]",
                        "/api/v1/query", {"query": expr, "time": tv}, method, kind))
        for j, (a, b, step) in enumerate(rgs):
            method = "POST" if (i + j) % 4 == 1 else "GET"
            params = {"query": expr, "start": fmt_t(a), "end": fmt_t(b), "step": str(step)}
            if (i + j) % 5 == 2:
                params["start"], params["end"] = rfc3339(a), rfc3339(b)
                params["step"] = f"{step}s"
            out.append((f"range {expr!r} start={params['start']} end={params['end']} "
                        f"step={params['step']} ({method}) [{section}]",
                        "/api/v1/query_range", params, method, kind))
    return out


def run_pairs(report, queries, ref, sut, self_test, workers=2):
    """Each query against both servers; '!' lines must be bad_data on both,
    '?' lines bad_data on the agent only."""
    def one(q):
        what, path, params, method, kind = q
        if kind == "?" and self_test:
            return None
        b = sut.query(path, params, method)[1]
        a = ref.query(path, params, method)[1] if kind != "?" else None
        return q, a, b

    with ThreadPoolExecutor(workers) as ex:
        for r in ex.map(one, queries):
            if r is None:
                continue
            (what, path, params, method, kind), a, b = r
            if kind == "?":
                report.queries += 1
                if not (isinstance(b, dict) and b.get("status") == "error"
                        and b.get("errorType") == "bad_data"):
                    report.mismatches.append((what, "(not asked)", None, sut.name, b,
                                              ["the agent must reject it with bad_data"]))
                continue
            extra = []
            if kind == "!":
                for name, ans in ((ref.name, a), (sut.name, b)):
                    if not (isinstance(ans, dict) and ans.get("status") == "error"
                            and ans.get("errorType") == "bad_data"):
                        extra.append(f"{name} did not answer bad_data")
            report.note_ref(params.get("query"), a)
            if report.record:
                report.record.write(json.dumps({"path": path, "params": params,
                                                "method": method, ref.name: a,
                                                sut.name: b}) + "\n")
            report.check(what, ref.name, a, sut.name, b, extra)


def metadata_checks(report, ref, sut, start_s, end_s):
    """/api/v1/series, /labels, /label/<name>/values, buildinfo, and
    parameter errors (bad_data on both)."""
    rng = {"start": fmt_t(start_s), "end": fmt_t(end_s)}

    def norm_series(js):
        if isinstance(js, dict) and js.get("status") == "success":
            js = dict(js, data=sorted(json.dumps(m, sort_keys=True) for m in js["data"]))
        return js

    def norm_list(js):
        if isinstance(js, dict) and js.get("status") == "success":
            js = dict(js, data=sorted(js["data"]))
        return js

    for match in (['up'], ['{__name__=~"http_.*", code="500"}'], ['stale_metric', 'tie_metric'],
                  ['{job=~"api|db"}'], ['nonexistent']):
        params = [("match[]", m) for m in match] + list(rng.items())
        for method in ("GET", "POST"):
            a = norm_series(ref.query("/api/v1/series", params, method)[1])
            b = norm_series(sut.query("/api/v1/series", params, method)[1])
            report.check(f"series {match} ({method})", ref.name, a, sut.name, b,
                         plain=True)
    for params in ({}, rng, dict(rng, **{"match[]": "up"})):
        a = norm_list(ref.query("/api/v1/labels", params)[1])
        b = norm_list(sut.query("/api/v1/labels", params)[1])
        report.check(f"labels {params}", ref.name, a, sut.name, b, plain=True)
    for name in ("job", "host", "le", "__name__", "nonexistent"):
        a = norm_list(ref.query(f"/api/v1/label/{name}/values", rng)[1])
        b = norm_list(sut.query(f"/api/v1/label/{name}/values", rng)[1])
        report.check(f"label {name} values", ref.name, a, sut.name, b, plain=True)
    for params in ({}, {"metric": "up"}, {"limit": "1"}):
        a = ref.query("/api/v1/metadata", params)[1]
        b = sut.query("/api/v1/metadata", params)[1]
        report.check(f"metadata {params}", ref.name, a, sut.name, b, plain=True)
    b = sut.query("/api/v1/status/buildinfo", {})[1]
    report.queries += 1
    if not (isinstance(b, dict) and b.get("status") == "success"
            and "version" in (b.get("data") or {})):
        report.mismatches.append(("buildinfo", "(shape)", None, sut.name, b,
                                  ["no status success with data.version"]))
    # Parameter errors: both answer bad_data.
    e = fmt_t(end_s)
    cases = [
        ("/api/v1/query", {"query": "up", "time": "notatime"}),
        ("/api/v1/query", {"time": e}),
        ("/api/v1/query", {"query": "up", "time": e, "timeout": "x"}),
        ("/api/v1/query_range", {"query": "up", "start": e, "end": e, "step": "0"}),
        ("/api/v1/query_range", {"query": "up", "start": e, "end": fmt_t(end_s - 60),
                                 "step": "15"}),
        ("/api/v1/query_range", {"query": "up", "start": fmt_t(start_s - 86400 * 2), "end": e,
                                 "step": "1"}),
        ("/api/v1/query_range", {"query": "up", "start": e, "end": e}),
        ("/api/v1/query_range", {"query": "up", "start": e, "end": e, "step": "-15"}),
        ("/api/v1/query_range", {"query": "up[5m]", "start": e, "end": e, "step": "15"}),
        ("/api/v1/series", {"start": e}),
    ]
    for path, params in cases:
        a = ref.query(path, params)[1]
        b = sut.query(path, params)[1]
        extra = [f"{n} did not answer bad_data" for n, x in ((ref.name, a), (sut.name, b))
                 if not (isinstance(x, dict) and x.get("errorType") == "bad_data")]
        report.check(f"parameter error {path} {params}", ref.name, a, sut.name, b, extra)


def promtool_checks(report, promtool, ref, sut, start_s, end_s, corpus):
    """`promtool query instant|range -o json` against both servers."""
    exprs = [e for k, e, _, _ in corpus if k == "="][::15]
    for expr in exprs:
        for argv in (["instant", "--time", fmt_t(end_s - 333.3)],
                     ["range", "--start", fmt_t(start_s + 11), "--end", fmt_t(end_s),
                      "--step", "45s"]):
            outs = []
            for s in (ref, sut):
                p = subprocess.run([promtool, "query", "-o", "json", argv[0], *argv[1:],
                                    f"http://127.0.0.1:{s.port}", expr],
                                   capture_output=True, text=True, timeout=60)
                if p.returncode == 0:
                    try:
                        res = json.loads(p.stdout)
                    except ValueError:
                        res = None
                    outs.append(_promtool_answer(res, argv[0]))
                else:
                    outs.append({"status": "error", "errorType": "promtool",
                                 "error": (p.stderr or p.stdout).strip()[:500]})
            report.check(f"promtool query {argv[0]} {expr!r}", "promtool->" + ref.name, outs[0],
                         "promtool->" + sut.name, outs[1])


def _promtool_answer(res, kind):
    """promtool -o json prints the model value; wrap it as an API answer."""
    if isinstance(res, list):
        rt = "matrix" if kind == "range" or (res and "values" in res[0]) else "vector"
        return {"status": "success", "data": {"resultType": rt, "result": res}}
    if isinstance(res, dict) and "value" in res:  # scalar/string objects
        return {"status": "success", "data": {"resultType": "scalar", "result": res["value"]}}
    return {"status": "success", "data": {"resultType": "scalar", "result": res}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", default=os.environ.get("FLOWDB_AGENT"),
                    help="flowdb-agent binary (the SUT)")
    ap.add_argument("--self-test", action="store_true",
                    help="the SUT is a second Prometheus (proves the harness)")
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--promtool", default="/usr/bin/promtool")
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus.promql"))
    ap.add_argument("--quick", action="store_true", help="fewer evaluation times and ranges")
    ap.add_argument("--no-remote-read", action="store_true")
    ap.add_argument("--no-promtool", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--only", metavar="REGEX",
                    help="only the corpus expressions (or sections) this regex finds")
    ap.add_argument("--record", metavar="FILE",
                    help="write every query and both answers as JSON lines")
    ap.add_argument("--abs-tol", type=float, default=0.0,
                    help="also accept |a-b| <= this (default 0: 1e-9 relative only)")
    ap.add_argument("--show", type=int, default=40, help="mismatches printed in full")
    args = ap.parse_args()

    if not os.access(args.prometheus, os.X_OK):
        print(f"SKIP: {args.prometheus} missing (apt-get install prometheus)")
        return SKIP
    if not args.self_test and not args.agent:
        ap.error("--agent PATH (or FLOWDB_AGENT) or --self-test")

    promlib.ABS_TOL = args.abs_tol
    corpus = load_corpus(args.corpus)
    if args.only:
        rx = re.compile(args.only)
        corpus = [c for c in corpus if rx.search(c[1]) or rx.search(c[2])]
    work = tempfile.mkdtemp(prefix="promql-compare-")
    procs = []
    t_begin = time.monotonic()
    try:
        end_ms = int(time.time() * 1000) // 60000 * 60000 - 60000
        end_s, start_s = end_ms / 1000, (end_ms - dataset.SPAN) / 1000
        data = dataset.generate(end_ms)
        total, stale, nseries = dataset.stats(data)

        ref_p = start_prometheus(args.prometheus, work, "prometheus")
        procs.append(ref_p)
        ref = Server("prometheus", ref_p.port, ref_p)
        if args.self_test:
            sp = start_prometheus(args.prometheus, work, "prometheus2")
            sut = Server("prometheus2", sp.port, sp)
        else:
            sp = start_agent(args.agent, work)
            sut = Server("agent", sp.port, sp)
        procs.append(sp)

        nreq = 0
        for req in batches(data, 4000):
            remote_write(ref.port, req)
            remote_write(sut.port, req)
            nreq += 1
        want = total - stale
        names = sorted({l['__name__'] for l, _ in data})
        wait_until(lambda: total_count(ref, end_s, names) == want,
                   30, f"prometheus to hold {want} samples", ref_p)
        sut_count = total_count(sut, end_s, names)
        if sut_count is None:
            # The agent without the PromQL API yet: its input's own counters.
            wait_until(lambda: sum(agent_stored(sut.port)) >= total, 30,
                       f"the agent to store or drop {total} samples", sp)
            stored, dropped = agent_stored(sut.port)
            print(f"note: {sut.name} has no Prometheus query API; its remote-write input "
                  f"stored {stored:.0f} and dropped {dropped:.0f} of {total} samples")
        else:
            wait_until(lambda: total_count(sut, end_s, names) == want, 30,
                       f"{sut.name} to hold {want} samples", sp)
        print(f"loaded {nseries} series, {total} samples ({stale} staleness markers) in "
              f"{nreq} remote-write requests into each; window "
              f"{rfc3339(start_s)} .. {rfc3339(end_s)}")

        report = Report(False, args.record)
        queries = build_queries(corpus, start_s, end_s, args.quick)
        run_pairs(report, queries, ref, sut, args.self_test)
        metadata_checks(report, ref, sut, start_s, end_s)
        api_queries, api_mis = report.queries, len(report.mismatches)
        empty = sorted(e for e, k in ((c[1], c[0]) for c in corpus)
                       if k == "=" and e not in report.nonempty_exprs)
        print(f"reference answers: {report.ref_errors} errors, {report.ref_empty} empty results;"
              f" {len(empty)} compared expressions never had a non-empty result"
              + (": " + "; ".join(empty) if empty else ""))
        print(f"HTTP API: {report.queries} queries, {len(report.mismatches)} mismatches "
              f"({time.monotonic() - t_begin:.0f} s)")

        if not args.no_promtool and os.access(args.promtool, os.X_OK):
            promtool_checks(report, args.promtool, ref, sut, start_s, end_s, corpus)
            print(f"promtool: {report.queries - api_queries} queries, "
                  f"{len(report.mismatches) - api_mis} mismatches")

        if not args.no_remote_read:
            q0, m0 = report.queries, len(report.mismatches)
            rr_p = start_prometheus(args.prometheus, work, "prometheus-rr",
                                    remote_read_port=sut.port)
            procs.append(rr_p)
            rr = Server(f"prometheus-remote-read({sut.name})", rr_p.port, rr_p)
            rr_corpus = [c for c in corpus if c[0] == "=" and "no-remote-read" not in c[3]]
            rq = build_queries(rr_corpus, start_s, end_s, True)
            run_pairs(report, rq, sut, rr, True)
            print(f"remote read: {report.queries - q0} queries, "
                  f"{len(report.mismatches) - m0} mismatches")

        if report.record:
            report.record.close()
        nexpr = len(corpus)
        report.print_mismatches(args.show)
        print(f"\n{nexpr} expressions, {report.queries} queries, {len(report.mismatches)} "
              f"mismatches ({time.monotonic() - t_begin:.0f} s)")
        return 1 if report.mismatches else 0
    except Exception as e:  # setup failures: name them, show the server logs
        traceback.print_exc()
        print(f"ERROR: {type(e).__name__}: {e}")
        for p in procs:
            print(f"--- {p.argv[0]} log tail ---\n{p.tail()}")
        return 2
    finally:
        for p in reversed(procs):
            p.stop()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
