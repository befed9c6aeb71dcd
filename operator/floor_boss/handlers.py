"""kopf wiring, kept thin: watch events feed the runtime's bookkeeping and kick a reconcile; a
timer re-reconciles every resource as a level-based safety net; a floor loop checks the breakers.

``build_registry(settings)`` registers every handler on a fresh registry, so tests and the CLI
run exactly the same set.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from floor_boss.heartbeats import Heartbeats
from floor_boss.kube import PLURALS, Connection, Kube
from floor_boss.pods import LABEL_AGENT, LABEL_KIND, MANAGED_BY, MANAGER
from floor_boss.runtime import FloorBoss
from floor_boss.settings import BossSettings
from tradingfloor.bus import api_health
from tradingfloor.models.common import GROUP

log = logging.getLogger("floor_boss")
PREFIX = f"floorboss.{GROUP}"


class _State:
    settings: BossSettings | None = None  # set by the caller before the operator starts, else from env
    boss: FloorBoss | None = None
    floor_task: asyncio.Task | None = None


STATE = _State()


def boss_settings() -> BossSettings:
    if STATE.settings is None:
        raise RuntimeError("build_registry(settings) must run before the operator starts")
    return STATE.settings


def boss() -> FloorBoss:
    if STATE.boss is None:
        raise kopf.TemporaryError("the Floor Boss is still starting", delay=1)
    return STATE.boss


async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    cfg = boss_settings()
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    settings.posting.enabled = False  # the Floor Boss posts its own Events (explicit names, no generateName)
    settings.scanning.disabled = True  # fixed resources: no CRD/namespace watching, less RBAC
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 310
    heartbeats = Heartbeats(cfg.redis_url) if cfg.redis_url else None
    STATE.boss = FloorBoss(cfg, Kube(Connection.resolve(cfg.kube_server)), heartbeats)
    if cfg.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(cfg.metrics_port)
    STATE.floor_task = asyncio.create_task(_floor_loop(STATE.boss))


async def cleanup(**_: Any) -> None:
    if STATE.floor_task is not None:
        STATE.floor_task.cancel()
        await asyncio.gather(STATE.floor_task, return_exceptions=True)
    if STATE.boss is not None:
        await STATE.boss.stop()
        await STATE.boss.kube.close()
        if STATE.boss.heartbeats is not None:
            await STATE.boss.heartbeats.close()
    STATE.boss = STATE.floor_task = None


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    cfg = boss_settings()
    if cfg.kube_server:
        return kopf.ConnectionInfo(server=cfg.kube_server, insecure=True, default_namespace="default")
    return kopf.login_with_service_account(**kwargs)


# --- agents: every watch event (spec, status, labels) kicks a level-based reconcile -------------
def _watch_agents(registry: kopf.OperatorRegistry, plural: str, resync_seconds: float) -> None:
    @kopf.on.event(GROUP, "v1alpha1", plural, registry=registry, id=f"{plural}-event")
    async def agent_event(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
        runtime = boss()
        key = runtime.remember(body, deleted=event.get("type") == "DELETED")
        if event.get("type") != "DELETED":
            runtime.kick(key)

    @kopf.timer(GROUP, "v1alpha1", plural, registry=registry, id=f"{plural}-resync", interval=resync_seconds)
    async def agent_resync(body: kopf.Body, **_: Any) -> None:
        runtime = boss()
        runtime.remember(body)
        await runtime.reconcile(body)


# --- the index of child Pods: pod events update it and wake the owner -------------------------
async def pod_event(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
    labels = body.metadata.labels
    kind, owner, namespace = labels.get(LABEL_KIND), _owner_name(body), body.metadata.namespace
    if kind not in PLURALS or owner is None or namespace is None:
        return
    runtime = boss()
    key = (kind, namespace, owner)
    runtime.remember_pod(key, body, deleted=event.get("type") == "DELETED")
    runtime.kick(key)


def _owner_name(body: kopf.Body) -> str | None:
    # The owner reference holds the full name (the label may be shortened to 63 characters).
    for ref in body.metadata.get("ownerReferences") or []:
        if ref.get("kind") in PLURALS and ref.get("controller"):
            return ref.get("name")
    return body.metadata.labels.get(LABEL_AGENT)


def build_registry(cfg: BossSettings) -> kopf.OperatorRegistry:
    STATE.settings = cfg
    registry = kopf.OperatorRegistry()
    kopf.on.startup(registry=registry)(startup)
    kopf.on.cleanup(registry=registry)(cleanup)
    kopf.on.login(registry=registry)(login)
    for plural in PLURALS.values():
        _watch_agents(registry, plural, cfg.resync_seconds)
    kopf.on.event("v1", "pods", labels={MANAGED_BY: MANAGER}, registry=registry)(pod_event)
    return registry


async def _floor_loop(runtime: FloorBoss) -> None:
    """Floor-wide breakers and gauges, on their own clock."""
    while True:
        try:
            reachable = await _database_reachable(runtime.settings.database_url)
            api = await _api_health(runtime)
            runtime.update_breakers(runtime.floor_signals(reachable, api))
            runtime.update_managed_gauge()
        except Exception:  # a failing check must not stop the loop
            log.exception("floor check failed")
        await asyncio.sleep(runtime.settings.floor_check_seconds)


async def _database_reachable(url: str | None) -> bool | None:
    if not url:
        return None
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _api_health(runtime: FloorBoss) -> tuple[int, int]:
    """(requests, errors) the floor made to the venue over the last minutes (``tradingfloor.bus.api_health``)."""
    if runtime.heartbeats is None:
        return 0, 0
    health = await api_health.read(runtime.heartbeats.client)
    return health.requests, health.errors
