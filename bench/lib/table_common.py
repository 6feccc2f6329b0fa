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
    pair = stats_pair(report_path)
    if not pair:
        return None, None
    start, end = pair
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


def stats_pair(report_path):
    """(start, end) GET /api/stats snapshots saved beside report-N.json, or None."""
    m = re.search(r"report-(\d+)\.json$", report_path)
    if not m:
        return None
    d, n = os.path.dirname(report_path), m.group(1)
    try:
        with open(os.path.join(d, f"stats-{n}-start.json")) as f:
            start = json.load(f)
        with open(os.path.join(d, f"stats-{n}-end.json")) as f:
            end = json.load(f)
    except (OSError, ValueError):
        return None
    return start, end


def datagrams_per_message(report_path):
    """UDP datagrams per sendmmsg message over the hold (all media workers), and the
    send paths they used, from the saved /api/stats snapshots; (None, "") without them."""
    pair = stats_pair(report_path)
    if not pair:
        return None, ""
    start, end = pair
    dg = sum(w.get("udp_datagrams_sent", 0) for w in end["media_workers"]) - \
        sum(w.get("udp_datagrams_sent", 0) for w in start["media_workers"])
    msgs = sum(w.get("udp_messages_sent", 0) for w in end["media_workers"]) - \
        sum(w.get("udp_messages_sent", 0) for w in start["media_workers"])
    paths = sorted({w.get("send_path", "") for w in end["media_workers"]})
    return (round(dg / msgs, 2) if msgs else None), ",".join(p for p in paths if p)


def frame_completion(report):
    """Frame completion (ms) of an lss-load report: ((p50, p99) of all viewers,
    of the first tenth, of the last tenth); None where the report has none."""
    fc = report.get("frame_completion_ms")
    if not fc or not fc.get("samples"):
        return None, None, None
    groups = fc.get("by_position") or []
    pick = lambda g: (g.get("p50"), g.get("p99")) if g and g.get("samples") else None
    return (fc["p50"], fc["p99"]), pick(groups[0] if groups else None), pick(groups[-1] if groups else None)


def pair_cell(pair, digits=1):
    return "-" if not pair else f"{fmt(pair[0], digits)} / {fmt(pair[1], digits)}"


def rss_per_viewer(report):
    """KiB of server RSS per viewer: (RSS at the end - RSS before the first viewer) / viewers,
    from an lss-load report; None without those figures."""
    srv, n = report.get("server", {}), report["config"]["viewers"]
    if "rss_kb_end" not in srv or "rss_kb_before_viewers" not in srv or not n:
        return None
    return (srv["rss_kb_end"] - srv["rss_kb_before_viewers"]) / n


def viewers_per_core(r):
    """Viewers per core of server CPU over the hold, when every viewer receives
    with under 0.1 % loss; else "saturated"."""
    n = r["config"]["viewers"]
    v, hold = r["viewers"], r.get("server", {}).get("hold", {})
    cores = hold.get("cpu_cores")
    if v["receiving"] == n and r["received"]["loss_pct"] < 0.1 and cores:
        per_core = f"{n / cores:,.0f}"
        top = hold.get("busiest_thread_cores") or 0
        if top >= 0.95:
            per_core += f" (at the limit: {hold.get('busiest_thread', '')} at {top:.2f} cores)"
        return per_core
    return "saturated" if v["receiving"] == n else f"saturated ({v['receiving']}/{n} receiving)"
