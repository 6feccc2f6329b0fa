#!/usr/bin/env bash
# Runs every fuzz_* harness in build dir $1 for $2 seconds, seeded from
# fuzz/corpus/<name>/ when present. Fails on the first crash.
set -euo pipefail
dir=$1; secs=${2:-20}
cd "$(dirname "$0")/.."
shopt -s nullglob
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  work="$dir/corpus-run/$name"; mkdir -p "$work"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  echo "== $name for ${secs}s"
  "$bin" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 "$work" "${seeds[@]}" \
    -artifact_prefix="$dir/" 2>"$dir/$name.log" || { tail -50 "$dir/$name.log"; exit 1; }
done
echo "fuzzers: all passed"
