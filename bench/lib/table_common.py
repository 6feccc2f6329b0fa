"""Formatting shared by the bench table scripts (fanout_table.py, vs_janus_table.py)."""


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
