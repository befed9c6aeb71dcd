"""kopf wiring, kept thin: watch events feed the runtime's indexes and kick a reconcile; the Floor
Boss's own loops re-reconcile every resource (level-based safety net), keep the collectors and
check the breakers.

No kopf handler here needs a finalizer (no on.delete, no timers, no daemons): Pods and journal
claims are owned through ownerReferences and go with their agent, so deleting an agent, or its
namespace after ``helm uninstall``, never hangs. A finalizer left by an older Floor Boss is removed
by kopf on the resource's next event.

``build_registry(settings)`` registers every handler on a fresh registry, so tests and the CLI
run exactly the same set.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from floor_boss.collectors import COMPONENT, LABEL_SERIES
from floor_boss.heartbeats import Heartbeats
from floor_boss.kube import Kube
from floor_boss.pods import LABEL_AGENT, LABEL_KIND, MANAGED_BY, MANAGER
from floor_boss.probes import api_health, database_reachable
from floor_boss.runtime import FloorBoss
from floor_boss.settings import BossSettings
from tradingfloor.decisions import ProbeStreak
from tradingfloor.decisions.kinds import KINDS, PLURALS
from tradingfloor.kubeclient import bearer_token
from tradingfloor.models.common import GROUP

log = logging.getLogger("floor_boss")
PREFIX = f"floorboss.{GROUP}"


class _State:
    settings: BossSettings | None = None  # set by the caller before the operator starts, else from env
    boss: FloorBoss | None = None
    tasks: list[asyncio.Task[None]] = []


STATE = _State()


def boss() -> FloorBoss:
    if STATE.boss is None:
        raise kopf.TemporaryError("the Floor Boss is still starting", delay=1)
    return STATE.boss


def _settings() -> BossSettings:
    if STATE.settings is None:
        STATE.settings = BossSettings.from_env()
    return STATE.settings


async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    cfg = _settings()
    if not log.isEnabledFor(logging.DEBUG):
        # kopf logs "Handler ... succeeded" at info for every watch event it handles: one line per
        # event, thousands a minute on a busy floor. Its per-object log keeps warnings and errors.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    # The name kopf used when it still added finalizers: kopf removes it where no handler needs it.
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.posting.enabled = False  # the Floor Boss posts its own Events (explicit names, no generateName)
    settings.scanning.disabled = True  # fixed resources: no CRD/namespace watching, less RBAC
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 310
    if cfg.agent_db_logins and cfg.database_url:  # agents' logins may not migrate: the owner does it here
        from tradingfloor.persistence.migrate import migrate

        await migrate(cfg.database_url)
    kube = await Kube.connect(cfg.kube_server)
    await wait_for_crds(kube, cfg.crd_wait_seconds)  # /healthz is served only after this returns
    heartbeats = Heartbeats(cfg.redis_url) if cfg.redis_url else None
    STATE.boss = FloorBoss(cfg, kube, heartbeats)
    await STATE.boss.collectors.find_owner()
    if cfg.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(cfg.metrics_port)
    STATE.tasks = [
        asyncio.create_task(_floor_loop(STATE.boss)),
        asyncio.create_task(_resync_loop(STATE.boss)),
        asyncio.create_task(STATE.boss.collectors.run()),
    ]


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf builds and deep-copies every body's "essence" on every event, to diff it for change
    handlers (on.create/update/resume). The Floor Boss has none (on.event only; it reconciles the
    level), so nothing is built, fetched or stored: that copying was a sixth of the operator's CPU
    with 2,000 agents. A change handler added later must bring back kopf's annotation storage."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> Any:
        return None

    def fetch(self, *, body: kopf.Body) -> None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: Any) -> None:
        return None


async def wait_for_crds(kube: Kube, every: float) -> None:
    """An operator started before its CRDs would watch nothing: wait (not ready) until they are served."""
    while True:
        missing = sorted(set(KINDS) - await kube.served_kinds())
        if not missing:
            return
        log.warning(
            "waiting for the CRDs of %s (%s) to be installed; not ready until then", ", ".join(missing), GROUP
        )
        await asyncio.sleep(every)


async def crds_served(**_: Any) -> str:
    """The liveness/readiness probe: fails while a CRD is missing (deleted after start-up)."""
    missing = sorted(set(KINDS) - await boss().kube.served_kinds())
    if missing:
        raise kopf.PermanentError(f"CRDs not served: {', '.join(missing)}")
    return "served"


async def cleanup(**_: Any) -> None:
    for task in STATE.tasks:
        task.cancel()
    await asyncio.gather(*STATE.tasks, return_exceptions=True)
    STATE.tasks = []
    if STATE.boss is not None:
        await STATE.boss.stop()
        await STATE.boss.kube.close()
        if STATE.boss.heartbeats is not None:
            await STATE.boss.heartbeats.close()
    STATE.boss = None


async def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf's credentials come from the same client the Floor Boss uses (re-read on every login,
    which kopf repeats on a 401: a rotated ServiceAccount token is picked up)."""
    from tradingfloor.kubeclient import load_configuration

    cfg = await load_configuration(_settings().kube_server)
    if not cfg.host:
        raise kopf.PermanentError(
            "no Kubernetes API server configured (in-cluster, KUBECONFIG or FLOOR_KUBE_SERVER)"
        )
    return kopf.ConnectionInfo(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert or None,
        insecure=not cfg.verify_ssl,
        token=await bearer_token(cfg),
        certificate_path=cfg.cert_file or None,
        private_key_path=cfg.key_file or None,
        default_namespace="default",
    )


# --- agents: every watch event (spec, status, labels) kicks a level-based reconcile -------------
def _watch_agents(registry: kopf.OperatorRegistry, plural: str) -> None:
    @kopf.on.event(GROUP, "v1alpha1", plural, registry=registry, id=f"{plural}-event")
    async def agent_event(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
        runtime = boss()
        deleted = event.get("type") == "DELETED"
        key = runtime.remember(body, deleted=deleted)
        if deleted:
            try:
                await runtime.release_login(key[0], key[2])
            except Exception as exc:  # best effort: a deleted agent's Pod and Secret are gone anyway
                log.warning("could not release %s's login: %s", key[2], exc)
        elif not runtime.echo:
            runtime.kick(key)
        if key[0] == "TraderAgent":
            runtime.collectors.note_trader(key, runtime.bodies.get(key))


# --- the index of child Pods: pod events update it and wake the owner -------------------------
async def pod_event(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
    labels = body.metadata.labels
    runtime = boss()
    deleted = event.get("type") == "DELETED"
    if labels.get("app.kubernetes.io/component") == COMPONENT and labels.get(LABEL_SERIES):
        runtime.collectors.remember_pod(body, deleted)
        return
    kind, owner, namespace = labels.get(LABEL_KIND), _owner_name(body), body.metadata.namespace
    if kind not in PLURALS or owner is None or namespace is None:
        return
    key = (kind, namespace, owner)
    runtime.remember_pod(key, body, deleted=deleted)
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
    kopf.on.probe(registry=registry, id="crds")(crds_served)
    for plural in PLURALS.values():
        _watch_agents(registry, plural)
    kopf.on.event("v1", "pods", labels={MANAGED_BY: MANAGER}, registry=registry)(pod_event)
    return registry


async def _resync_loop(runtime: FloorBoss) -> None:
    """Every resource again on a fixed period: the level-based safety net (no kopf timer, so no
    finalizer)."""
    while True:
        await asyncio.sleep(runtime.settings.resync_seconds)
        runtime.kick_all()


async def _floor_loop(runtime: FloorBoss) -> None:
    """Floor-wide breakers and gauges, on their own clock."""
    database = ProbeStreak(runtime.policy.database_failures_to_open)
    while True:
        try:
            reachable = database.record(await database_reachable(runtime.settings.database_url))
            api = await api_health(runtime.heartbeats.client if runtime.heartbeats is not None else None)
            runtime.update_breakers(runtime.floor_signals(reachable, api))
            runtime.update_managed_gauge()
        except Exception:  # a failing check must not stop the loop
            log.exception("floor check failed")
        await asyncio.sleep(runtime.settings.floor_check_seconds)
