#!/usr/bin/env python3
"""Turns bench/fanout's lss-load reports into its table.

Usage: fanout_table.py MACHINE_LINE DURATION RAMP REPORT.json...  (one per viewer count)
Prints the Markdown section (table and notes) on stdout.
"""
import json
import sys

from table_common import cpu_cell, fmt, frame_completion, pair_cell, rss_per_viewer, \
    server_latency_ms, viewers_per_core


def row(path):
    with open(path) as f:
        r = json.load(f)
    n = r["config"]["viewers"]
    v, rx, srv = r["viewers"], r["received"], r.get("server", {})
    hold = srv.get("hold", {})
    loss = rx["loss_pct"]
    cores = hold.get("cpu_cores")
    per_core = viewers_per_core(r)
    rss_per = rss_per_viewer(r)
    return {
        "n": n,
        "us_pkt": hold.get("cpu_us_per_forwarded_packet"),
        "cpu_cell": cpu_cell(hold),
        "per_core": per_core,
        "p50": r["latency_ms"]["p50"],
        "p99": r["latency_ms"]["p99"],
        "srv": server_latency_ms(path),
        "rss": rss_per,
        "loss": loss,
        "cores": cores,
        "pps": (hold["rtp_packets"] / hold["wall_s"]) if hold.get("wall_s") else None,
        "gen": r["load_generator"]["cpu_pct"],
        "top": hold.get("busiest_thread_cores"),
        "top_name": hold.get("busiest_thread", ""),
        "join_p99": v["join_ms"]["p99"],
        "recv": f"{v['receiving']}/{n}",
        "frames": frame_completion(r),
    }


def frames_cell(frames):
    everyone, first, last = frames
    if not everyone:
        return "-"
    return f"{pair_cell(everyone)}; {pair_cell(first)}, {pair_cell(last)}"


def main():
    machine, duration, ramp, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    rows = [row(p) for p in files]
    # bench/fanout's CODEC; reports from before lss-load had --codec are VP8.
    with open(files[0]) as f:
        codec = json.load(f)["config"].get("codec", "VP8")
    out = []
    out.append("## Fan-out: one 2.5 Mbps publisher, N viewers (`bench/fanout`)")
    out.append("")
    out.append(machine)
    out.append(f"Each run: a fresh server (loopback, RECORD_STREAMS=false), one lss-load publisher "
               f"(looped {codec} clip padded to 2.5 Mbps + Opus), N WHEP viewers started at {ramp} "
               f"per second, {duration} s hold "
               f"after the last viewer joined. Server CPU is read from /proc over the hold only.")
    out.append("")
    out.append("| viewers | server CPU µs / forwarded packet | viewers per core at <0.1 % loss "
               "| latency p50 / p99 (ms) | in the server p50 / p99 (ms) "
               "| frame completion p50 / p99 (ms): all; first, last tenth of viewers "
               "| RSS per viewer (KiB) "
               "| loss | server cores used | busiest server thread (cores) | packets/s forwarded "
               "| receiving | join p99 (ms) | lss-load CPU |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for x in rows:
        out.append(
            f"| {x['n']} | {x['cpu_cell']} | {x['per_core']} | {fmt(x['p50'], 1)} / "
            f"{fmt(x['p99'], 1)} | {fmt(x['srv'][0])} / {fmt(x['srv'][1])} | "
            f"{frames_cell(x['frames'])} | {fmt(x['rss'], 1)} | {fmt(x['loss'], 3)} % | "
            f"{fmt(x['cores'])} | {x['top_name']} {fmt(x['top'])} | {fmt(x['pps'], 0)} | "
            f"{x['recv']} | {fmt(x['join_p99'], 0)} | "
            f"{fmt(x['gen'], 0)} % |")
    out.append("")
    out.append("Viewers per core = N / (server CPU seconds / hold seconds) when loss < 0.1 % and "
               "every viewer receives; else \"saturated\". RSS per viewer = (server RSS at the "
               "end of the hold - RSS before the first viewer) / N. Latency is publisher send "
               "(abs-send-time) to viewer receive, both in lss-load; in the server is from the "
               "receive batch that brought a packet in to the sendmmsg of each copy (GET "
               "/api/stats, all media workers, over the hold; bucket upper bounds, 19 % wide). "
               "Frame completion is, per viewer and video frame, the arrival of the frame's last "
               "packet minus the publisher's send of its last packet (abs-send-time), for frames "
               "that arrived whole; first and last tenth are the viewers who joined first and "
               "last. The load generator shares "
               "the machine's cores with the server: when its CPU nears 100 % of one core, "
               "loss and latency include its own queueing. Busiest thread: the server thread with "
               "the most CPU over the hold. A stream's viewers join its media worker (one per "
               "core) until that worker has 8 peers more than the least-loaded one, then go to "
               "the least-loaded worker, fed through a relay of the stream there, so one "
               "stream's viewers use every core. CPU per packet is split into user and kernel "
               "time (/proc utime and stime); on loopback the kernel's share also holds the "
               "delivery of each datagram to lss-load's socket, which the kernel runs on the "
               "sending CPU.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
