#!/usr/bin/env bash
# check-systemd-unit.sh UNIT AGENT_BIN
# systemd-analyze verify of the shipped unit (with ExecStart pointing at the
# built binary, since /usr/bin/flowdb-agent is not installed here), and its
# security exposure: must stay below 3.0 ("OK" or better; threshold is x10).
set -euo pipefail
unit=${1:?unit}; bin=${2:?agent binary}
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (Debian package systemd)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/bin/flowdb-agent|$bin|g" "$unit" > "$work/flowdb-agent.service"
out=$(systemd-analyze verify "$work/flowdb-agent.service" 2>&1) || { echo "$out"; exit 1; }
# verify exits 0 on some warnings; any output about our unit is a finding.
if grep -q 'flowdb-agent.service' <<<"$out"; then echo "$out"; exit 1; fi
systemd-analyze security --offline=yes --threshold=29 "$work/flowdb-agent.service" | tail -n 1
