#!/usr/bin/env bash
# Runs each end-to-end test file in its own node process under a hard time
# limit, so that one file that hangs (a browser that never closes, a server
# that never answers) costs at most E2E_FILE_SECONDS, is named, and the other
# files still run. Every test without a timeout of its own gets
# E2E_TEST_SECONDS. Exits non-zero when any file failed or timed out.
# Usage (from tests/e2e, inside the test namespace): e2e-each.sh [file...]
set -uo pipefail
file_limit=${E2E_FILE_SECONDS:-900}
test_limit=${E2E_TEST_SECONDS:-240}
if [ $# -eq 0 ]; then set -- ./*.test.mjs; fi
failed=()
start=$SECONDS
for f in "$@"; do
  t0=$SECONDS
  echo "== e2e: $f"
  timeout -k 15 "$file_limit" node --test --test-concurrency=1 --test-reporter=spec \
    --test-timeout=$((test_limit * 1000)) "$f"
  rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "== e2e: $f did not finish within ${file_limit} s: stopped" >&2
    failed+=("$f (timed out)")
  elif [ $rc -ne 0 ]; then
    failed+=("$f")
  fi
  echo "== e2e: $f took $((SECONDS - t0)) s"
done
echo "== e2e: $# files in $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  printf '== e2e failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
