"""Market-data collectors: exactly one per series (asset + interval) that an Active trader needs.

The series a floor needs and the backoff of a failing collector are decided here, purely, for
both runtimes. The operator runs each as a Pod it owns (``collector-<asset>-<interval>``); the
local floor runs each as a task. Why the operator and not the chart: see docs/floor-boss.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from floor_boss.pods import MANAGED_BY, MANAGER, _secret_env
from floor_boss.settings import BossSettings
from tradingfloor.decisions.backoff import restart_delay
from tradingfloor.models.common import GROUP
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.structs import ModelError, parse

COMPONENT = "collector"
LABEL_SERIES = f"{GROUP}/series"
COLLECTOR_METRICS_PORT = 9108
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
HEALTHY_RESET_SECONDS = 600.0


@dataclass(frozen=True, order=True)
class Series:
    asset: str  # as traders name it: "BTC"
    interval: str  # "15m"

    @property
    def slug(self) -> str:
        return f"{self.asset.lower()}-{self.interval}"

    @property
    def pod_name(self) -> str:
        return f"collector-{self.slug}"


def series_of_spec(raw: Mapping[str, Any]) -> Series | None:
    """The series a trader spec needs a collector for: None unless it validates and is Active."""
    try:
        spec = parse(TraderAgentSpec, raw)
    except ModelError:
        return None
    return Series(spec.market.asset, spec.market.interval) if spec.lifecycle == "Active" else None


def series_needed(specs: Iterable[Mapping[str, Any]]) -> set[Series]:
    """The series of every Active trader whose spec validates (one collector each)."""
    return {series for raw in specs if (series := series_of_spec(raw)) is not None}


def collector_labels(series: Series) -> dict[str, str]:
    return {
        MANAGED_BY: MANAGER,
        "app.kubernetes.io/name": "trading-floor",
        "app.kubernetes.io/component": COMPONENT,
        LABEL_SERIES: series.slug,
    }


# The collectors' own database login (settings.agent_db_logins), one per namespace; the dot keeps
# it apart from every agent's `<agent>-db-login` (agent names have none).
COLLECTOR_DB_SECRET = "collector.db-login"


def collector_login_secret(
    namespace: str, database_url: str, owner: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The collectors' login Secret, owned like their Pods (deleted with the operator's Deployment)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": COLLECTOR_DB_SECRET,
            "namespace": namespace,
            "labels": {MANAGED_BY: MANAGER, "app.kubernetes.io/component": COMPONENT},
            **({"ownerReferences": [dict(owner)]} if owner else {}),
        },
        "stringData": {"DATABASE_URL": database_url},
    }


def deployment_owner(name: str, uid: str) -> dict[str, Any]:
    """An ownerReference to the operator's Deployment: the garbage collector deletes the collectors
    when the Deployment goes (``helm uninstall``). Not a controller reference (the Floor Boss, not
    the Deployment, manages them), and no blockOwnerDeletion (it would need finalizers RBAC)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": uid}


def collector_pod(
    series: Series, namespace: str, settings: BossSettings, owner: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The Pod of one series' collector (`floor collector`), same connection env as agent Pods,
    owned by ``owner`` (the operator's Deployment, in the same namespace) when given."""
    database = COLLECTOR_DB_SECRET if settings.agent_db_logins else settings.connection_secret
    env = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        _secret_env("DATABASE_URL", database, "DATABASE_URL"),
        _secret_env("REDIS_URL", settings.connection_secret, "REDIS_URL"),
        {"name": "METRICS_PORT", "value": str(COLLECTOR_METRICS_PORT)},
        *({"name": k, "value": v} for k, v in sorted(settings.market_env.items())),
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": series.pod_name,
            "namespace": namespace,
            "labels": collector_labels(series),
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(COLLECTOR_METRICS_PORT),
                "prometheus.io/path": "/metrics",
            },
            **({"ownerReferences": [dict(owner)]} if owner else {}),
        },
        "spec": {
            "restartPolicy": "Never",  # the operator restarts it with backoff
            "serviceAccountName": settings.agent_service_account,
            "automountServiceAccountToken": False,  # a collector never talks to the Kubernetes API
            "terminationGracePeriodSeconds": 15,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": COMPONENT,
                    "image": settings.collector_image or settings.agent_image,
                    "imagePullPolicy": settings.image_pull_policy,
                    "command": [
                        "floor",
                        "collector",
                        "--asset",
                        series.asset.lower(),
                        "--interval",
                        series.interval,
                    ],
                    "env": env,
                    "ports": [
                        {"name": "metrics", "containerPort": COLLECTOR_METRICS_PORT, "protocol": "TCP"}
                    ],
                    "resources": {
                        "requests": {
                            "cpu": settings.collector_cpu_request,
                            "memory": settings.collector_memory_request,
                        },
                        "limits": {"memory": settings.collector_memory_limit},
                    },
                    "livenessProbe": {
                        "httpGet": {"path": "/healthz", "port": "metrics"},
                        "initialDelaySeconds": 10,
                        "periodSeconds": 15,
                        "failureThreshold": 4,
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                }
            ],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


@dataclass(frozen=True)
class Running:
    """What the platform sees of one series' collector."""

    state: str  # pending | running | succeeded | failed
    started_at: float | None = None  # wall seconds
    deleting: bool = False


@dataclass
class Backoff:
    failures: int = 0
    retry_at: float = 0.0


@dataclass(frozen=True)
class CollectorPlan:
    start: tuple[Series, ...] = ()
    stop: tuple[Series, ...] = ()
    retry_in: float | None = None  # seconds until a backed-off start is due


@dataclass
class CollectorBook:
    """Per-series backoff memory; ``plan`` is pure apart from updating it."""

    backoff: dict[Series, Backoff] = field(default_factory=dict)

    def plan(
        self, needed: set[Series], running: Mapping[Series, Running], now: float | None = None
    ) -> CollectorPlan:
        now = time.time() if now is None else now
        start, stop, waits = [], [], []
        for series in sorted(needed):
            seen = running.get(series)
            memo = self.backoff.setdefault(series, Backoff())
            if seen is None:
                if now >= memo.retry_at:
                    start.append(series)
                else:
                    waits.append(memo.retry_at - now)
            elif seen.deleting:
                continue  # its name frees up when it is gone
            elif seen.state in ("failed", "succeeded"):
                memo.failures += 1
                delay = restart_delay(memo.failures, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS)
                memo.retry_at = now + delay
                stop.append(series)
                waits.append(delay)
            elif (
                seen.state == "running" and seen.started_at and now - seen.started_at >= HEALTHY_RESET_SECONDS
            ):
                memo.failures = 0
        for series, seen in sorted(running.items()):
            if series not in needed and not seen.deleting:
                stop.append(series)
                self.backoff.pop(series, None)
        return CollectorPlan(tuple(start), tuple(stop), min(waits) if waits else None)
