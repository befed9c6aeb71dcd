"""Benchmark: the Floor Boss in its own process (as in a cluster) against the emulated API server
(tests/e2e/support), N TraderAgents created at once.

Prints, per size: the time to create the resources, the time until every agent's Pod exists and
until every status names its Pod, the API writes the operator made per agent, the operator
process's RSS (idle, after, peak sampled every 0.2 s) and the CPU each side spent. The API server
runs in this process without a kubelet (the Pods are created, not run) and without evaluating CEL
rules (cel-python's interpreter would dominate the figures).

Which side is the bottleneck: the operator's CPU per agent is its own cost (what a real cluster
would see); when the API server's busy share nears 100 % of one core, the emulator, not the
operator, paces the run and the wall-clock figures overstate the operator's time.

    .venv/bin/python benchmarks/bench_operator.py [--agents 500] [--agents 2000] [--timeout 300]
        [--profile /tmp/op]   # cProfile the operator (CPU time) into /tmp/op-<agents>.prof
        [--log /tmp/op]       # the operator's log into /tmp/op-<agents>.log
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.support.apiserver import ApiServer  # noqa: E402
from tests.e2e.support.http import HttpApi  # noqa: E402
from tests.e2e.support.kubelet import free_port  # noqa: E402

NS = "bench"
AGENTS = "tradingfloor.dev/v1alpha1/traderagents"


def trader(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"strategy": "momentum", "market": {"asset": "BTC"}, "params": {"thresholdBps": 50}},
    }


def counts(api: ApiServer) -> tuple[int, int]:
    pods = sum(1 for p in api.store.list("v1/pods", NS) if p["metadata"]["name"].startswith("bench-"))
    statuses = sum(1 for a in api.store.list(AGENTS, NS) if (a.get("status") or {}).get("podName"))
    return pods, statuses


def count_writes(api: ApiServer) -> Counter[str]:
    """Tally the API server's writes by verb and resource (e.g. "create pods", "patch traderagents/status")."""
    writes: Counter[str] = Counter()
    create, patch, delete = api.create, api.patch, api.delete

    def counted_create(rtype: Any, *args: Any, **kwargs: Any) -> Any:
        writes[f"create {rtype.plural}"] += 1
        return create(rtype, *args, **kwargs)

    def counted_patch(rtype: Any, namespace: str, name: str, ctype: str, body: Any, sub: Any, *a: Any) -> Any:
        writes[f"patch {rtype.plural}{'/' + sub if sub else ''}"] += 1
        return patch(rtype, namespace, name, ctype, body, sub, *a)

    def counted_delete(rtype: Any, *args: Any, **kwargs: Any) -> Any:
        writes[f"delete {rtype.plural}"] += 1
        return delete(rtype, *args, **kwargs)

    api.create, api.patch, api.delete = counted_create, counted_patch, counted_delete  # type: ignore[method-assign,assignment]
    return writes


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def stop_operator(operator: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait while the API server still serves: kopf closes its watch streams and the
    cleanup handler runs against a live server (stopping the server first broke its connections)."""
    operator.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    while operator.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # keep this loop serving the operator's last requests
    if operator.poll() is None:
        operator.kill()
        operator.wait()


async def run(n: int, timeout: float, profile: str | None, log: str | None) -> None:
    api = ApiServer(evaluate_cel=False)  # OpenAPI schema still checked; see ApiServer
    for crd in sorted((ROOT / "crds").glob("*.yaml")):
        api.create(
            api.types["apiextensions.k8s.io/v1/customresourcedefinitions"],
            None,
            yaml.safe_load(crd.read_text()),
        )
    api.create_namespace(NS)
    runner = web.AppRunner(HttpApi(api).app(), access_log=None, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "FLOOR_KUBE_SERVER": f"http://127.0.0.1:{port}",
        "FLOOR_OPERATOR_METRICS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
        **({"FLOOR_OPERATOR_PROFILE": f"{profile}-{n}.prof"} if profile else {}),
    }
    floor = Path(sys.executable).parent / "floor"
    with open(f"{log}-{n}.log", "wb") if log else open(os.devnull, "wb") as out:
        operator = subprocess.Popen(
            [
                str(floor),
                "operator",
                "--namespace",
                NS,
                "--liveness",
                f"http://127.0.0.1:{free_port()}/healthz",
            ],
            env=env,
            stdout=out,
            stderr=out,
        )
        try:
            await measure(api, operator, n, timeout)
        finally:
            await stop_operator(operator)
            await runner.cleanup()


async def measure(api: ApiServer, operator: subprocess.Popen[bytes], n: int, timeout: float) -> None:
    proc, server = psutil.Process(operator.pid), psutil.Process()
    await asyncio.sleep(3)  # the operator's start-up: imports, login, first list+watch
    if operator.poll() is not None:
        raise SystemExit(f"floor operator exited with {operator.returncode}")
    rss_idle = proc.memory_info().rss / 2**20
    peak = rss_idle
    operator_cpu0, server_cpu0 = cpu_seconds(proc), cpu_seconds(server)
    writes = count_writes(api)
    start = time.perf_counter()
    kind = api.types[AGENTS]
    for i in range(n):
        api.create(kind, NS, trader(f"bench-{i:04d}"))
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the watch streams flow while creating
    created = time.perf_counter() - start
    pods_at = status_at = None
    while time.perf_counter() - start < timeout:
        pods, statuses = counts(api)
        peak = max(peak, proc.memory_info().rss / 2**20)
        if pods_at is None and pods >= n:
            pods_at = time.perf_counter() - start
        if statuses >= n:
            status_at = time.perf_counter() - start
            break
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - start
    operator_cpu = cpu_seconds(proc) - operator_cpu0
    server_cpu = cpu_seconds(server) - server_cpu0
    rss_after = proc.memory_info().rss / 2**20
    pods, statuses = counts(api)
    by_operator = {k: v for k, v in writes.items() if k != "create traderagents"}
    print(f"agents                    {n}")
    print(f"created all resources     {created:.2f} s")
    print(
        f"all Pods exist after      {pods_at:.2f} s" if pods_at else f"Pods after {timeout:.0f} s: {pods}/{n}"
    )
    print(
        f"all statuses written at   {status_at:.2f} s"
        if status_at
        else f"statuses after {timeout:.0f} s: {statuses}/{n}"
    )
    print(
        f"operator API writes       {sum(by_operator.values()) / n:.2f} per agent ("
        + ", ".join(f"{k} {v}" for k, v in sorted(by_operator.items()))
        + ")"
    )
    print(
        f"operator RSS              idle {rss_idle:.0f} MiB, after {rss_after:.0f} MiB, peak {peak:.0f} MiB"
    )
    print(
        f"operator CPU              {operator_cpu:.1f} s ({1000 * operator_cpu / n:.1f} ms per agent; "
        f"busy {100 * operator_cpu / elapsed:.0f} % of one core)"
    )
    print(
        f"API server CPU (emulator) {server_cpu:.1f} s (busy {100 * server_cpu / elapsed:.0f} % of one core"
        f"{'; the emulator paces this run' if server_cpu / elapsed > 0.85 else ''})"
    )
    print(f"load average              {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, action="append", help="repeat for several sizes (default 500)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--profile", help="path prefix: cProfile the operator into <prefix>-<agents>.prof")
    parser.add_argument("--log", help="path prefix: the operator's output into <prefix>-<agents>.log")
    args = parser.parse_args()
    for size in args.agents or [500]:
        asyncio.run(run(size, args.timeout, args.profile, args.log))
