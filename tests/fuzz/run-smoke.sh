#!/usr/bin/env bash
# Fuzz smoke: builds the `fuzz` preset and runs every libFuzzer harness for a
# fixed time over a COPY of its seed corpus (tests/fuzz/corpus/<target>/ is
# never written). Fails if any target crashes, leaks, hangs or breaks an
# invariant; prints the executions per target.
#
#   FUZZ_SECONDS=30      seconds per target
#   FUZZ_TARGETS="wal table"   a subset (default: all)
#   FUZZ_NO_BUILD=1      use the existing build/fuzz
#   FUZZ_KEEP=DIR        keep the run directories (logs, grown corpora, crashes) under DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-"wal manifest table block key_codec line_protocol json config"}

# Largest input per target: logs span a few 32 KiB blocks; the rest are small.
max_len_of() {
  case $1 in
    wal | manifest) echo 100000 ;;
    table) echo 16384 ;;
    config) echo 8192 ;;
    key_codec) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

if [[ -z ${FUZZ_NO_BUILD:-} ]]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j2
fi

work=${FUZZ_KEEP:-$(mktemp -d /tmp/flowdb-fuzz.XXXXXX)}
mkdir -p "$work"
[[ -n ${FUZZ_KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for t in $targets; do
  bin=$root/build/fuzz/tests/fuzz/fuzz_$t
  seeds=$root/tests/fuzz/corpus/$t
  [[ -x $bin ]] || { echo "fuzz $t: no harness at $bin" >&2; failed+=("$t"); continue; }
  [[ -d $seeds ]] || { echo "fuzz $t: no seed corpus at $seeds" >&2; failed+=("$t"); continue; }
  dir=$work/$t
  rm -rf "$dir" && mkdir -p "$dir/corpus" "$dir/crash"
  cp -r "$seeds/." "$dir/corpus/"
  rc=0
  (cd "$dir" && "$bin" -max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout=10 \
     -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/crash/" corpus) \
    >"$dir/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  [[ -n $execs ]] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/log" | tail -1)
  if [[ $rc -ne 0 ]]; then
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} executions; log tail:"
    tail -40 "$dir/log"
    for a in "$dir"/crash/*; do
      [[ -f $a ]] || continue
      echo "  artifact $(basename "$a") ($(stat -c %s "$a") bytes), base64:"
      head -c 4096 "$a" | base64 | sed 's/^/    /'
    done
    failed+=("$t")
  else
    echo "fuzz $t: ok, ${execs:-?} executions in ${seconds}s, corpus $(ls "$dir/corpus" | wc -l) inputs"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz smoke: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz smoke: all ${seconds}s runs clean"
