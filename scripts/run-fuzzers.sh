#!/usr/bin/env bash
# Runs every fuzz_* harness in build dir $1 for $2 seconds, seeded from
# fuzz/corpus/<name>/ when present. Fails on the first crash.
# With a third argument (`make fuzz-long`), each harness stops at that many
# executions or at $2 seconds, whichever comes first, and the inputs that
# found new coverage are merged back into fuzz/corpus/<name>/ (libFuzzer's
# -merge=1 keeps only those, so the corpus stays small).
# FUZZERS="fuzz_http fuzz_sidecar" limits the run to those harnesses.
set -euo pipefail
dir=$1; secs=${2:-20}; runs=${3:-}
cd "$(dirname "$0")/.."
shopt -s nullglob
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  [ -z "${FUZZERS:-}" ] || [[ " $FUZZERS " == *" $name "* ]] || continue
  work="$dir/corpus-run/$name"; mkdir -p "$work"
  limits=(-max_total_time="$secs")
  [ -n "$runs" ] && { limits+=(-runs="$runs"); mkdir -p "fuzz/corpus/$name"; }
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  echo "== $name for ${secs}s${runs:+ or $runs runs}"
  "$bin" "${limits[@]}" -max_len=4096 -print_final_stats=0 "$work" "${seeds[@]}" \
    -artifact_prefix="$dir/" 2>"$dir/$name.log" || { tail -50 "$dir/$name.log"; exit 1; }
  if [ -n "$runs" ]; then
    grep -E '^Done [0-9]+ runs' "$dir/$name.log" || true  # how far it got
    "$bin" -merge=1 -max_len=4096 "fuzz/corpus/$name" "$work" 2>"$dir/$name.merge.log" ||
      { tail -20 "$dir/$name.merge.log"; exit 1; }
    echo "   fuzz/corpus/$name: $(ls "fuzz/corpus/$name" | wc -l) inputs"
  fi
done
echo "fuzzers: all passed"
