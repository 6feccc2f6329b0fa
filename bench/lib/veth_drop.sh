# The send-path benchmarks' veth pair (sourced by bench/run-send-path and
# bench/run-xdp-send, inside their private network namespace): v0 at
# 10.253.0.1/24 sends toward 10.253.0.2, v1's MAC as a static neighbour (no
# ARP), and v1 drops everything at ingress (tc matchall, or an nftables
# netdev chain where the kernel lacks matchall/gact).
# veth_drop_setup SW_GSO: SW_GSO non-empty turns UDP segmentation offload off
# on v0 (the kernel then cuts GSO messages itself). Sets mac, segmentation
# and drop; returns 1 (after a message) when v1 cannot drop.
veth_drop_setup() {
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.253.0.1/24 dev v0
  ip link set v0 up
  ip link set v1 up
  # /sys/class/net is the outer namespace's here: ask ip for v1's MAC.
  mac=$(ip -br link show dev v1 | awk '{print $3}')
  ip neigh add 10.253.0.2 lladdr "$mac" dev v0
  segmentation="GSO offloaded"
  if [[ -n ${1:-} ]]; then
    ethtool -K v0 tx-udp-segmentation off >/dev/null
    segmentation="GSO segmented by the kernel"
  fi
  if command -v tc >/dev/null && tc qdisc add dev v1 clsact 2>/dev/null &&
    tc filter add dev v1 ingress matchall action drop 2>/dev/null; then
    drop="tc matchall drop at v1 ingress"
  elif command -v nft >/dev/null && nft -f - 2>/dev/null <<'NFT'; then
table netdev lssbench {
  chain in { type filter hook ingress device "v1" priority 0; policy drop; }
}
NFT
    drop="nftables netdev ingress drop on v1"
  else
    echo "== device: veth v0 -> v1: skipped, cannot drop at v1's ingress (tc matchall or nft)" >&2
    return 1
  fi
}
