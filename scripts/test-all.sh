#!/usr/bin/env bash
# The whole test suite, as `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
start=$SECONDS
# Each stage's heading says when it began (seconds since the start), so a
# slow or failing CI run shows where its time went.
stage() { echo "== $1 (at $((SECONDS - start)) s, $(date -u +%T))"; }
stage "build"
make --no-print-directory build
stage "unit tests"
(cd build && ctest --output-on-failure -j "$jobs" -L unit)
stage "unit tests under ASan+UBSan"
make --no-print-directory asan
stage "fuzzers (short)"
make --no-print-directory fuzz
if [ -x scripts/run-e2e.sh ]; then
  stage "end to end"
  scripts/run-e2e.sh build
  stage "end to end, the server under ASan+UBSan"
  make --no-print-directory asan-e2e
  stage "end to end, the server under ThreadSanitizer"
  make --no-print-directory tsan-e2e
fi
echo "== all tests passed in $((SECONDS - start)) s"
