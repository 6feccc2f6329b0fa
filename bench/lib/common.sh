# shellcheck shell=bash disable=SC2034
# Shared helpers for bench/fanout and bench/vs-janus (sourced, not run).
# Expects $ROOT (the checkout) and $BUILD (the build directory).

# A free TCP (or UDP with "udp") port on 127.0.0.1, picked by the kernel.
free_port() {
  python3 - "$1" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1:] == ["udp"] else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# n consecutive free UDP ports (the server binds UDP_PORT .. UDP_PORT+workers-1).
free_udp_range() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
}

# SKIP_BUILD=1: use the binaries as they are (e.g. while the tree does not build).
build_targets() {
  if [[ -n "${SKIP_BUILD:-}" ]]; then
    echo "SKIP_BUILD set: using $BUILD/$* as built" >&2
    return 0
  fi
  if [[ ! -f "$BUILD/build.ninja" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build "$BUILD" -j "$(nproc)" --target "$@" >&2
}

# Copies the built binaries to $1/bin and points LSS_SERVER_BIN / LSS_LOAD_BIN
# there, so a rebuild of the checkout during the run (another shell) neither
# fails the start ("Text file busy") nor swaps binaries between runs.
snapshot_binaries() {
  local dir=$1/bin try
  mkdir -p "$dir"
  for try in $(seq 1 20); do
    if cp "$BUILD/live-stream-server" "$BUILD/lss-load" "$dir/" 2>/dev/null &&
      "$dir/live-stream-server" --help >/dev/null 2>&1 && "$dir/lss-load" --help >/dev/null 2>&1; then
      LSS_SERVER_BIN=$dir/live-stream-server
      LSS_LOAD_BIN=$dir/lss-load
      return 0
    fi
    sleep 3  # a link in progress
  done
  echo "cannot snapshot $BUILD/live-stream-server and lss-load" >&2
  return 1
}

# The machine may be shared (builds, tests): as root, raise the scheduling
# priority of this shell (inherited by the servers and lss-load) so background
# work takes less from the measured processes. With autogroup scheduling
# (kernel.sched_autogroup_enabled) a process' nice only counts inside its
# session's group, so the group's nice is raised too, and restored by
# restore_priority (call it on exit). BENCH_NICE (default -10; 0: off).
boost_priority() {
  local n=${BENCH_NICE:--10}
  [[ "$n" != 0 && $(id -u) -eq 0 ]] || return 0
  renice -n "$n" -p $$ >/dev/null 2>&1 || true
  if [[ -w /proc/$$/autogroup ]]; then
    BENCH_AUTOGROUP_NICE=$(sed -n 's/.* nice \(-\?[0-9]*\)$/\1/p' /proc/$$/autogroup)
    echo "$n" >/proc/$$/autogroup 2>/dev/null || BENCH_AUTOGROUP_NICE=
  fi
}

restore_priority() {
  if [[ -n "${BENCH_AUTOGROUP_NICE:-}" ]]; then
    echo "$BENCH_AUTOGROUP_NICE" >/proc/$$/autogroup 2>/dev/null || true
  fi
}

# The commit the binaries come from, "-dirty" when their sources differ from
# it (bench/RESULTS.md, which the benches rewrite, does not count).
built_from() {
  local rev
  rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "an unknown tree"; return; }
  git -C "$ROOT" diff --quiet HEAD -- src tools CMakeLists.txt || rev+=-dirty
  echo "$rev"
}

machine_line() {
  local model
  model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "Machine: ${model:-unknown CPU}, $(nproc) cores (nproc), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg) at start (other work on the machine shares its cores; the bench runs at nice ${BENCH_NICE:--10}). Server built from $(built_from). Date: $(date -u +%Y-%m-%dT%H:%MZ)."
}

# FANOUT_NET=veth (bench/fanout): the server and lss-load each in a network
# namespace of their own, joined by a veth pair: the server's v0 at
# 10.254.0.1/24, lss-load's v1 at 10.254.0.2/24, each end with as many
# queues as cores (SEND_PATH=xdp binds one per media worker; XDP_DEVICE=v0
# is set for every row, lo on loopback: it changes nothing but xdp). Every datagram
# then crosses a device (veth) instead of loopback. Root only. Sets
# SRV_EXEC and LOAD_EXEC (the `ip netns exec` prefixes; empty on loopback),
# LSS_BENCH_KEY (the STREAM_KEY the server wants: the publisher is no longer
# on loopback) and NET_LINE (a sentence for the tables). veth_net_teardown
# undoes it.
SRV_EXEC=()
LOAD_EXEC=()
LSS_BENCH_KEY=
NET_LINE="on loopback"
veth_net_setup() {
  local q
  q=$(nproc)
  LSS_NS_SRV=lss-bench-srv-$$
  LSS_NS_LOAD=lss-bench-load-$$
  ip netns add "$LSS_NS_SRV"
  ip netns add "$LSS_NS_LOAD"
  ip link add lssv0-$$ numtxqueues "$q" numrxqueues "$q" type veth peer name lssv1-$$ \
    numtxqueues "$q" numrxqueues "$q"
  ip link set lssv0-$$ netns "$LSS_NS_SRV" name v0
  ip link set lssv1-$$ netns "$LSS_NS_LOAD" name v1
  ip -n "$LSS_NS_SRV" link set lo up
  ip -n "$LSS_NS_SRV" addr add 10.254.0.1/24 dev v0
  ip -n "$LSS_NS_SRV" link set v0 up
  ip -n "$LSS_NS_LOAD" link set lo up
  ip -n "$LSS_NS_LOAD" addr add 10.254.0.2/24 dev v1
  ip -n "$LSS_NS_LOAD" link set v1 up
  SRV_EXEC=(ip netns exec "$LSS_NS_SRV")
  LOAD_EXEC=(ip netns exec "$LSS_NS_LOAD")
  LSS_BENCH_KEY=bench-$$
  NET_LINE="over a veth pair (the server's network namespace with v0 at 10.254.0.1/24, lss-load's with v1 at 10.254.0.2/24, $q queues each way: FANOUT_NET=veth)"
}

veth_net_teardown() {
  [[ -n "${LSS_NS_SRV:-}" ]] && ip netns del "$LSS_NS_SRV" 2>/dev/null
  [[ -n "${LSS_NS_LOAD:-}" ]] && ip netns del "$LSS_NS_LOAD" 2>/dev/null
  LSS_NS_SRV=
  LSS_NS_LOAD=
  return 0
}

# Starts build/live-stream-server on loopback with a fresh DATA_DIR and no
# recording (with veth_net_setup: in the server's namespace, at 10.254.0.1);
# sets SERVER_PID, SERVER_URL, SERVER_DATA. Logs to $1.
start_lss() {
  local log=$1 port udp ip=127.0.0.1 xdp_dev=${XDP_DEVICE:-lo} limits=()
  if [[ ${#SRV_EXEC[@]} -gt 0 ]]; then
    ip=10.254.0.1
    xdp_dev=${XDP_DEVICE:-v0}
    # Every viewer comes from lss-load's one address, no longer loopback:
    # the per-address limits would refuse all but the first hundred.
    limits=(env SESSION_RATE=0 SESSIONS_PER_IP=0 HTTP_CONNECTIONS_PER_IP=0)
    port=8080  # a namespace of its own: every port is free
    udp=40000
  else
    port=$(free_port tcp)
    udp=$(free_udp_range 8)
  fi
  SERVER_DATA=$(mktemp -d /tmp/lss-bench-data.XXXXXX)
  PORT=$port UDP_PORT=$udp LISTEN_ADDRESS=$ip PUBLIC_IP=$ip \
    DATA_DIR=$SERVER_DATA RECORD_STREAMS=false LOG_LEVEL=${LSS_LOG_LEVEL:-warn} \
    XDP_DEVICE=$xdp_dev STREAM_KEY=$LSS_BENCH_KEY "${limits[@]}" "${SRV_EXEC[@]}" "${LSS_SERVER_BIN:-$BUILD/live-stream-server}" >"$log" 2>&1 &
  SERVER_PID=$!
  SERVER_URL=http://$ip:$port
  local i
  for i in $(seq 1 100); do
    if "${SRV_EXEC[@]}" curl -fs -o /dev/null "$SERVER_URL/healthz"; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "live-stream-server exited early:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "live-stream-server not ready in 10 s" >&2
  return 1
}

# Stops the process $1 (SIGTERM, then SIGKILL after 5 s).
stop_pid() {
  local pid=$1 i
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_lss() {
  stop_pid "${SERVER_PID:-}"
  SERVER_PID=
  [[ -n "${SERVER_DATA:-}" ]] && rm -rf "$SERVER_DATA"
  SERVER_DATA=
}
