#!/usr/bin/env bash
# End-to-end tests (headless Chromium, GStreamer's webrtcbin, real HTTP/UDP)
# inside a private network namespace that has only loopback and a veth pair
# of its own, so no test traffic can leave the machine.
# Usage: scripts/run-e2e.sh [build-dir] [test files, from tests/e2e]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
root=$PWD
export LSS_BIN="$root/$build/live-stream-server"
cd tests/e2e
# One node process per file, each under a hard time limit (scripts/e2e-each.sh).
tests="exec $root/scripts/e2e-each.sh $*"
# libnice (GStreamer) ignores the loopback interface: give it 127.0.0.2 on a
# veth pair that exists only inside the namespace (gstreamer.test.mjs skips
# without it). Its UPnP multicast cannot leave the namespace either. The
# unique-local fd00:6c73::2 is for IPv6 media (addresses.test.mjs): Chromium
# gathers no candidate on ::1.
veth='ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && ip addr add 127.0.0.2/32 dev v0 && { ip -6 addr add fd00:6c73::2/128 dev v0 nodad || echo "warning: no IPv6 on v0; the IPv6 tests will be skipped" >&2; }'
if unshare -n true 2>/dev/null; then
  exec unshare -n bash -c "ip link set lo up && { $veth || echo 'warning: no veth pair with 127.0.0.2; the GStreamer tests will be skipped' >&2; } && $tests"
fi
echo "warning: cannot create a network namespace (not root?); running on the host's loopback" >&2
exec bash -c "$tests"
