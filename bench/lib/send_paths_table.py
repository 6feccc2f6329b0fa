#!/usr/bin/env python3
"""Turns bench/send-paths' fan-out reports (one per SEND_PATH) into its table.

Usage: send_paths_table.py MACHINE_LINE DURATION PATH=REPORT.json...
Prints the Markdown section (table and notes) on stdout.
"""
import json
import os
import sys

from table_common import cpu_cell, datagrams_per_message, fmt, frame_completion, pair_cell, \
    rss_per_viewer, server_latency_ms, stats_pair, viewers_per_core

MEANING = {
    "plain": "each packet to every viewer in turn, one datagram per message: the path before",
    "grouped": "viewer by viewer at the batch's end, one datagram per message",
    "auto": "viewer by viewer, UDP GSO: one message per viewer's run of same-size packets",
    "auto+pacing": "as auto, with PACING=true: each viewer's packets spread at 2.5x its estimate",
    "io_uring": "auto's GSO messages through an io_uring per worker, one SENDMSG each, "
                "instead of sendmmsg",
    "io_uring+pacing": "as io_uring, with PACING=true",
    "connected": "auto's GSO messages through a UDP socket connected to each viewer, one "
                 "sendmmsg per viewer",
    "connected+pacing": "as connected, with PACING=true",
    "xdp": "each datagram as an AF_XDP frame (Ethernet + IPv4 + UDP built by the worker) on "
           "XDP_DEVICE's queue, copy mode on veth; auto's messages for what it cannot take",
    "xdp+pacing": "as xdp, with PACING=true",
}

NETS = {
    "loopback": "on loopback",
    "veth": "over a veth pair (FANOUT_NET=veth: the server's network namespace with v0 at "
            "10.254.0.1/24, lss-load's with v1 at 10.254.0.2/24, a queue per core each way)",
}


def xdp_share(report_path):
    """Percent of the datagrams the workers sent as AF_XDP frames over the hold
    (SEND_PATH=xdp), from the saved /api/stats snapshots; None without any."""
    pair = stats_pair(report_path)
    if not pair:
        return None
    start, end = pair

    def total(snap, key):
        return sum(w.get(key, 0) for w in snap["media_workers"])

    frames = total(end, "udp_xdp_frames") - total(start, "udp_xdp_frames")
    socket = total(end, "udp_datagrams_sent") - total(start, "udp_datagrams_sent")
    if not frames:
        return None
    return 100.0 * frames / (frames + socket)


def main():
    machine, duration, items = sys.argv[1], sys.argv[2], sys.argv[3:]
    out = ["## Send paths: one 2.5 Mbps publisher, the same viewers, each SEND_PATH (`bench/send-paths`)",
           "", machine]
    n = None
    rows = []
    for item in items:
        path, report = item.split("=", 1)
        with open(report) as f:
            r = json.load(f)
        n = r["config"]["viewers"]
        hold = r.get("server", {}).get("hold", {})
        everyone, first, last = frame_completion(r)
        per_msg, used = datagrams_per_message(report)
        srv = server_latency_ms(report)
        rss = rss_per_viewer(r)
        share = xdp_share(report)
        rows.append(
            f"| `{path}` ({MEANING.get(path, '')}) | {cpu_cell(hold)} | {viewers_per_core(r)} | "
            f"{fmt(per_msg)} "
            f"({used or '-'})"
            f"{'' if share is None else f'; {share:.1f} % of datagrams as AF_XDP frames'} | {fmt(srv[0])} / {fmt(srv[1])} | "
            f"{pair_cell((r['latency_ms']['p50'], r['latency_ms']['p99']))} | "
            f"{pair_cell(everyone)} | {pair_cell(first)} | {pair_cell(last)} | "
            f"{fmt(r['received']['loss_pct'], 3)} % | {r['viewers']['receiving']}/{n} | "
            f"{fmt(rss, 1)} |")
    net = os.environ.get("FANOUT_NET", "loopback")
    out.append(f"{n} WHEP viewers of one lss-load publisher {NETS.get(net, net)}, as bench/fanout, once per "
               f"send path, {duration} s hold each.")
    out.append("")
    out.append("| SEND_PATH | server CPU µs / forwarded packet | viewers per core | datagrams per message (worker paths) "
               "| in the server p50 / p99 (ms) | latency p50 / p99 (ms) "
               "| frame completion p50 / p99 (ms) | first tenth of viewers | last tenth of viewers "
               "| loss | receiving | RSS per viewer (KiB) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    out.extend(rows)
    out.append("")
    out.append("Datagrams per message: UDP datagrams the media workers sent over the hold divided by "
               "the messages that carried them (sendmmsg messages on the shared or connected "
               "sockets, or io_uring SENDMSGs; GET "
               "/api/stats); the worker paths are what the workers report using (`gso` under "
               "io_uring means the kernel refused io_uring; with xdp the ratio is the socket's "
               "share alone, AF_XDP frames are counted apart). Frame completion: per "
               "viewer and video frame, the arrival of the frame's last packet minus the "
               "publisher's send of its last packet, for frames that arrived whole; the first and "
               "last tenth are the viewers who joined first and last. The rest as in the fan-out "
               "section.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
