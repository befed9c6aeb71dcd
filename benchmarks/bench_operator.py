"""Benchmark: the Floor Boss in its own process (as in a cluster) against the emulated API server
(tests/e2e/support), N TraderAgents created at once.

Prints, per size: the time to create the resources, the time until every agent's Pod exists and
until every status names its Pod, and the operator process's RSS (idle, after, peak sampled every
0.2 s). The API server runs in this process without a kubelet (the Pods are created, not run) and
without evaluating CEL rules (cel-python's interpreter would dominate the figures).

    .venv/bin/python benchmarks/bench_operator.py [--agents 500] [--agents 2000] [--timeout 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

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


def trader(name: str) -> dict:
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


async def run(n: int, timeout: float) -> None:
    api = ApiServer(evaluate_cel=False)  # OpenAPI schema still checked; see ApiServer
    for crd in sorted((ROOT / "crds").glob("*.yaml")):
        api.create(
            api.types["apiextensions.k8s.io/v1/customresourcedefinitions"],
            None,
            yaml.safe_load(crd.read_text()),
        )
    api.create_namespace(NS)
    runner = web.AppRunner(HttpApi(api).app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "FLOOR_KUBE_SERVER": f"http://127.0.0.1:{port}",
        "FLOOR_OPERATOR_METRICS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    floor = Path(sys.executable).parent / "floor"
    operator = subprocess.Popen(
        [str(floor), "operator", "--namespace", NS, "--liveness", f"http://127.0.0.1:{free_port()}/healthz"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proc = psutil.Process(operator.pid)
    try:
        await asyncio.sleep(3)  # the operator's start-up: imports, login, first list+watch
        if operator.poll() is not None:
            raise SystemExit(f"floor operator exited with {operator.returncode}")
        rss_idle = proc.memory_info().rss / 2**20
        peak = rss_idle
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
        rss_after = proc.memory_info().rss / 2**20
        pods, statuses = counts(api)
        print(f"agents                    {n}")
        print(f"created all resources     {created:.2f} s")
        print(
            f"all Pods exist after      {pods_at:.2f} s"
            if pods_at
            else f"Pods after {timeout:.0f} s: {pods}/{n}"
        )
        print(
            f"all statuses written at   {status_at:.2f} s"
            if status_at
            else f"statuses after {timeout:.0f} s: {statuses}/{n}"
        )
        print(
            f"operator RSS              idle {rss_idle:.0f} MiB, after {rss_after:.0f} MiB, peak {peak:.0f} MiB"
        )
        server = psutil.Process()
        print(
            f"CPU time                  operator {sum(proc.cpu_times()[:2]):.1f} s, API server (this process) "
            f"{sum(server.cpu_times()[:2]):.1f} s; {api.store.rv} writes; load average {os.getloadavg()[0]:.1f}"
        )
    finally:
        operator.terminate()
        try:
            operator.wait(15)
        except subprocess.TimeoutExpired:
            operator.kill()
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, action="append", help="repeat for several sizes (default 500)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    for size in args.agents or [500]:
        asyncio.run(run(size, args.timeout))
