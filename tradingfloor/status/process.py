"""What an auditor or monitor process needs around its loop: its own resource (from a manifest
file locally, from its custom resource in Kubernetes), the matching status sink, and an HTTP
server with ``/metrics`` and ``/healthz``."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from tradingfloor.bus.heartbeats import Heartbeat
from tradingfloor.models.manifests import ManifestError, Resource, load_manifests, parse_resource
from tradingfloor.observability.logging import configure_logging, get_logger
from tradingfloor.observability.metrics import HEARTBEAT
from tradingfloor.persistence.db import create_pool
from tradingfloor.settings import Settings
from tradingfloor.status.database import DatabaseStatusSink
from tradingfloor.status.kubernetes import PLURALS, KubernetesStatusSink
from tradingfloor.status.sink import StatusSink

log = get_logger("agent.process")

CHANNEL = "trading_floor"


async def load_resource(kind: str, manifest: Path | None, resource: str | None, namespace: str) -> Resource:
    """The one ``kind`` resource in ``manifest``, or the custom resource named ``resource``."""
    if manifest is not None:
        found = [r for r in load_manifests(manifest) if r.kind == kind]
        if len(found) != 1:
            raise ManifestError(f"{manifest}: expected exactly one {kind}, found {len(found)}")
        return found[0]
    if resource is None:
        raise ManifestError(
            f"a {kind} needs its manifest: a file (--manifest) or a resource name (--resource)"
        )
    from tradingfloor import kube_rest  # in-cluster, KUBECONFIG or FLOOR_KUBE_SERVER

    doc = await kube_rest.get_custom_object(
        await kube_rest.endpoint(), "tradingfloor.dev", "v1alpha1", namespace, PLURALS[kind], resource
    )
    return parse_resource(doc, f"{namespace}/{resource}")


def status_sink(in_kubernetes: bool, namespace: str, pool: Any) -> StatusSink:
    return KubernetesStatusSink(namespace) if in_kubernetes else DatabaseStatusSink(pool)


class HealthServer:
    """``/metrics`` (Prometheus text) and ``/healthz`` (200 while ``healthy`` is True)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.healthy = True
        self._runner: web.AppRunner | None = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok" if self.healthy else "unhealthy", status=200 if self.healthy else 503)

    async def start(self) -> None:
        if self.port == 0:
            return
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "0.0.0.0", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class AgentProcess:
    """Start-up and shut-down shared by the auditor and monitor: settings, database pool, Redis,
    status sink, health server, heartbeats, ``agent_started``/``agent_stopped`` messages and a
    stop event set by SIGTERM/SIGINT."""

    def __init__(
        self, kind: str, manifest: Path | None, resource: str | None, namespace: str, metrics_port: int
    ) -> None:
        self.kind, self.manifest, self.resource, self.namespace = kind, manifest, resource, namespace
        self.health = HealthServer(metrics_port)
        self.stop = asyncio.Event()
        self.resource_model: Resource | None = None
        self.pool: Any = None
        self.redis: Any = None
        self.sink: StatusSink | None = None
        self.beats: Heartbeat | None = None

    @property
    def model(self) -> Resource:
        """The agent's own resource (loaded on entering the process)."""
        if self.resource_model is None:
            raise RuntimeError(f"the {self.kind} process is used before it started")
        return self.resource_model

    @property
    def status_sink(self) -> StatusSink:
        if self.sink is None:
            raise RuntimeError(f"the {self.kind} process is used before it started")
        return self.sink

    @property
    def name(self) -> str:
        return str(self.model.metadata["name"])

    async def __aenter__(self) -> AgentProcess:
        settings = Settings.from_env()
        configure_logging(settings.log_level)
        if not settings.database_url:
            raise RuntimeError(f"{self.kind} needs DATABASE_URL (the floor's PostgreSQL)")
        self.resource_model = await load_resource(self.kind, self.manifest, self.resource, self.namespace)
        self.pool = await create_pool(settings.database_url)
        if settings.redis_url:
            import redis.asyncio as aioredis

            self.redis = aioredis.from_url(settings.redis_url)
        self.sink = status_sink(self.resource is not None, self.namespace, self.pool)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        await self.health.start()
        await self.publish("agent_started", {"kind": self.kind})
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.publish("agent_stopped", {"kind": self.kind, "error": repr(exc[1]) if exc[1] else None})
        await self.health.stop()
        if isinstance(self.sink, KubernetesStatusSink):
            await self.sink.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.pool is not None:
            await self.pool.close()

    async def heartbeat(self, ttl_seconds: int) -> None:
        """One beat on ``tf:heartbeat:<name>`` (:class:`tradingfloor.bus.heartbeats.Heartbeat`),
        expiring after ``ttl_seconds`` (the first call's; the caller beats about every third of it)."""
        if self.redis is not None:
            if self.beats is None:
                self.beats = Heartbeat(self.redis, self.name, ttl=ttl_seconds, interval=ttl_seconds / 3)
            try:
                info = await self.beats.beat()
            except (RedisError, OSError) as exc:  # Redis away: keep working, beat again next time
                log.warning("agent.heartbeat_failed", agent=self.name, error=str(exc))
                return
            HEARTBEAT.labels(agent=self.name).set(info.ts)
        else:
            HEARTBEAT.labels(agent=self.name).set(time.time())

    async def publish(self, type_: str, payload: dict[str, Any]) -> None:
        if self.redis is None or self.resource_model is None:
            return
        try:
            await self.redis.publish(
                CHANNEL,
                json.dumps({"type": type_, "sender": self.name, "payload": payload, "ts": time.time()}),
            )
        except (RedisError, OSError) as exc:  # a notice nobody may miss is not sent this way
            log.warning("agent.publish_failed", agent=self.name, kind=type_, error=str(exc))

    async def sleep(self, seconds: float) -> None:
        """Sleep, or return early when asked to stop."""
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            pass
