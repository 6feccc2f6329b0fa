#!/usr/bin/env python3
"""bench/cluster's tables from lss-load's reports (report-N-I.json, node I+1).

  cluster_table.py rows WORK N                       one printed row per node
  cluster_table.py markdown WORK MACHINE DURATION N...  the RESULTS.md section

Node 1 (the origin) forwards to its N viewers and to the two pulls; lss-load
counts only its viewers' packets, so its CPU per forwarded packet is given
per packet it really sent (N + 2 receivers). A receiver's cost is the
origin's CPU less its cost of receiving the publisher alone (baseline-N.json,
measured first), over its N + 2 receivers. The link's cost on a relaying
node is what it spends beyond its N viewers at that cost: receiving the
pull, given in cores and per packet it received over the link.
"""
import json
import sys


def load(work, n, i):
    with open(f"{work}/report-{n}-{i}.json") as f:
        return json.load(f)


def cores_of(report):
    hold = report.get("server", {}).get("hold", {})
    wall = hold.get("wall_s") or 0.0
    return (hold.get("cpu_s") or 0.0) / wall if wall else 0.0


def baseline_cores(work, n):
    try:
        with open(f"{work}/baseline-{n}.json") as f:
            return cores_of(json.load(f))
    except (OSError, ValueError):
        return 0.0


def node_rows(work, n):
    rows = []
    for i in range(3):
        r = load(work, n, i)
        hold = r.get("server", {}).get("hold", {})
        cores = cores_of(r)
        wall = hold.get("wall_s") or 0.0
        rtp = hold.get("rtp_packets") or 0
        receiving = r["viewers"]["receiving"]
        # Packets each receiver got per second (the same stream everywhere).
        pps = rtp / receiving / wall if receiving and wall else 0.0
        receivers = receiving + (2 if i == 0 else 0)
        sent = pps * receivers * wall
        us = cores * wall * 1e6 / sent if sent else None
        rows.append({
            "node": i + 1,
            "viewers": receiving,
            "cores": cores,
            "us": us,
            "per_core": receiving / cores if cores else None,
            "loss": r["received"]["loss_pct"],
            "pps": pps,
            "errors": r.get("errors", {}),
        })
    origin = rows[0]
    base = baseline_cores(work, n)
    origin["baseline"] = base
    per_viewer_cores = (max(0.0, origin["cores"] - base) / (origin["viewers"] + 2)
                        if origin["viewers"] else 0.0)
    for row in rows[1:]:
        link = row["cores"] - per_viewer_cores * row["viewers"]
        row["link_cores"] = link
        row["link_us"] = link * 1e6 / row["pps"] if row["pps"] else None
    return rows


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_rows(work, n):
    for row in node_rows(work, n):
        print(f"{n:9d} {row['node']:6d} {row['viewers']:9d} {row['cores']:7.2f} "
              f"{fmt(row['us'], '10.2f')} {fmt(row['per_core'], '13.0f')} {row['loss']:7.3f}",
              flush=True)
        for k, c in row["errors"].items():
            print(f"          error x{c}: {k}")


def fit(points):
    """Least squares cores = fixed + per_viewer * viewers over (viewers, cores)."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    slope = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx
    return my - slope * mx, slope


def markdown(work, machine, duration, counts):
    out = [
        "## Cluster: one publisher, viewers on three nodes (bench/cluster)",
        "",
        machine,
        "",
        f"Three nodes and a redis-server on this machine; one 2.5 Mbps lss-load publisher on "
        f"node 1; N lss-load viewers on each node, nodes 2 and 3 serving theirs from one pull "
        f"each (CLUSTER_VIEWERS=relay); {duration} s hold after the last viewer joined. All "
        f"of it, the three load generators included, shares this machine's cores, so the "
        f"figures are for comparing nodes within a run, not absolute capacity.",
        "",
        "| viewers per node | node | viewers receiving | CPU cores | µs CPU per forwarded packet "
        "| viewers per core | loss % |",
        "|---|---|---|---|---|---|---|",
    ]
    per_node = {1: [], 2: [], 3: []}
    pps = []
    base = None
    for n in counts:
        rows = node_rows(work, n)
        base = rows[0].get("baseline", base)
        for row in rows:
            per_node[row["node"]].append((row["viewers"], row["cores"]))
            if row["pps"]:
                pps.append(row["pps"])
            out.append(f"| {n} | {row['node']} | {row['viewers']} | {row['cores']:.3f} | "
                       f"{fmt(row['us'], '.2f')} | {fmt(row['per_core'], '.0f')} | "
                       f"{row['loss']:.3f} |")
    rate = sum(pps) / len(pps) if pps else 0.0
    out += [
        "",
        "What each node costs, fitted over the runs (cores = fixed + per viewer x viewers; "
        "the origin's pulls count as viewers). A relaying node's fixed cost holds the link: "
        "receiving, decrypting and answering the pull once for all its viewers. It compares "
        "with the origin's cost of receiving the publisher alone, measured first with no "
        "viewer (both include an idle node's own timers).",
        "",
        "| node | fixed (cores) | per viewer (cores) | µs per viewer per packet | fixed, in µs per packet received |",
        "|---|---|---|---|---|",
    ]
    for node in (1, 2, 3):
        pts = [(v + (2 if node == 1 else 0), c) for v, c in per_node[node]]
        f = fit(pts)
        if not f:
            out.append(f"| {node} | - | - | - | - |")
            continue
        fixed, slope = f
        us_v = slope * 1e6 / rate if rate else None
        us_f = fixed * 1e6 / rate if rate else None
        out.append(f"| {node}{' (origin)' if node == 1 else ' (relay)'} | {fixed:.4f} | "
                   f"{slope:.6f} | {fmt(us_v, '.2f')} | {fmt(us_f, '.1f')} |")
    if base is not None:
        out.append(f"| 1, the publisher alone, no viewer | {base:.4f} | - | - | "
                   f"{fmt(base * 1e6 / rate if rate else None, '.1f')} |")
    out += [
        "",
        f"About {rate:.0f} packets a second reach each receiver. The relay's fixed cost is of "
        "the order of the origin's with only its publisher: the link costs a node about what "
        "a publisher costs, once per stream, whatever its audience, while every viewer costs "
        "each node the same few µs per packet. That is why the link is the owner's WHEP, as "
        "any viewer's, rather than a leaner SRTP/RTP link of our own: the most such a link "
        "could save is part of that fixed cost (the DTLS handshake, one SRTP decrypt per "
        "packet), nothing per viewer, at the price of a second protocol, port plan and "
        "authentication.",
    ]
    print("\n".join(out))


def main():
    if sys.argv[1] == "rows":
        print_rows(sys.argv[2], int(sys.argv[3]))
    else:
        markdown(sys.argv[2], sys.argv[3], sys.argv[4], [int(n) for n in sys.argv[5:]])


if __name__ == "__main__":
    main()
