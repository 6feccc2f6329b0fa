#!/usr/bin/env python3
"""bench/cluster's tables from lss-load's reports (report-N-I.json, node I+1).

  cluster_table.py rows WORK N                       one printed row per node
  cluster_table.py markdown WORK MACHINE DURATION N...  the RESULTS.md section

Node 1 (the origin) forwards to its N viewers and to the two pulls; lss-load
counts only its viewers' packets, so its CPU per forwarded packet is given
per packet it really sent (N + 2 receivers). The link's cost on a relaying
node is what it spends beyond forwarding: its CPU minus N viewers at the
origin's cost per viewer, given in cores and per packet it received over
the link.
"""
import json
import sys


def load(work, n, i):
    with open(f"{work}/report-{n}-{i}.json") as f:
        return json.load(f)


def node_rows(work, n):
    rows = []
    for i in range(3):
        r = load(work, n, i)
        hold = r.get("server", {}).get("hold", {})
        cores = hold.get("cpu_cores") or 0.0
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
    per_viewer_cores = origin["cores"] / (origin["viewers"] + 2) if origin["viewers"] else 0.0
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
        "| viewers per core | loss % | link's cost (cores) | link's cost (µs per received packet) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in counts:
        for row in node_rows(work, n):
            link_c = fmt(row.get("link_cores"), ".3f") if row["node"] > 1 else "origin"
            link_us = fmt(row.get("link_us"), ".1f") if row["node"] > 1 else "-"
            out.append(f"| {n} | {row['node']} | {row['viewers']} | {row['cores']:.2f} | "
                       f"{fmt(row['us'], '.2f')} | {fmt(row['per_core'], '.0f')} | "
                       f"{row['loss']:.3f} | {link_c} | {link_us} |")
    out += [
        "",
        "The origin's µs per packet counts the two pulls among its receivers. A relaying "
        "node's link cost is its CPU beyond its viewers at the origin's cost per receiver: "
        "receiving, decrypting and answering the pull (RTCP feedback, NACKs) once for all of "
        "its viewers. Negative or noisy values mean the link costs less than this machine's "
        "noise between nodes.",
    ]
    print("\n".join(out))


def main():
    if sys.argv[1] == "rows":
        print_rows(sys.argv[2], int(sys.argv[3]))
    else:
        markdown(sys.argv[2], sys.argv[3], sys.argv[4], [int(n) for n in sys.argv[5:]])


if __name__ == "__main__":
    main()
