#!/bin/bash
# Agent RSS, CPU, flushes and compaction at a paced UDP rate (issue 21; BENCHMARKS.md "Agent
# memory and compaction at 100K points/s").
#   tests/bench/agent_memory.sh BUILD_DIR ["<extra storage: lines>"]
# Env: RATE (lines/s, default 100000), DUR (s, default 30), SERIES (default 10000).
# Everything runs on 127.0.0.1 with ports picked at random; the agent is stopped by pid.
set -euo pipefail
build=$(realpath "$1")
extra=${2:-}
work=$(mktemp -d /tmp/agent-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
hport=$((port + 1))
cat >"$work/a.yaml" <<EOT
storage:
  data_dir: $work/data
$(printf '%b' "$extra")
inputs:
  udp:
    - name: udp
      listen: ["127.0.0.1:$port"]
      read_buffer: 32MiB
http:
  listen: 127.0.0.1:$hport
log:
  level: warn
  status_interval: 0s
EOT
"$build/agent/flowdb-agent" --config "$work/a.yaml" >"$work/agent.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$hport/ready" >/dev/null && break; sleep 0.1; done
"$build/tests/bench/flowdb-loadgen" --mode udp --port "$port" --rate "${RATE:-100000}" \
  --duration "${DUR:-30}" --lines-per-datagram 50 --series "${SERIES:-10000}" >"$work/lg.log" 2>&1 &
lg=$!
max=0 maxa=0
while kill -0 $lg 2>/dev/null; do
  r=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  a=$(awk '/RssAnon/{print $2}' /proc/$pid/status)
  ((r > max)) && max=$r
  ((a > maxa)) && maxa=$a
  sleep 0.25
done
m=$(curl -s "127.0.0.1:$hport/metrics")
cpu=$(awk '{print ($14 + $15) / 100}' /proc/$pid/stat)
kill $pid
wait $pid || true
get() { awk -v k="$1" '$1 == k {s += $2} END {print s + 0}' <<<"$m"; }
echo "max_rss_MiB=$((max / 1024)) max_anon_MiB=$((maxa / 1024)) cpu_s=$cpu" \
  "lines_received=$(get 'flowdb_input_points_received_total{input="udp"}')" \
  "flushes=$(get flowdb_engine_flushes_total)" \
  "compaction_read_MB=$(($(get flowdb_engine_compaction_read_bytes_total | cut -d. -f1) / 1000000))" \
  "write_stalls=$(get flowdb_engine_write_stalls_total)"
