#!/bin/bash
# Points stored per second over the HTTP input's /api/v2/write: 2 concurrent
# curl clients, each sending 100 bodies of 5,000 lines (2 fields a line) over
# one curl process (no per-request process start), against a flowdb-agent on
# 127.0.0.1 with its data in a temporary directory. Prints stored points/s
# (flowdb_input_records_stored_total / 2 over the wall time of the load; a
# 204 means stored), the p50/p99 request latency (curl time_total) and the
# agent's max RSS. The agent is stopped by its pid.
#
#   tests/bench/http_write_bench.sh BUILD_DIR [RUNS] [PORT]
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [RUNS] [PORT]}
runs=${2:-3}
port=${3:-19108}
work=$(mktemp -d)
trap 'kill -TERM "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
base = 1700000000000000000
for c in range(2):
    for r in range(100):
        lines = []
        for i in range(5000):
            n = (c * 100 + r) * 5000 + i
            lines.append(f"bench,host=h{i % 100},client=c{c} v={n}i,f={i * 0.5} {base + n * 1000}")
        with open(f"{work}/c{c}_{r}.lp", "w") as f:
            f.write("\n".join(lines) + "\n")
PY
cat > "$work/agent.yaml" <<YAML
storage:
  data_dir: $work/data
http:
  listen: 127.0.0.1:$port
inputs:
  http:
    - name: influx
log:
  level: warn
YAML
"$build/agent/flowdb-agent" --config "$work/agent.yaml" > "$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/ping" && break
  sleep 0.1
done

client() {
  local c=$1 args=()
  for r in $(seq 0 99); do
    [ "$r" -gt 0 ] && args+=(--next)
    args+=(-s -o /dev/null -w "%{http_code} %{time_total}\n" -XPOST
           --data-binary "@$work/c${c}_${r}.lp" "http://127.0.0.1:$port/api/v2/write?precision=ns")
  done
  curl "${args[@]}" >> "$work/lat_$c.txt"
}
stored() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^flowdb_input_records_stored_total\{input="influx"\}/ {v=$2} END {print v+0}'
}

for run in $(seq "$runs"); do
  rm -f "$work"/lat_*.txt
  before=$(stored)
  start=$(date +%s.%N)
  client 0 & c0=$!
  client 1 & c1=$!
  wait "$c0" "$c1"
  end=$(date +%s.%N)
  after=$(stored)
  codes=$(cat "$work"/lat_*.txt | awk '{print $1}' | sort | uniq -c | tr -s ' \n' ' ')
  lat=$(cat "$work"/lat_*.txt | awk '{print $2}' | sort -n |
        awk '{a[NR]=$1} END {printf "p50 %.1f ms, p99 %.1f ms", a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000}')
  python3 -c "import sys; b,a,s,e=map(float,sys.argv[1:]); print(f'run $run: {(a-b)/2:.0f} points stored in {e-s:.2f} s = {(a-b)/2/(e-s):,.0f} points/s; $lat; statuses:$codes')" \
    "$before" "$after" "$start" "$end"
done
grep VmHWM "/proc/$agent_pid/status"
