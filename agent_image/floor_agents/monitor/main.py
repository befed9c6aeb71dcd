"""The monitor process: one pass every ``spec.intervalSeconds`` until stopped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from floor_agents.monitor.floor_pass import run_pass
from floor_agents.monitor.performance import AlertThresholds
from tradingfloor.models.manifests import ManifestError
from tradingfloor.models.monitor import Monitor
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import ERRORS
from tradingfloor.status.process import AgentProcess

log = get_logger("floor_agents.monitor")


async def run(manifest: Path | None, resource: str | None, namespace: str, metrics_port: int) -> None:
    async with AgentProcess("Monitor", manifest, resource, namespace, metrics_port) as proc:
        model = proc.model
        if not isinstance(model, Monitor):
            raise ManifestError(f"{proc.name}: expected a Monitor, got a {model.kind}")
        spec = model.spec
        thresholds = AlertThresholds.from_spec(spec.alerts)
        heartbeat_every = min(30, spec.intervalSeconds)
        next_pass = 0.0
        loop = asyncio.get_running_loop()
        while not proc.stop.is_set():
            await proc.heartbeat(ttl_seconds=3 * heartbeat_every)
            if spec.lifecycle == "Active" and loop.time() >= next_pass:
                next_pass = loop.time() + spec.intervalSeconds
                try:
                    result = await run_pass(
                        proc.pool,
                        proc.status_sink,
                        proc.name,
                        thresholds,
                        datetime.now(UTC),
                        redis=proc.redis,
                        match_labels=spec.selector.matchLabels,
                    )
                    proc.health.healthy = True
                    log.info("monitor.pass", agents=len(result.agents), alerts=len(result.alerts))
                except Exception as exc:
                    ERRORS.labels(agent=proc.name, kind=type(exc).__name__).inc()
                    proc.health.healthy = False
                    log.exception("monitor.pass_failed")
            await proc.sleep(heartbeat_every)


def main(manifest: Path | None, resource: str | None, namespace: str, metrics_port: int) -> None:
    asyncio.run(run(manifest, resource, namespace, metrics_port))
