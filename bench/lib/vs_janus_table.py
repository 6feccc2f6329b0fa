#!/usr/bin/env python3
"""bench/vs-janus's table and ratio from the two lss-load reports.

Usage: vs_janus_table.py MACHINE_LINE DURATION EVENT_LOOPS SECTION.md OURS.json JANUS.json
                         [JANUS_DEFAULT.json]
JANUS.json: Janus with event_loops = EVENT_LOOPS (the ratio's Janus);
JANUS_DEFAULT.json, optional: Janus' default, a thread per handle.
Prints the table and, as its last line, cpu_per_packet_ratio_janus_over_ours X;
writes the Markdown section to SECTION.md.
"""
import json
import sys

from table_common import cpu_cell, fmt, rss_per_viewer


def summary(path):
    with open(path) as f:
        r = json.load(f)
    n = r["config"]["viewers"]
    srv = r.get("server", {})
    hold = srv.get("hold", {})
    rss = rss_per_viewer(r)
    return {
        "n": n,
        "receiving": r["viewers"]["receiving"],
        "loss": r["received"]["loss_pct"],
        "us_pkt": hold.get("cpu_us_per_forwarded_packet"),
        "cpu_cell": cpu_cell(hold),
        "cores": hold.get("cpu_cores"),
        "pps": hold["rtp_packets"] / hold["wall_s"] if hold.get("wall_s") else None,
        "p50": r["latency_ms"]["p50"],
        "p99": r["latency_ms"]["p99"],
        "join_p50": r["viewers"]["join_ms"]["p50"],
        "join_p99": r["viewers"]["join_ms"]["p99"],
        "rss": rss,
        "threads": srv.get("threads"),
        "top": hold.get("busiest_thread_cores"),
        "top_name": hold.get("busiest_thread", ""),
        "udp_drops": (r.get("udp_drops_during_hold") or {}).get("rcvbuf_errors"),
        "gen": r["load_generator"]["cpu_pct"],
        "errors": r["errors"],
        "srtp": ", ".join(f"{k} x{v}" for k, v in r["viewers"].get("srtp_profiles", {}).items()),
    }


def main():
    machine, duration, loops, section_path, ours_path, janus_path = sys.argv[1:7]
    ours, janus = summary(ours_path), summary(janus_path)
    janus_default = summary(sys.argv[7]) if len(sys.argv) > 7 else None
    ratio = None
    if ours["us_pkt"] and janus["us_pkt"]:
        ratio = janus["us_pkt"] / ours["us_pkt"]
    rows = [("live-stream-server (WHIP in, WHEP out)", ours),
            (f"Janus 1.1.2 streaming, `event_loops = {loops}`", janus)]
    if janus_default:
        rows.append(("Janus 1.1.2 streaming, defaults (a thread per handle)", janus_default))
    md = []
    md.append("## live-stream-server vs Janus, same viewers (`bench/vs-janus`)")
    md.append("")
    md.append(machine)
    md.append(f"Both servers on loopback, one after the other in the same run: one lss-load "
              f"publisher (looped VP8 clip padded to 2.5 Mbps + Opus) and {ours['n']} viewers, "
              f"each a full ICE/DTLS/SRTP peer in lss-load, {duration} s hold after the last "
              f"viewer started. Server CPU (utime + stime of the process, /proc) over the hold "
              f"only, divided by the RTP packets the viewers received in it.")
    md.append("")
    md.append("| server | viewers receiving | loss | CPU µs / forwarded packet | cores used "
              "| packets/s forwarded | latency p50 / p99 (ms) | join p50 / p99 (ms) "
              "| RSS per viewer (KiB) | threads (busiest, cores) | kernel UDP drops | lss-load CPU |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, x in rows:
        md.append(f"| {name} | {x['receiving']}/{x['n']} | {fmt(x['loss'], 3)} % | "
                  f"{x['cpu_cell']} | {fmt(x['cores'])} | {fmt(x['pps'], 0)} | "
                  f"{fmt(x['p50'], 1)} / {fmt(x['p99'], 1)} | {fmt(x['join_p50'], 0)} / "
                  f"{fmt(x['join_p99'], 0)} | {fmt(x['rss'], 1)} | {x['threads']} "
                  f"({x['top_name']} {fmt(x['top'])}) | {x['udp_drops']} | {fmt(x['gen'], 0)} % |")
    md.append("")
    md.append(f"**CPU per forwarded packet, Janus (`event_loops = {loops}`) / ours: "
              f"{fmt(ratio)}** (above 1: Janus spends more per packet).")
    if janus_default and janus_default["us_pkt"] and ours["us_pkt"]:
        md.append(f"With Janus' default of one event loop thread per handle: "
                  f"{fmt(janus_default['us_pkt'] / ours['us_pkt'])}.")
    md.append("")
    md.append("Setup differences, all in Janus' favour or neutral: Janus ingests plain RTP "
              "(`lss-load --rtp-out`, no SRTP decrypt on input; ours decrypts the WHIP "
              "publisher's SRTP), with 1 publisher and N viewers ingest is 1/N of the packets. "
              "Janus runs full ICE (its default, aggressive nomination); its viewers share one "
              "Janus session (one streaming handle each). The ratio uses Janus with as many "
              "shared event loops as cores (`event_loops`, Janus' setting for many handles; "
              "ours runs one media worker per core), the stronger of its two set-ups here; "
              "the last row is Janus' default of one event loop thread per handle. SRTP profiles the viewers' DTLS handshakes picked: "
              f"ours {ours['srtp'] or '-'}; Janus {janus['srtp'] or '-'}. "
              "Latency: lss-load reads abs-send-time on arrival. Ours forwards the publisher's "
              "stamp, so it is publisher to viewer; Janus writes its own stamp when it sends "
              "(`janus_rtp_header_extension_set_abs_send_time`, millisecond clock), so its "
              "column is only Janus' send to viewer hop: not comparable. Loss is counted from "
              "RTP sequence gaps at the viewers; kernel UDP drops (RcvbufErrors in "
              "/proc/net/snmp over the hold, both sides' sockets) tell drops in a socket "
              "buffer from packets the server never sent.")
    for name, x in rows:
        for k, c in x["errors"].items():
            md.append(f"- {name}: {c} x {k}")
    with open(section_path, "w") as f:
        f.write("\n".join(md) + "\n")

    print(f"{'server':<9} {'recv':>9} {'loss%':>7} {'us/pkt':>8} {'cores':>6} {'p50ms':>7} "
          f"{'p99ms':>7} {'rssKiB/v':>9}")
    named = [("ours", ours), (f"janus/{loops}", janus)]
    if janus_default:
        named.append(("janus/0", janus_default))
    for name, x in named:
        print(f"{name:<9} {str(x['receiving']) + '/' + str(x['n']):>9} {fmt(x['loss'], 3):>7} "
              f"{fmt(x['us_pkt']):>8} {fmt(x['cores']):>6} {fmt(x['p50'], 1):>7} "
              f"{fmt(x['p99'], 1):>7} {fmt(x['rss'], 1):>9}")
    print(f"cpu_per_packet_ratio_janus_over_ours {fmt(ratio)}")
    return 0 if ratio is not None else 1


if __name__ == "__main__":
    sys.exit(main())
