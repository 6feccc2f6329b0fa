# shellcheck shell=bash disable=SC2034
# Janus helpers for bench/vs-janus (sourced). Expects $ROOT and common.sh.

JANUS_LIB=${JANUS_LIB:-/usr/lib/x86_64-linux-gnu/janus}

ensure_janus() {
  if command -v janus >/dev/null 2>&1 && [[ -e $JANUS_LIB/plugins/libjanus_streaming.so ]]; then
    return 0
  fi
  echo "installing Debian's janus package" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "janus is not installed and this is not root: run 'sudo apt-get install -y janus'" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y janus >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y janus >&2; }
}

# render_template IN OUT KEY=VALUE...: @KEY@ -> VALUE.
render_template() {
  local in=$1 out=$2
  shift 2
  python3 - "$in" "$out" "$@" <<'PY'
import sys
src, dst, *pairs = sys.argv[1:]
text = open(src).read()
for p in pairs:
    k, v = p.split("=", 1)
    text = text.replace("@" + k + "@", v)
open(dst, "w").write(text)
PY
}

# Starts Janus with a minimal config in a temp folder; sets JANUS_PID,
# JANUS_URL, JANUS_CFG, JANUS_MOUNTPOINT, JANUS_VIDEO_PORT, JANUS_AUDIO_PORT.
# Env: JANUS_EVENT_LOOPS (default 0), JANUS_ICE_LITE (default false),
# JANUS_ICE_IFACE (the only interface Janus gathers candidates on).
start_janus() {
  local log=$1 http_port rtp_base
  JANUS_CFG=$(mktemp -d /tmp/lss-bench-janus.XXXXXX)
  mkdir -p "$JANUS_CFG/plugins" "$JANUS_CFG/transports" "$JANUS_CFG/events" "$JANUS_CFG/loggers"
  ln -s "$JANUS_LIB/plugins/libjanus_streaming.so" "$JANUS_CFG/plugins/"
  ln -s "$JANUS_LIB/transports/libjanus_http.so" "$JANUS_CFG/transports/"
  http_port=$(free_port tcp)
  JANUS_VIDEO_PORT=$(free_port udp)
  JANUS_AUDIO_PORT=$(free_port udp)
  JANUS_MOUNTPOINT=1
  rtp_base=$(free_udp_range 1)
  render_template "$ROOT/bench/janus/janus.jcfg.in" "$JANUS_CFG/janus.jcfg" \
    CFGDIR="$JANUS_CFG" EVENT_LOOPS="${JANUS_EVENT_LOOPS:-0}" ICE_LITE="${JANUS_ICE_LITE:-false}" \
    ICE_ENFORCE="${JANUS_ICE_IFACE:+ice_enforce_list = \"$JANUS_ICE_IFACE\"}" \
    RTP_RANGE="$((rtp_base < 50000 ? rtp_base : 20000))-$((rtp_base < 50000 ? rtp_base + 9999 : 29999))"
  render_template "$ROOT/bench/janus/janus.transport.http.jcfg.in" \
    "$JANUS_CFG/janus.transport.http.jcfg" HTTP_PORT="$http_port"
  render_template "$ROOT/bench/janus/janus.plugin.streaming.jcfg.in" \
    "$JANUS_CFG/janus.plugin.streaming.jcfg" MOUNTPOINT="$JANUS_MOUNTPOINT" \
    VIDEO_PORT="$JANUS_VIDEO_PORT" AUDIO_PORT="$JANUS_AUDIO_PORT"
  janus -F "$JANUS_CFG" -C "$JANUS_CFG/janus.jcfg" -o >"$log" 2>&1 &
  JANUS_PID=$!
  JANUS_URL=http://127.0.0.1:$http_port/janus
  local i
  for i in $(seq 1 100); do
    if curl -fs -o /dev/null "$JANUS_URL/info"; then return 0; fi
    if ! kill -0 "$JANUS_PID" 2>/dev/null; then
      echo "janus exited early:" >&2
      tail -30 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "janus not ready in 10 s:" >&2
  tail -30 "$log" >&2
  return 1
}

stop_janus() {
  stop_pid "${JANUS_PID:-}"
  JANUS_PID=
  [[ -n "${JANUS_CFG:-}" ]] && rm -rf "$JANUS_CFG"
  JANUS_CFG=
}
