"""Run the real Floor Boss under kopf, in-process, against the FloorEmulator."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import kmock
import pytest

from floor_boss.settings import BossSettings
from tests.operator.kube_emulator import FloorEmulator
from tradingfloor.models.common import GROUP, VERSION

NS = "floor"
AGENTS = f"{GROUP}/{VERSION}/traderagents"


@pytest.fixture
async def emulator() -> AsyncIterator[FloorEmulator]:
    async with FloorEmulator() as emu, kmock.Server(emu):
        yield emu


@contextlib.asynccontextmanager
async def running_operator(emu: FloorEmulator, **overrides: Any) -> AsyncIterator[None]:
    import kopf

    from floor_boss.handlers import build_registry

    options = {"resync_seconds": 1.0, "floor_check_seconds": 0.5, "metrics_port": 0, **overrides}
    cfg = BossSettings(kube_server=str(emu.url).rstrip("/"), **options)
    registry = build_registry(cfg)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(registry=registry, standalone=True, clusterwide=True, stop_flag=stop, ready_flag=ready)
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 15)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def trader(name: str, **spec: Any) -> dict[str, Any]:
    base = {
        "strategy": "momentum",
        "market": {"asset": "BTC"},
        "params": {"thresholdBps": 50},
        "restartPolicy": {"backoffBaseSeconds": 1, "backoffCapSeconds": 1, "heartbeatTimeoutSeconds": 3},
    }
    base.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TraderAgent",
        "metadata": {"name": name, "namespace": NS},
        "spec": base,
    }


async def apply(emu: FloorEmulator, manifest: dict[str, Any], plural: str = "traderagents") -> dict[str, Any]:
    async with emu.post(f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/{plural}", json=manifest) as resp:
        assert resp.status in (200, 201), await resp.text()
        return await resp.json()


async def patch(emu: FloorEmulator, path: str, body: dict[str, Any]) -> None:
    async with emu.patch(path, json=body, headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status == 200, await resp.text()


def live_pods(emu: FloorEmulator, prefix: str = "") -> dict[str, dict[str, Any]]:
    return {
        name: obj.raw
        for (res, ns, name), obj in list(emu.objects.items())
        if res.plural == "pods" and not obj.deleted and name.startswith(prefix)
    }


def active_pods(emu: FloorEmulator, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Pods that have not ended (a failed Pod may be kept for its logs)."""
    return {
        name: pod
        for name, pod in live_pods(emu, prefix).items()
        if (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded")
    }


def agent(emu: FloorEmulator, name: str) -> dict[str, Any]:
    return emu.objects[AGENTS, NS, name].raw


def events(emu: FloorEmulator, reason: str) -> list[dict[str, Any]]:
    return [
        obj.raw
        for (res, _, _), obj in list(emu.objects.items())
        if res.plural == "events" and not obj.deleted and obj.raw.get("reason") == reason
    ]


async def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except KeyError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
