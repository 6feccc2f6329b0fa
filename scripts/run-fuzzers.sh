#!/usr/bin/env bash
# Runs every fuzz_* harness in build dir $1 for $2 seconds, seeded from
# fuzz/corpus/<name>/ when present, FUZZ_JOBS (default: the core count) at a
# time. Fails when any harness finds a crash, printing that harness's log.
# With a third argument (`make fuzz-long`), each harness stops at that many
# executions or at $2 seconds, whichever comes first, and the inputs that
# found new coverage are merged back into fuzz/corpus/<name>/ (libFuzzer's
# -merge=1 keeps only those, so the corpus stays small).
# FUZZERS="fuzz_http fuzz_sidecar" limits the run to those harnesses.
set -euo pipefail
dir=$1; secs=${2:-20}; runs=${3:-}
cd "$(dirname "$0")/.."
jobs=${FUZZ_JOBS:-$(nproc)}
shopt -s nullglob

# One harness, start to end; its output goes to $dir/<name>.out so parallel
# runs do not interleave.
run_one() {
  local bin=$1 name work limits seeds
  name=$(basename "$bin")
  work="$dir/corpus-run/$name"; mkdir -p "$work"
  limits=(-max_total_time="$secs")
  [ -n "$runs" ] && { limits+=(-runs="$runs"); mkdir -p "fuzz/corpus/$name"; }
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  echo "== $name for ${secs}s${runs:+ or $runs runs}"
  "$bin" "${limits[@]}" -max_len=4096 -print_final_stats=0 "$work" "${seeds[@]}" \
    -artifact_prefix="$dir/" 2>"$dir/$name.log" || { tail -50 "$dir/$name.log"; return 1; }
  if [ -n "$runs" ]; then
    grep -E '^Done [0-9]+ runs' "$dir/$name.log" || true  # how far it got
    "$bin" -merge=1 -max_len=4096 "fuzz/corpus/$name" "$work" 2>"$dir/$name.merge.log" ||
      { tail -20 "$dir/$name.merge.log"; return 1; }
    echo "   fuzz/corpus/$name: $(ls "fuzz/corpus/$name" | wc -l) inputs"
  fi
}

names=()
declare -A pid_of
failed=0
finish() {  # waits for one harness and prints what it said
  local done_pid=$1 name=$2 rc=0
  wait "$done_pid" || rc=$?
  cat "$dir/$name.out"
  [ "$rc" -eq 0 ] || { echo "== $name FAILED"; failed=1; }
}
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  [ -z "${FUZZERS:-}" ] || [[ " $FUZZERS " == *" $name "* ]] || continue
  if [ "${#names[@]}" -ge "$jobs" ]; then  # the oldest of the running ones
    finish "${pid_of[${names[0]}]}" "${names[0]}"
    names=("${names[@]:1}")
  fi
  run_one "$bin" >"$dir/$name.out" 2>&1 &
  pid_of[$name]=$!
  names+=("$name")
done
for name in "${names[@]}"; do finish "${pid_of[$name]}" "$name"; done
[ "$failed" -eq 0 ] || { echo "fuzzers: a harness failed"; exit 1; }
echo "fuzzers: all passed"
