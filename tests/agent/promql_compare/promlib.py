"""Shared helpers of the PromQL comparison test and benchmark (stdlib only).

Remote write 1.0 encoded by hand (protobuf + raw snappy with literal-only
chunks), servers as processes on 127.0.0.1 and free ports, the Prometheus
HTTP API over GET and form POST, and the comparison of two API answers.
Nothing here contacts an address other than 127.0.0.1.
"""
import json
import math
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

# Prometheus' staleness marker: a NaN with this exact bit pattern
# (model/value.StaleNaN); the query engine treats it as "series ended".
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- protobuf (only what prometheus.WriteRequest needs) ---------------------

def _varint(n):
    out = bytearray()
    n &= 0xFFFFFFFFFFFFFFFF  # int64 as two's complement, as protobuf does
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(num, payload):
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def encode_label(name, value):
    return _field_bytes(1, name.encode()) + _field_bytes(2, value.encode())


def encode_sample(value, ts_ms):
    # Sample{1: double value (fixed64, tag 0x09), 2: int64 timestamp (varint, tag 0x10)}
    return b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(ts_ms)


def encode_timeseries(labels, samples):
    """labels: dict (sorted by name on the wire, __name__ first as Prometheus
    sends it); samples: [(ts_ms, value)] ascending."""
    body = b"".join(_field_bytes(1, encode_label(k, labels[k])) for k in sorted(labels))
    body += b"".join(_field_bytes(2, encode_sample(v, t)) for t, v in samples)
    return body


def encode_write_request(series):
    """series: [(labels dict, [(ts_ms, value)])] -> WriteRequest bytes."""
    return b"".join(_field_bytes(1, encode_timeseries(l, s)) for l, s in series)


# --- snappy raw format, literal-only ---------------------------------------

def snappy_compress(data):
    """Valid snappy block format without back-references: the uncompressed
    length as a varint, then literal elements of at most 64 KiB."""
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 1 << 8:
            out += bytes([60 << 2, n])
        elif n < 1 << 16:
            out += bytes([61 << 2]) + n.to_bytes(2, "little")
        else:
            out += bytes([62 << 2]) + n.to_bytes(3, "little")
        out += chunk
    return bytes(out)


def remote_write(port, series, timeout=60, path="/api/v1/write"):
    """POSTs one WriteRequest of [(labels, samples)]; see remote_write_raw."""
    return remote_write_raw(port, snappy_compress(encode_write_request(series)), timeout, path)


def remote_write_raw(port, body, timeout=60, path="/api/v1/write"):
    """POSTs one snappy-compressed WriteRequest; retries on 429/503
    (Retry-After). Returns the HTTP status; raises with the body on any other
    non-2xx answer."""
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "promql-compare"}
    deadline = time.monotonic() + timeout
    while True:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            if e.code in (429, 503) and time.monotonic() < deadline:
                time.sleep(float(e.headers.get("Retry-After") or 1))  # the server's own backoff
                continue
            raise RuntimeError(f"remote write to :{port} -> {e.code}: {text.strip()}") from None


def batches(series, max_samples=20000):
    """Splits [(labels, samples)] into time-ordered WriteRequests: every
    request holds the samples of one time window for all series, windows in
    ascending order, so a Prometheus head (which refuses samples older than
    its max time - 1 h, and out-of-order samples per series) takes them all."""
    events = sorted({t for _, s in series for t, _ in s})
    if not events:
        return
    total = sum(len(s) for _, s in series)
    step = max(1, int(max_samples * len(events) / max(1, total)))
    idx = [0] * len(series)
    for i in range(0, len(events), step):
        hi = events[min(i + step, len(events)) - 1]
        req = []
        for k, (labels, samples) in enumerate(series):
            j = idx[k]
            while idx[k] < len(samples) and samples[idx[k]][0] <= hi:
                idx[k] += 1
            if idx[k] > j:
                req.append((labels, samples[j:idx[k]]))
        if req:
            yield req


# --- processes ---------------------------------------------------------------

class Proc:
    """A server in its own process group, stopped by pid (SIGTERM, then
    SIGKILL of the group)."""

    def __init__(self, argv, log, cwd=None):
        self.argv = argv
        self.log_path = log
        self.log = open(log, "w")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd,
                                  start_new_session=True, stdin=subprocess.DEVNULL)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=20):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait()
        if not self.log.closed:
            self.log.close()
        return self.p.returncode

    def tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def wait_until(pred, timeout, what, proc=None):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{what}: process exited ({proc.p.returncode}):\n{proc.tail()}")
        try:
            if pred():
                return
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            last = e
        time.sleep(0.05)  # polling an external process; there is no event to await
    raise RuntimeError(f"timed out waiting for {what} (last error: {last})")


def http_status(port, path, timeout=5):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def start_prometheus(binary, work, name, remote_read_port=None, extra_args=(),
                     tsdb=None, port=None):
    """A Prometheus with an empty (or the given) TSDB, no scrape jobs, the
    remote-write receiver on, optionally remote_read from 127.0.0.1:PORT."""
    port = port or free_port()
    os.makedirs(work, exist_ok=True)
    cfg = os.path.join(work, f"{name}.yml")
    # evaluation_interval is the default step of `expr[1h:]`: 1m, as the
    # agent's default (and Prometheus's own default).
    lines = ["global:", "  scrape_interval: 1h", "  evaluation_interval: 1m", "scrape_configs: []"]
    if remote_read_port:
        lines += ["remote_read:", f"  - url: http://127.0.0.1:{remote_read_port}/api/v1/read",
                  "    read_recent: true", "    remote_timeout: 30s"]
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    tsdb = tsdb or os.path.join(work, f"{name}-tsdb")
    argv = [binary, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={tsdb}", "--web.enable-remote-write-receiver",
            "--log.level=warn", *extra_args]
    proc = Proc(argv, os.path.join(work, f"{name}.log"))
    proc.port = proc_port = port
    try:
        wait_until(lambda: http_status(proc_port, "/-/ready") == 200, 60, f"{name} /-/ready",
                   proc)
    except Exception:
        proc.stop()
        raise
    return proc


def start_agent(binary, work, name="agent", port=None):
    """flowdb-agent with a temp data dir, the http input (remote write on
    POST /api/v1/write) and http.listen on a free 127.0.0.1 port; no UDP or
    MQTT input (the default config has them)."""
    port = port or free_port()
    os.makedirs(work, exist_ok=True)
    cfg = os.path.join(work, f"{name}.yaml")
    with open(cfg, "w") as f:
        f.write("\n".join([
            "storage:", f"  data_dir: {os.path.join(work, name + '-data')}", "  sync: interval",
            "inputs:", "  udp: []", "  mqtt: []", "  http:", "    - name: rw",
            "      max_body_bytes: 256MiB",
            "retention:", "  default_ttl: 30d",
            "http:", f"  listen: 127.0.0.1:{port}", "log:", "  level: warn",
            "  status_interval: 0s", ""]))
    proc = Proc([binary, "--config", cfg], os.path.join(work, f"{name}.log"))
    proc.port = port
    try:
        wait_until(lambda: http_status(port, "/ready") == 200, 60, f"{name} /ready", proc)
    except Exception:
        proc.stop()
        raise
    return proc


# --- the Prometheus HTTP API --------------------------------------------------

def api(port, path, params, method="GET", timeout=60):
    """Returns (http status, decoded JSON or None, raw text)."""
    data = urllib.parse.urlencode(params)
    if method == "GET":
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}?{data}")
    else:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=data.encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode(errors="replace")
    try:
        return status, json.loads(text), text
    except ValueError:
        return status, None, text


def fnum(s):
    """A sample value of the JSON API ("1.5", "NaN", "+Inf", "-Inf")."""
    return float(s)


# An absolute tolerance besides the relative one; 0 (the criterion:
# 1e-9 relative only). compare.py --abs-tol sets it, e.g. to tell cancellation
# noise near 0 (1e-17 vs 0) from a real difference while investigating.
ABS_TOL = 0.0


def values_equal(a, b, rel=1e-9):
    x, y = fnum(a), fnum(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    if x == y:
        return True
    return abs(x - y) <= max(rel * max(abs(x), abs(y)), ABS_TOL)


def _lkey(metric):
    return tuple(sorted(metric.items()))


def compare_answers(a, b, rel=1e-9):
    """Differences between two Prometheus API JSON answers (a list of
    strings, empty when equal): status, errorType, resultType, the series'
    label sets exactly, timestamps exactly, values to rel (NaN == NaN)."""
    if a is None or b is None:
        return ["not JSON" + (" (first)" if a is None else "") + (" (second)" if b is None else "")]
    diffs = []
    if a.get("status") != b.get("status"):
        return [f"status {a.get('status')} vs {b.get('status')}"]
    if a.get("status") != "success":
        if a.get("errorType") != b.get("errorType"):
            diffs.append(f"errorType {a.get('errorType')} vs {b.get('errorType')}")
        return diffs
    da, db = a.get("data") or {}, b.get("data") or {}
    ta, tb = da.get("resultType"), db.get("resultType")
    if ta != tb:
        return [f"resultType {ta} vs {tb}"]
    ra, rb = da.get("result"), db.get("result")
    if ta in ("scalar", "string"):
        if not isinstance(ra, list) or not isinstance(rb, list) or len(ra) != 2 or len(rb) != 2:
            return [f"malformed {ta}"]
        if fnum(ra[0]) != fnum(rb[0]):
            diffs.append(f"time {ra[0]} vs {rb[0]}")
        if ta == "scalar" and not values_equal(ra[1], rb[1], rel):
            diffs.append(f"value {ra[1]} vs {rb[1]}")
        if ta == "string" and ra[1] != rb[1]:
            diffs.append(f"string {ra[1]!r} vs {rb[1]!r}")
        return diffs
    ma = {_lkey(s.get("metric", {})): s for s in ra or []}
    mb = {_lkey(s.get("metric", {})): s for s in rb or []}
    if len(ma) != len(ra or []) or len(mb) != len(rb or []):
        diffs.append("duplicate label sets in a result")
    for k in sorted(set(ma) - set(mb)):
        diffs.append(f"series only in first: {dict(k)}")
    for k in sorted(set(mb) - set(ma)):
        diffs.append(f"series only in second: {dict(k)}")
    for k in sorted(set(ma) & set(mb)):
        sa, sb = ma[k], mb[k]
        if ta == "vector":
            va, vb = sa.get("value"), sb.get("value")
            if fnum(va[0]) != fnum(vb[0]):
                diffs.append(f"{dict(k)}: time {va[0]} vs {vb[0]}")
            if not values_equal(va[1], vb[1], rel):
                diffs.append(f"{dict(k)}: value {va[1]} vs {vb[1]}")
        else:
            pa = {fnum(t): v for t, v in sa.get("values", [])}
            pb = {fnum(t): v for t, v in sb.get("values", [])}
            if set(pa) != set(pb):
                only_a = sorted(set(pa) - set(pb))[:5]
                only_b = sorted(set(pb) - set(pa))[:5]
                diffs.append(f"{dict(k)}: timestamps differ (first only {only_a}, "
                             f"second only {only_b})")
            bad = [t for t in sorted(set(pa) & set(pb)) if not values_equal(pa[t], pb[t], rel)]
            for t in bad[:3]:
                diffs.append(f"{dict(k)}: at {t}: {pa[t]} vs {pb[t]}")
            if len(bad) > 3:
                diffs.append(f"{dict(k)}: {len(bad) - 3} more values differ")
    return diffs


def agent_stored(port, input_name="rw"):
    """(points stored, points dropped) by the agent's remote-write input, from
    its /metrics: how far a load has got when no PromQL count is available."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    stored = dropped = 0.0
    for line in text.splitlines():
        if f'input="{input_name}"' not in line:
            continue
        if line.startswith("flowdb_input_records_stored_total{"):
            stored += float(line.rsplit(" ", 1)[1])
        elif line.startswith("flowdb_input_points_dropped_total{"):
            dropped += float(line.rsplit(" ", 1)[1])
    return stored, dropped


def proc_status(pid, keys=("VmRSS", "VmHWM")):
    """{key: KiB} from /proc/PID/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out
