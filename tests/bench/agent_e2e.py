#!/usr/bin/env python3
"""flowdb-agent end to end: UDP and MQTT ingest rates, loss, receipt-to-stored
latency, CPU and RSS, and the ingest cost of a running export.

Starts everything itself on 127.0.0.1 and free ports (the agent, mosquitto,
victoria-metrics), drives it with flowdb-loadgen, reads the agent's /metrics
and /proc, stops every process by pid. Prints one Markdown table per scenario.

  tests/bench/agent_e2e.py --build build/release [--duration 20] [--runs 3]
      [--scenarios udp_max,udp_100k,mqtt,mqtt_burst,export_cost]
      [--mqtt-lines 50] [--mqtt-qos 1] [--max-unstored 256]
      [--mqtt-connections 1,2] [--mqtt-protocol 5]
      [--burst 20000] [--burst-unstored 256,0]

mqtt_burst: a stock mosquitto (no settings: max_queued_messages 1000,
max_inflight_messages 20), `mosquitto_pub -q 1 -l` of --burst one-line
messages as fast as it goes, received back to back by a plain `mosquitto_sub
-q 1 -c` and by the agent (QoS 1, persistent session), --runs times each.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)  # polling cadence of an external process; no event to await
    raise RuntimeError(f"timed out waiting for {what}")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def metric_sum(m, prefix):
    """Sum of every sample whose name (with labels) starts with prefix."""
    return sum(v for k, v in m.items() if k.startswith(prefix))


def hist_quantile(before, after, name, q):
    """q-quantile of a Prometheus histogram's increase between two scrapes
    (upper bound of the bucket where it falls)."""
    buckets = []
    for k, v in after.items():
        mt = re.fullmatch(name + r'_bucket\{(?:[^}]*,)?le="([^"]+)"\}', k)
        if mt:
            le = float("inf") if mt.group(1) == "+Inf" else float(mt.group(1))
            buckets.append((le, v - before.get(k, 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return float("nan")
    total = buckets[-1][1]
    for le, c in buckets:
        if c >= q * total:
            return le
    return float("inf")


class Proc:
    def __init__(self, argv, log, env=None):
        self.log = open(log, "w")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def proc_rss_mib(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class Agent:
    def __init__(self, build, work, udp=None, mqtt=None, export_url=None, sync="interval",
                 mqtt_qos=1, max_unstored=None, topics="loadgen/#", connections=1,
                 protocol=None):
        self.http = free_port()
        self.udp = udp
        self.dir = work
        cfg = [
            "storage:",
            f"  data_dir: {work}/data",
            f"  sync: {sync}",
            "inputs:",
        ]
        if udp:
            cfg += ["  udp:", "    - name: udp", f'      listen: ["127.0.0.1:{udp}"]',
                    "      read_buffer: 32MiB"]
        if mqtt:
            cfg += ["  mqtt:", "    - name: mqtt", f'      brokers: ["tcp://127.0.0.1:{mqtt}"]',
                    f'      topics: ["{topics}"]', f"      qos: {mqtt_qos}",
                    "      client_id: e2e-agent", "      clean_session: false"]
            if max_unstored is not None:
                cfg += [f"      max_unstored: {max_unstored}"]
            if connections != 1:
                cfg += [f"      connections: {connections}"]
            if protocol is not None:
                cfg += [f"      protocol: {protocol}"]
        if export_url:
            cfg += ["exports:", "  - type: influx_http", "    name: vm", f"    url: {export_url}",
                    "    api: v2", "    bucket: e2e"]
        cfg += ["http:", f"  listen: 127.0.0.1:{self.http}", "log:", "  level: warn",
                "  status_interval: 0s"]
        with open(f"{work}/agent.yaml", "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.proc = Proc([f"{build}/agent/flowdb-agent", "--config", f"{work}/agent.yaml"],
                         f"{work}/agent.log")
        wait_until(lambda: http_get(self.http, "/ready")[0] == 200, 30, "agent /ready")

    @property
    def pid(self):
        return self.proc.p.pid

    def metrics(self):
        return parse_metrics(http_get(self.http, "/metrics")[1])

    def stop(self):
        rc = self.proc.stop()
        if rc != 0:
            raise RuntimeError(f"agent exited with {rc}; see {self.dir}/agent.log")


class Sampler:
    """Samples a pid's RSS while a load runs (reporting cadence only)."""

    def __init__(self, pid):
        self.pid = pid
        self.rss = []

    def sample(self):
        self.rss.append(proc_rss_mib(self.pid))


def run_load(argv, sampler, log):
    with open(log, "w") as lf:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=lf, text=True)
        while p.poll() is None:
            sampler.sample()
            time.sleep(0.2)
        out = p.stdout.read()
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({p.returncode}): {out}")
    return dict(kv.split("=", 1) for kv in out.split())


def drain(agent, key_received, fields):
    """Waits until everything received is stored or dropped."""
    def settled():
        m = agent.metrics()
        rec = metric_sum(m, key_received)
        stored = metric_sum(m, "flowdb_input_records_stored_total") / fields
        dropped = metric_sum(m, "flowdb_input_points_dropped_total")
        return rec > 0 and stored + dropped >= rec and m.get("flowdb_queue_points", 0) == 0
    wait_until(settled, 120, "the agent to store what it received")


def ingest_run(args, work, load_argv, key_received, agent_kw, label, upstream_pid=None):
    """One agent, one load; returns the figures of that run (upstream_pid: a
    server on the same cores whose CPU use is reported beside the agent's)."""
    agent = Agent(args.build, work, **agent_kw)
    up_cpu = (lambda: proc_cpu_s(upstream_pid)) if upstream_pid else (lambda: 0.0)
    try:
        m0 = agent.metrics()
        cpu0, up0, t0 = proc_cpu_s(agent.pid), up_cpu(), time.monotonic()
        sampler = Sampler(agent.pid)
        load = run_load(load_argv, sampler, f"{work}/load.log")
        drain(agent, key_received, 2)
        t1, cpu1, up1 = time.monotonic(), proc_cpu_s(agent.pid), up_cpu()
        m1 = agent.metrics()
        sampler.sample()
    finally:
        agent.stop()
    sent = int(load["lines"])
    stored = (metric_sum(m1, "flowdb_input_records_stored_total") -
              metric_sum(m0, "flowdb_input_records_stored_total")) / 2  # 2 fields per line
    dropped = metric_sum(m1, "flowdb_input_points_dropped_total")
    load_s = float(load["seconds"])
    return {
        "run": label,
        "sent_pt/s": sent / load_s,
        "stored_pt/s": stored / (t1 - t0),
        "stored": stored,
        "loss_%": 100.0 * (sent - stored) / sent,
        "dropped": dropped,
        "p99_ms": 1000 * hist_quantile(m0, m1, "flowdb_ingest_latency_seconds", 0.99),
        "cpu_cores": (cpu1 - cpu0) / (t1 - t0),
        "upstream_cpu_cores": (up1 - up0) / (t1 - t0),
        "rss_max_MiB": max(sampler.rss),
        "rss_median_MiB": statistics.median(sampler.rss),
        "export_sent": metric_sum(m1, "flowdb_export_points_sent_total") -
                       metric_sum(m0, "flowdb_export_points_sent_total"),
        "export_lag_end": m1.get('flowdb_export_lag_points{export="vm",type="influx_http"}',
                                 float("nan")),
    }


def loadgen(args):
    return f"{args.build}/tests/bench/flowdb-loadgen"


def udp_argv(args, port, rate):
    return [loadgen(args), "--mode", "udp", "--port", str(port), "--rate", str(rate),
            "--duration", str(args.duration), "--lines-per-datagram", "50",
            "--series", str(args.series)]


def start_mosquitto(work, settings="persistence false\nmax_queued_messages 1000000\n"
                    "max_inflight_messages 1000\n", name="mosquitto"):
    port = free_port()
    conf = f"{work}/{name}.conf"
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n{settings}")
    p = Proc(["mosquitto", "-c", conf], f"{work}/{name}.log")

    def accepts():
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    wait_until(accepts, 10, "mosquitto")
    return p, port


def start_vm(work):
    port = free_port()
    p = Proc(["victoria-metrics", f"-storageDataPath={work}/vm", f"-httpListenAddr=127.0.0.1:{port}",
              "-loggerLevel=WARN"], f"{work}/vm.log")
    wait_until(lambda: http_get(port, "/health")[0] == 200, 30, "victoria-metrics")
    return p, port


def table(title, rows, cols):
    print(f"\n### {title}\n")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            cells.append(v if isinstance(v, str) else f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}")
        print("| " + " | ".join(cells) + " |")
    sys.stdout.flush()


COLS = ["run", "sent_pt/s", "stored_pt/s", "loss_%", "dropped", "p99_ms", "cpu_cores",
        "rss_max_MiB"]


def udp_runs(args, rate, label):
    """args.runs fresh agents, each sent UDP at `rate` (0 = unpaced)."""
    rows = []
    for r in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="e2e-") as w:
            port = free_port(socket.SOCK_DGRAM)
            rows.append(ingest_run(args, w, udp_argv(args, port, rate),
                                   "flowdb_input_points_received_total", {"udp": port},
                                   f"{label} #{r + 1}"))
    return rows


def scenario_udp(args, rate, title):
    rows = udp_runs(args, rate, "udp")
    table(title, rows, COLS)
    return rows


def scenario_sweep(args):
    """Paced UDP rates: the sustained rate is the highest one stored with < 1% loss
    (an unpaced sender takes a core from the agent on a small machine)."""
    rows = []
    for rate in (int(x) for x in args.udp_rates.split(",")):
        rows += udp_runs(args, rate, f"{rate / 1000:g}K/s")
    table("UDP at paced rates (50 lines/datagram)", rows, COLS)
    return rows


def mqtt_agent_run(args, w, pub_argv, port, label, connections=1):
    """The agent behind the same publisher: its rate from the first to the last
    stored point (sampled every 50 ms), as the discarding subscriber's is from
    its first to its last message. `connections` clients share the
    subscription ($share/...), each with its own session (client id -1..-N)."""
    work = f"{w}/agent-c{connections}"
    os.makedirs(work)
    agent = Agent(args.build, work, mqtt=port, mqtt_qos=args.mqtt_qos,
                  max_unstored=args.max_unstored, connections=connections,
                  protocol=args.mqtt_protocol)
    rss = []
    try:
        m0 = agent.metrics()
        cpu0 = proc_cpu_s(agent.pid)
        with open(f"{w}/pub1.log", "w") as lf:
            pub = subprocess.Popen(pub_argv, stdout=subprocess.PIPE, stderr=lf, text=True)

            def stored():
                rss.append(proc_rss_mib(agent.pid))
                return metric_sum(agent.metrics(), "flowdb_input_records_stored_total") / 2
            got, t_first, t_last = settle_count(stored, period=0.05, idle_s=2)
            out, _ = pub.communicate(timeout=60)
        cpu1 = proc_cpu_s(agent.pid)
        m1 = agent.metrics()
    finally:
        agent.stop()
    load = dict(kv.split("=", 1) for kv in out.split())
    return {"run": label, "connections": connections, "sent_pt/s": float(load["lines_per_s"]),
            "stored": got,
            "agent_pt/s": got / max(t_last - t_first, 1e-9),
            "handler_p99_us": 1e6 * hist_quantile(m0, m1, "flowdb_mqtt_handler_seconds", 0.99),
            "gap_max_ms": 1000 * metric_sum(m1, "flowdb_mqtt_message_gap_max_seconds"),
            "cpu_cores": (cpu1 - cpu0) / max(t_last - t_first, 1e-9), "rss_max_MiB": max(rss)}


def scenario_mqtt(args):
    rows = []
    for r in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="e2e-") as w:
            mosq, port = start_mosquitto(w)
            try:
                broker = f"tcp://127.0.0.1:{port}"
                qos = str(args.mqtt_qos)
                pub = [loadgen(args), "--mode", "mqtt-pub", "--broker", broker, "--qos", qos, "--rate", "0",
                       "--duration", str(args.duration), "--lines-per-message", str(args.mqtt_lines),
                       "--clients", "2", "--window", "100", "--series", str(args.series),
                       "--topic", "loadgen/cpu"]
                # Baseline: what mosquitto delivers to a subscriber that discards.
                sub = subprocess.Popen([loadgen(args), "--mode", "mqtt-sub", "--broker", broker,
                                        "--qos", qos, "--topic", "loadgen/#", "--idle", "2",
                                        "--client-id", f"discard-{r}"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                line = sub.stderr.readline()  # "subscribed to ..." once it is
                if "subscribed" not in line:
                    raise RuntimeError(f"discarding subscriber: {line}")
                run_load(pub, Sampler(os.getpid()), f"{w}/pub0.log")
                out, _ = sub.communicate(timeout=60)
                base = dict(kv.split("=", 1) for kv in out.split())
                # Each connection count behind the same publisher, back to back
                # with the one baseline of this run.
                for n in (int(x) for x in args.mqtt_connections.split(",")):
                    row = mqtt_agent_run(args, w, pub, port, f"mqtt #{r + 1}", n)
                    row["discard_sub_lines"] = float(base["lines"])
                    row["discard_sub_pt/s"] = float(base["lines_per_s"])
                    row["agent/discard"] = row["agent_pt/s"] / row["discard_sub_pt/s"]
                    rows.append(row)
            finally:
                mosq.stop()
    unstored = "default" if args.max_unstored is None else args.max_unstored
    proto = "3.1.1" if args.mqtt_protocol is None else args.mqtt_protocol
    table(f"MQTT {proto} (QoS {args.mqtt_qos}, {args.mqtt_lines} lines per message, 2 publishers, "
          f"max_unstored {unstored}) vs a discarding subscriber", rows,
          ["run", "connections", "sent_pt/s", "stored", "discard_sub_lines", "agent_pt/s", "discard_sub_pt/s",
           "agent/discard", "handler_p99_us", "gap_max_ms", "cpu_cores", "rss_max_MiB"])
    return rows


def start_stock_mosquitto(work):
    """mosquitto with no settings but a loopback listener and logging (the
    log shows when a subscriber is ready): its defaults, max_queued_messages
    1000 and max_inflight_messages 20, are what a new user has."""
    return start_mosquitto(work, "log_type error\nlog_type warning\nlog_type notice\n"
                           "log_type subscribe\n", name="stock")


def settle_count(count, idle_s=1.5, timeout=120, period=0.01):
    """Polls count() every 10 ms until it has not changed for idle_s; returns
    (final count, time of the first non-zero sample, time of the last change)."""
    base = count()
    last, first_t, last_t = base, None, time.monotonic()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        time.sleep(period)  # sampling cadence of an external process's counter
        n = count()
        now = time.monotonic()
        if n != last:
            if first_t is None:
                first_t = now
            last, last_t = n, now
        elif first_t is not None and now - last_t >= idle_s:
            break
    return last - base, first_t or last_t, last_t


def burst_pub(port, path):
    """Starts `mosquitto_pub -q 1 -l` of the burst file; the caller samples meanwhile."""
    with open(path) as f:
        return subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                                 "-t", "burst/a", "-l"], stdin=f)


def burst_sub_run(w, port, path, r):
    """A plain mosquitto_sub (persistent session, writing to a file)."""
    out = f"{w}/sub-{r}.out"
    with open(out, "w") as of:
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                                "-c", "-i", f"plain-sub-{r}", "-t", "burst/#"], stdout=of)

    def lines():
        with open(out, "rb") as f:
            return sum(1 for ln in f if ln.startswith(b"burst,"))

    def subscribed():
        with open(f"{w}/stock.log") as f:
            return f"plain-sub-{r} 1 burst/#" in f.read()
    try:
        wait_until(subscribed, 10, "mosquitto_sub's subscription")
        pub = burst_pub(port, path)
        _, t_first, t_last = settle_count(lines)  # stdout is block-buffered: progress
        if pub.wait(30) != 0:
            raise RuntimeError("mosquitto_pub failed")
    finally:
        sub.send_signal(signal.SIGTERM)
        sub.wait(10)
    got = lines()
    return {"run": f"mosquitto_sub #{r + 1}", "stored": got, "drain_s": t_last - t_first,
            "gap_max_ms": float("nan"), "handler_p99_us": float("nan"),
            "inflight_max": float("nan"), "rss_max_MiB": float("nan")}


def burst_agent_run(args, w, port, path, r, unstored):
    work = f"{w}/a{r}-{unstored}"
    os.makedirs(work)
    agent = Agent(args.build, work, mqtt=port, max_unstored=unstored, topics="burst/#")
    inflight_max, rss = [0.0], []
    try:
        m0 = agent.metrics()
        pub = burst_pub(port, path)

        def stored():
            m = agent.metrics()
            inflight_max[0] = max(inflight_max[0], metric_sum(m, "flowdb_mqtt_inflight"))
            rss.append(proc_rss_mib(agent.pid))
            return metric_sum(m, "flowdb_input_records_stored_total")
        got, t_first, t_last = settle_count(stored)
        if pub.wait(30) != 0:
            raise RuntimeError("mosquitto_pub failed")
        m1 = agent.metrics()
    finally:
        agent.stop()
    return {"run": f"agent max_unstored {unstored} #{r + 1}", "stored": got,
            "drain_s": t_last - t_first,
            "gap_max_ms": 1000 * metric_sum(m1, "flowdb_mqtt_message_gap_max_seconds"),
            "handler_p99_us": 1e6 * hist_quantile(m0, m1, "flowdb_mqtt_handler_seconds", 0.99),
            "inflight_max": inflight_max[0], "rss_max_MiB": max(rss)}


def scenario_mqtt_burst(args):
    """Unthrottled bursts through a stock broker: the agent (for each
    --burst-unstored value) and a plain mosquitto_sub, back to back."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="e2e-") as w:
        path = f"{w}/burst.txt"
        with open(path, "w") as f:
            for i in range(args.burst):
                f.write(f"burst,host=h{i % 100} v={i}i {1700000000000000000 + i * 1000}\n")
        mosq, port = start_stock_mosquitto(w)
        try:
            for r in range(args.runs):
                rows.append(burst_sub_run(w, port, path, r))
                for u in (int(x) for x in args.burst_unstored.split(",")):
                    rows.append(burst_agent_run(args, w, port, path, r, u))
        finally:
            mosq.stop()
    cols = ["run", "stored", "drain_s", "gap_max_ms", "handler_p99_us", "inflight_max",
            "rss_max_MiB"]
    table(f"Bursts of {args.burst:,} one-line QoS 1 messages (mosquitto_pub -l) through a stock "
          "mosquitto", rows, cols)
    kinds = sorted({x["run"].rsplit(" #", 1)[0] for x in rows})
    print("\n| subscriber | runs | stored min | stored median | drain best s | drain worst s | "
          "worst/best | longest gap ms |\n|---|---|---|---|---|---|---|---|")
    for k in kinds:
        rs = [x for x in rows if x["run"].rsplit(" #", 1)[0] == k]
        d = [x["drain_s"] for x in rs]
        st = [x["stored"] for x in rs]
        gap = max(x["gap_max_ms"] for x in rs)
        print(f"| {k} | {len(rs)} | {min(st):,.0f} | {statistics.median(st):,.0f} | "
              f"{min(d):.3f} | {max(d):.3f} | {max(d) / min(d):.2f} | {gap:.1f} |")
    return rows


def scenario_export_cost(args):
    rows = []
    for r in range(args.runs):
        for with_export in (False, True):  # alternating, so drift hits both alike
            with tempfile.TemporaryDirectory(prefix="e2e-") as w:
                vm = None
                kw = {"udp": free_port(socket.SOCK_DGRAM)}
                if with_export:
                    vm, vm_port = start_vm(w)
                    kw["export_url"] = f"http://127.0.0.1:{vm_port}"
                try:
                    row = ingest_run(args, w, udp_argv(args, kw["udp"], args.export_rate),
                                     "flowdb_input_points_received_total", kw,
                                     f"{'with' if with_export else 'without'} export #{r + 1}",
                                     upstream_pid=vm.p.pid if vm else None)
                finally:
                    if vm:
                        vm.stop()
                rows.append(row)
    table(f"UDP sent at {args.export_rate:,}/s with and without an influx_http export to "
          "VictoriaMetrics", rows,
          COLS + ["upstream_cpu_cores", "export_sent", "export_lag_end"])
    base = statistics.median(x["stored_pt/s"] for x in rows if x["run"].startswith("without"))
    exp = statistics.median(x["stored_pt/s"] for x in rows if x["run"].startswith("with "))
    print(f"\nmedian stored pt/s without export {base:,.0f}, with export {exp:,.0f}: "
          f"ingest cost of exporting {100 * (1 - exp / base):.1f}%")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--series", type=int, default=10000)
    ap.add_argument("--scenarios", default="udp_max,udp_sweep,udp_100k,mqtt,export_cost")
    ap.add_argument("--export-rate", type=int, default=1000000,
                    help="UDP send rate of export_cost, above what the agent stores")
    ap.add_argument("--udp-rates", default="250000,500000,750000,1000000")
    ap.add_argument("--mqtt-lines", type=int, default=50, help="lines per message (mqtt)")
    ap.add_argument("--mqtt-qos", type=int, default=1, choices=(0, 1, 2))
    ap.add_argument("--mqtt-connections", default="1",
                    help="comma-separated connections: values the agent runs with (mqtt)")
    ap.add_argument("--mqtt-protocol", default=None, choices=("3.1.1", "5"),
                    help="the agent's protocol (mqtt; default: the agent's default, 3.1.1)")
    ap.add_argument("--max-unstored", type=int, default=None,
                    help="the agent's max_unstored (mqtt; default: the agent's default)")
    ap.add_argument("--burst", type=int, default=20000, help="messages per burst (mqtt_burst)")
    ap.add_argument("--burst-unstored", default="256,0",
                    help="max_unstored values the agent runs with (mqtt_burst)")
    args = ap.parse_args()
    for tool in ("mosquitto", "victoria-metrics"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    print(f"agent end to end: duration {args.duration:g} s per run, {args.runs} runs, "
          f"{args.series} series, build {args.build}")
    for s in args.scenarios.split(","):
        if s == "udp_max":
            scenario_udp(args, 0, "UDP at the load generator's maximum rate (50 lines/datagram)")
        elif s == "udp_sweep":
            scenario_sweep(args)
        elif s == "udp_100k":
            scenario_udp(args, 100000, "UDP at 100K points/s")
        elif s == "mqtt":
            scenario_mqtt(args)
        elif s == "mqtt_burst":
            scenario_mqtt_burst(args)
        elif s == "export_cost":
            scenario_export_cost(args)
        else:
            sys.exit(f"unknown scenario {s}")


if __name__ == "__main__":
    main()
