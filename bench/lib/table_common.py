"""Formatting shared by the bench table scripts (fanout_table.py, vs_janus_table.py)."""
import json
import math
import os
import re


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def cpu_cell(hold):
    """CPU per forwarded packet from an lss-load report's server.hold, with its user/kernel split.

    On loopback the kernel's share holds both the send and the delivery of
    each datagram to the receiver's socket (run on the sender's CPU), so the
    split tells the server's own work from the network stack's.
    """
    total = hold.get("cpu_us_per_forwarded_packet")
    user, system = hold.get("user_us_per_forwarded_packet"), hold.get("system_us_per_forwarded_packet")
    if total is None or user is None or system is None:
        return fmt(total)
    return f"{fmt(total)} ({fmt(user)} user + {fmt(system)} kernel)"


def server_latency_ms(report_path):
    """(p50, p99) in ms of how long forwarded packets stayed in the server over a run.

    bench/fanout saves GET /api/stats once every viewer has joined
    (stats-N-start.json) and at the end (stats-N-end.json) beside
    report-N.json; the histograms are cumulative, so their difference is the
    hold. Each value is its bucket's upper bound. (None, None) without them.
    """
    m = re.search(r"report-(\d+)\.json$", report_path)
    if not m:
        return None, None
    d, n = os.path.dirname(report_path), m.group(1)
    try:
        with open(os.path.join(d, f"stats-{n}-start.json")) as f:
            start = json.load(f)
        with open(os.path.join(d, f"stats-{n}-end.json")) as f:
            end = json.load(f)
    except (OSError, ValueError):
        return None, None
    counts = {}
    for snap, sign in ((end, 1), (start, -1)):
        for w in snap["media_workers"]:
            for upper, c in w["forwarding_latency_us"]["buckets"]:
                counts[upper] = counts.get(upper, 0) + sign * c
    items = sorted((u, c) for u, c in counts.items() if c > 0)
    total = sum(c for _, c in items)
    if not total:
        return None, None

    def quantile(q):
        rank, seen = math.ceil(q * total), 0
        for upper, c in items:
            seen += c
            if seen >= rank:
                return round(upper / 1000, 2)
        return round(items[-1][0] / 1000, 2)

    return quantile(0.5), quantile(0.99)
