#!/usr/bin/env bash
# The whole test suite, as `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
# Each stage's heading says when it began (seconds since the start), so a
# slow or failing CI run shows where its time went.
stage() { echo "== $1 (at $((SECONDS - start)) s, $(date -u +%T))"; }
# The unit tests run once, under ASan+UBSan: building them a second time
# without sanitizers would cost CI's two cores about five minutes for what
# the sanitized run already checks (`make unit` runs them so; one test, a
# server out of file descriptors, runs only there, as the sanitizers' runtime
# needs descriptors of its own).
# The optimised build is the server and the load generator, for the e2e tests.
stage "build (server, load generator)"
make --no-print-directory e2e-build
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
