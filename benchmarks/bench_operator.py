"""Benchmark: N TraderAgents applied at once against the API emulator (default 500).

Prints the time until every agent's Pod exists, until every status is written, and the process
memory (operator + in-process emulator, so an upper bound for the operator alone).

    .venv/bin/python benchmarks/bench_operator.py [--agents 500]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kmock  # noqa: E402

from tests.operator.conftest import apply, running_operator, trader  # noqa: E402
from tests.operator.kube_emulator import FloorEmulator  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pods(emu: FloorEmulator) -> int:
    return sum(
        1 for (res, _, _), obj in list(emu.objects.items()) if res.plural == "pods" and not obj.deleted
    )


def statuses(emu: FloorEmulator) -> int:
    return sum(
        1
        for (res, _, _), obj in list(emu.objects.items())
        if res.plural == "traderagents" and not obj.deleted and (obj.raw.get("status") or {}).get("podName")
    )


async def main(n: int, timeout: float) -> None:
    async with (
        FloorEmulator() as emu,
        kmock.Server(emu),
        running_operator(emu, resync_seconds=60.0, floor_check_seconds=5.0),
    ):
        rss_idle = rss_mib()
        start = time.perf_counter()
        for i in range(n):
            await apply(emu, trader(f"bench-{i:04d}"))
        applied = time.perf_counter() - start
        pods_at = status_at = None
        while time.perf_counter() - start < timeout:
            if pods_at is None and pods(emu) >= n:
                pods_at = time.perf_counter() - start
            if statuses(emu) >= n:
                status_at = time.perf_counter() - start
                break
            await asyncio.sleep(0.1)
        rss_loaded = rss_mib()
        print(f"agents                    {n}")
        print(f"applied all manifests     {applied:.2f} s")
        print(
            f"all Pods exist after      {pods_at:.2f} s"
            if pods_at
            else f"Pods after {timeout}s: {pods(emu)}/{n}"
        )
        print(
            f"all statuses written at   {status_at:.2f} s" if status_at else f"statuses: {statuses(emu)}/{n}"
        )
        print(
            f"RSS before / after        {rss_idle:.0f} MiB / {rss_loaded:.0f} MiB "
            f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; emulator included)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    asyncio.run(main(args.agents, args.timeout))
