"""Peak memory of the running process, with no dependency: shared by the benchmarks that run in the
project's environment and by the NautilusTrader side of bench_compare, which runs in its own."""

from __future__ import annotations


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM): unlike ru_maxrss, which a child inherits from the
    parent it was forked from and keeps across exec, it starts anew with the executed program."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
