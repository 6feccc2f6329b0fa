#!/usr/bin/env bash
# The whole test suite, as `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
echo "== build"
make --no-print-directory build
echo "== unit tests"
(cd build && ctest --output-on-failure -j "$jobs" -L unit)
echo "== unit tests under ASan+UBSan"
make --no-print-directory asan
echo "== fuzzers (short)"
make --no-print-directory fuzz
if [ -x scripts/run-e2e.sh ]; then
  echo "== end to end"
  scripts/run-e2e.sh build
  echo "== end to end, the server under ASan+UBSan"
  make --no-print-directory asan-e2e
fi
echo "== all tests passed"
