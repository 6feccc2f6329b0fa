#!/usr/bin/env bash
# End-to-end tests (headless Chromium, real HTTP/UDP) inside a private network
# namespace that has only loopback, so no test traffic can leave the machine.
# Usage: scripts/run-e2e.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
export LSS_BIN="$PWD/$build/live-stream-server"
cd tests/e2e
run='ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs'
if unshare -n true 2>/dev/null; then
  exec unshare -n bash -c "$run"
fi
echo "warning: cannot create a network namespace (not root?); running on the host's loopback" >&2
exec bash -c "${run#*&& }"
