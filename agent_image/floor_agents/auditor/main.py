"""The auditor process: audit pending fills and trades every ``spec.checkIntervalSeconds`` (sooner
when a ``trade_executed`` message arrives), then write ``status.audit``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from floor_agents.auditor.audit_pass import Auditor, BookCache
from floor_agents.auditor.heads import advance_head, head_store
from tradingfloor.audit.checks import Thresholds
from tradingfloor.audit.heads import ChainRewritten
from tradingfloor.audit.keys import load_key
from tradingfloor.models.auditor import Auditor as AuditorResource
from tradingfloor.models.manifests import ManifestError
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import ERRORS
from tradingfloor.persistence.repositories import list_agents
from tradingfloor.settings import Settings
from tradingfloor.status.process import CHANNEL, AgentProcess

log = get_logger("floor_agents.auditor")


async def listen(redis, books: BookCache, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Low-latency path: remember the book each trade met and wake the loop. The database stays
    the source of truth, so a missed message only delays an audit."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(CHANNEL)
    try:
        while not stop.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            try:
                body = json.loads(message["data"])
            except (ValueError, TypeError):
                log.warning("auditor.bad_message", data=str(message.get("data"))[:200])
                continue
            if isinstance(body, dict) and body.get("type") == "trade_executed":
                books.consume_message(body)
                wake.set()
    finally:
        await pubsub.aclose()


async def selected_agents(pool, match_labels: dict[str, str]) -> list[str] | None:
    if not match_labels:
        return None
    rows = await list_agents(pool, kind="TraderAgent")
    return [r.name for r in rows if all(r.labels.get(k) == v for k, v in match_labels.items())]


async def run(manifest: Path | None, resource: str | None, namespace: str, metrics_port: int) -> None:
    async with AgentProcess("Auditor", manifest, resource, namespace, metrics_port) as proc:
        model = proc.model
        if not isinstance(model, AuditorResource):
            raise ManifestError(f"{proc.name}: expected an Auditor, got a {model.kind}")
        spec = model.spec
        books, wake = BookCache(), asyncio.Event()
        listener = asyncio.create_task(listen(proc.redis, books, wake, proc.stop)) if proc.redis else None
        settings = Settings.from_env()
        in_cluster = resource is not None
        # Locally the floor keeps its own key under the state dir; in Kubernetes it comes from the
        # Auditor's Secret and a missing key is an error, not a reason to make up a new one.
        key = load_key(settings.state_dir, create=not in_cluster)
        heads = head_store(settings.state_dir, namespace, in_cluster)
        auditor = Auditor(proc.name, Thresholds.from_spec(spec.thresholds), books=books, key=key)
        try:
            while not proc.stop.is_set():
                await proc.heartbeat(ttl_seconds=3 * max(30, spec.checkIntervalSeconds))
                if spec.lifecycle == "Active":
                    try:
                        auditor.agents = await selected_agents(proc.pool, spec.selector.matchLabels)
                        # never append on top of a log that no longer continues the exported head
                        await advance_head(proc.pool, heads, key)
                        stats = await auditor.run_pass(proc.pool)
                        await advance_head(proc.pool, heads, key)
                        await proc.status_sink.patch_status(
                            "Auditor", proc.name, {"audit": await auditor.summary(proc.pool)}
                        )
                        proc.health.healthy = True
                        if stats.checked:
                            log.info("auditor.pass", checked=stats.checked, violations=len(stats.violations))
                    except ChainRewritten as exc:
                        ERRORS.labels(agent=proc.name, kind="ChainRewritten").inc()
                        proc.health.healthy = False
                        log.error("auditor.chain_rewritten", detail=str(exc), bad_seq=exc.result.bad_seq)
                    except Exception as exc:
                        ERRORS.labels(agent=proc.name, kind=type(exc).__name__).inc()
                        proc.health.healthy = False
                        log.exception("auditor.pass_failed")
                wake.clear()
                waiter = asyncio.create_task(wake.wait())
                stopper = asyncio.create_task(proc.stop.wait())
                await asyncio.wait(
                    {waiter, stopper}, timeout=spec.checkIntervalSeconds, return_when=asyncio.FIRST_COMPLETED
                )
                waiter.cancel()
                stopper.cancel()
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)


def main(manifest: Path | None, resource: str | None, namespace: str, metrics_port: int) -> None:
    asyncio.run(run(manifest, resource, namespace, metrics_port))
