#!/usr/bin/env bash
# Builds the Dockerfile with podman and checks the image: /healthz answers,
# the HEALTHCHECK passes, and a Chromium publisher and viewer stream through
# the container (WHIP + WHEP). Not part of `make test` (a full build inside
# the container takes 10-20 minutes on 2 cores): run `make container-test`.
#
# No base image can be pulled on the machines this was written on, so the
# debian:bookworm-slim base is made locally with mmdebstrap when podman does
# not have it. podman runs with runc, cgroupfs and no default ulimits (the
# machines have hybrid cgroups and no CAP_SYS_RESOURCE), through a
# containers.conf of this script's own (CONTAINERS_CONF): nothing in /etc
# changes.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in podman runc mmdebstrap uidmap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

work=$(mktemp -d /tmp/lss-container.XXXXXX)
name=lss-container-test-$$
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/containers.conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"
# No systemd here to run the HEALTHCHECK on a timer: podman would log errors
# trying to make one. `podman healthcheck run` below runs it by hand.
export DISABLE_HC_SYSTEMD=true
podman() { command podman --runtime /usr/sbin/runc "$@"; }

base=docker.io/library/debian:bookworm-slim
if ! podman image exists "$base"; then
  echo "== making $base with mmdebstrap (no registry here)"
  $SUDO mmdebstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs.tar"
  podman import "$work/rootfs.tar" "$base"
  rm -f "$work/rootfs.tar"
fi

echo "== podman build"
start=$(date +%s)
# Docker image format: the OCI format (podman's default) has no HEALTHCHECK,
# podman drops it with a warning and the check below would have nothing to run.
podman build --format docker --network=host -t live-stream-server:test .
echo "built in $(( $(date +%s) - start )) s"
podman image ls live-stream-server:test

port=${CT_PORT:-18080}
udp=${CT_UDP_PORT:-41000}
echo "== podman run on port $port, media UDP/TCP $udp-$((udp + 1))"
podman run -d --name "$name" --network=host \
  -e PORT="$port" -e UDP_PORT="$udp" -e MEDIA_WORKERS=2 -e PUBLIC_IP=127.0.0.1 \
  live-stream-server:test
for i in $(seq 1 50); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if [ "$i" = 50 ]; then podman logs "$name"; echo "FAIL: /healthz did not answer" >&2; exit 1; fi
  sleep 0.2
done
echo "/healthz: $(curl -fsS "http://127.0.0.1:$port/healthz")"
user=$(podman exec "$name" id -un)
[ "$user" = lss ] || { echo "FAIL: runs as $user, not lss" >&2; exit 1; }
hc=$(podman inspect -f '{{.Config.Healthcheck}}' "$name")
case "$hc" in *healthz*) ;; *) echo "FAIL: no HEALTHCHECK in the container ($hc)" >&2; exit 1 ;; esac
if podman healthcheck run "$name"; then echo "HEALTHCHECK passes"
else echo "FAIL: HEALTHCHECK does not pass" >&2; exit 1; fi

echo "== WHIP publisher and WHEP viewer (Chromium) through the container"
scripts/install-deps.sh test >/dev/null
(cd tests/e2e && LSS_URL="http://127.0.0.1:$port" node container_check.mjs)

echo "== SIGTERM stops it cleanly"
podman stop -t 20 "$name" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
podman logs "$name" 2>&1 | tail -3
[ "$code" = 0 ] || { echo "FAIL: exit code $code after SIGTERM" >&2; exit 1; }
echo "== container test passed"
