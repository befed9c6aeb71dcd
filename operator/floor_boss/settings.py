"""Operator settings from the environment, read once at startup."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value else default


def _num(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number, got {raw!r}") from None


# The market endpoint variables agents and collectors read (tradingfloor.settings, the simulator).
MARKET_ENV = ("POLYMARKET_GAMMA_URL", "POLYMARKET_CLOB_URL", "POLYMARKET_WS_URL", "POLYMARKET_SPOT_WS_URL")


@dataclass(frozen=True)
class BossSettings:
    agent_image: str = "ghcr.io/trading-floor/agent:latest"
    image_pull_policy: str = "IfNotPresent"
    connection_secret: str = "trading-floor-connections"
    agent_service_account: str = "trading-floor-agent"
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    resync_seconds: float = 30.0  # the level-based safety-net timer
    floor_check_seconds: float = 15.0  # circuit breakers and managed-agent gauges
    metrics_port: int = 9090  # 0 disables the operator's own /metrics server
    kube_server: str | None = None  # explicit API URL (tests, dev); default: in-cluster service account
    redis_url: str | None = None  # heartbeats; without it the heartbeat rule is skipped
    database_url: str | None = None  # probed for the DatabaseUnreachable breaker
    cpu_request: str = "100m"
    memory_request: str = "192Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"
    policy_overrides: dict = field(default_factory=dict)
    allow_live_trading: bool = False  # the floor-wide key of the two-key live opt-in, passed to every trader
    floor_capital: str | None = None  # the floor's total capital (USD); traders cap deployment at 40 % of it
    # Market endpoints passed to agent and collector Pods (POLYMARKET_* variables); empty: Polymarket.
    market_env: dict = field(default_factory=dict)
    # A trader's journal on a PersistentVolumeClaim of this size (e.g. "1Gi"); empty: emptyDir.
    journal_storage_size: str | None = None
    journal_storage_class: str | None = None
    collector_image: str | None = None  # default: the agent image (it carries `floor collector`)
    collector_cpu_request: str = "50m"
    collector_memory_request: str = "128Mi"
    collector_memory_limit: str = "384Mi"
    crd_wait_seconds: float = 5.0  # how often a missing CRD is looked for again
    # Least privilege: the Floor Boss migrates the database and gives each agent its own login in
    # its kind's role (a Secret per agent) instead of the connection Secret's owner URL.
    agent_db_logins: bool = False
    # The operator's own Deployment (the chart sets both): it owns the collector Pods of its
    # namespace, so deleting the release deletes them (see collector_pods.py).
    owner_deployment: str | None = None
    operator_namespace: str | None = None

    @classmethod
    def from_env(cls) -> BossSettings:
        import json

        namespaces = tuple(n for n in _env("FLOOR_NAMESPACES", "").split(",") if n.strip())
        overrides = _env("FLOOR_POLICY_JSON", "{}")
        try:
            policy = json.loads(overrides)
        except ValueError as exc:
            raise ValueError(f"FLOOR_POLICY_JSON is not valid JSON: {exc}") from None
        from tradingfloor.decisions.policy import FloorPolicy
        from tradingfloor.structs import parse

        try:
            parse(FloorPolicy, policy)  # checked here, so the error names the variable
        except ValueError as exc:
            raise ValueError(f"FLOOR_POLICY_JSON: {exc}") from None
        if _env("FLOOR_AGENT_DB_LOGINS", "false").strip().lower() in ("1", "true", "yes", "on") and not (
            os.environ.get("DATABASE_URL")
        ):
            raise ValueError(
                "FLOOR_AGENT_DB_LOGINS is on: the Floor Boss needs DATABASE_URL (the migration owner's)"
            )
        return cls(
            agent_image=_env("FLOOR_AGENT_IMAGE", cls.agent_image),
            floor_capital=os.environ.get("FLOOR_CAPITAL") or None,
            allow_live_trading=_env("FLOOR_ALLOW_LIVE_TRADING", "false").strip().lower()
            in ("1", "true", "yes", "on"),
            image_pull_policy=_env("FLOOR_IMAGE_PULL_POLICY", cls.image_pull_policy),
            connection_secret=_env("FLOOR_CONNECTION_SECRET", cls.connection_secret),
            agent_service_account=_env("FLOOR_AGENT_SERVICE_ACCOUNT", cls.agent_service_account),
            namespaces=namespaces,
            resync_seconds=_num("FLOOR_RESYNC_SECONDS", cls.resync_seconds),
            floor_check_seconds=_num("FLOOR_CHECK_SECONDS", cls.floor_check_seconds),
            metrics_port=int(_num("FLOOR_OPERATOR_METRICS_PORT", cls.metrics_port)),
            kube_server=os.environ.get("FLOOR_KUBE_SERVER") or None,
            redis_url=os.environ.get("REDIS_URL") or None,
            database_url=os.environ.get("DATABASE_URL") or None,
            cpu_request=_env("FLOOR_AGENT_CPU_REQUEST", cls.cpu_request),
            memory_request=_env("FLOOR_AGENT_MEMORY_REQUEST", cls.memory_request),
            cpu_limit=_env("FLOOR_AGENT_CPU_LIMIT", cls.cpu_limit),
            memory_limit=_env("FLOOR_AGENT_MEMORY_LIMIT", cls.memory_limit),
            policy_overrides=policy,
            market_env={k: v for k in MARKET_ENV if (v := os.environ.get(k))},
            journal_storage_size=os.environ.get("FLOOR_JOURNAL_STORAGE_SIZE") or None,
            journal_storage_class=os.environ.get("FLOOR_JOURNAL_STORAGE_CLASS") or None,
            collector_image=os.environ.get("FLOOR_COLLECTOR_IMAGE") or None,
            agent_db_logins=_env("FLOOR_AGENT_DB_LOGINS", "false").strip().lower()
            in ("1", "true", "yes", "on"),
            owner_deployment=os.environ.get("FLOOR_OPERATOR_DEPLOYMENT") or None,
            operator_namespace=os.environ.get("FLOOR_OPERATOR_NAMESPACE") or None,
        )
