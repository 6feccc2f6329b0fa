#!/usr/bin/env bash
# Installs what the build and the tests need, from Debian 12 packages and the
# committed npm lockfile. Idempotent and quick when everything is present.
# Usage: scripts/install-deps.sh [run|test]
set -euo pipefail
mode=${1:-test}
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

build_pkgs=(build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-system-dev libssl-dev libsrtp2-dev libusrsctp-dev
  libavformat-dev libcurl4-openssl-dev libsqlite3-dev libmongoc-dev libpq-dev
  nlohmann-json3-dev libspdlog-dev libcli11-dev libhiredis-dev)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  chromium ffmpeg nodejs npm iproute2 util-linux postgresql python3
  firefox-esr gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice gstreamer1.0-libav
  python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 coturn nftables
  liburing-dev libxdp-dev libbpf-dev ethtool  # send-path micro benchmarks (bench/run-*send*)
  redis-server  # the cluster's coordination (tests/unit/cluster)
  prometheus)  # promtool checks GET /metrics (tests/e2e/metrics.test.mjs)

pkgs=("${build_pkgs[@]}")
if [ "$mode" = test ]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node is sometimes installed outside dpkg; accept any working node/npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$mode" = test ] && [ -f tests/e2e/package-lock.json ]; then
  # npm ci only when the lockfile changed since the last install.
  stamp=tests/e2e/node_modules/.lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s tests/e2e/package-lock.json "$stamp"; then
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
    cp tests/e2e/package-lock.json "$stamp"
  fi
fi
