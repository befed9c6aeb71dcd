"""Where a trader's desired state comes from: a manifest file (local floor) or its custom resource
read in-cluster (Kubernetes). Both give the same validated (name, spec).

The Floor Boss's answer comes back the same two ways: its ``status`` (notably ``sizeMultiplier``)
is the agent's row in the shared ``agents`` table locally, the custom resource's status in
Kubernetes. :func:`size_multiplier` reads the multiplier out of either."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tradingfloor.models.manifests import ManifestError, load_manifests, parse_resource
from tradingfloor.models.trader_agent import PLURAL, TraderAgent, TraderAgentSpec
from tradingfloor.persistence import repositories as repo

StatusReader = Callable[
    [], Awaitable[Mapping[str, Any] | None]
]  # the agent's own status, None when it has none


def from_file(path: Path) -> tuple[str, TraderAgentSpec]:
    agents = [r for r in load_manifests(path) if isinstance(r, TraderAgent)]
    if len(agents) != 1:
        raise ManifestError(f"{path}: expected exactly one TraderAgent, found {len(agents)}")
    return agents[0].metadata["name"], agents[0].spec


async def _get_resource(name: str, namespace: str) -> dict[str, Any]:
    # in-cluster, KUBECONFIG or FLOOR_KUBE_SERVER; the standard library's HTTP client, not
    # kubernetes_asyncio's (whose generated models would add ~45 MiB to every trader Pod)
    from tradingfloor import kube_rest

    return await kube_rest.get_custom_object(
        await kube_rest.endpoint(), "tradingfloor.dev", "v1alpha1", namespace, PLURAL, name
    )


async def from_resource(name: str, namespace: str) -> tuple[str, TraderAgentSpec]:
    resource = parse_resource(await _get_resource(name, namespace), source=f"TraderAgent {namespace}/{name}")
    assert isinstance(resource, TraderAgent)
    return name, resource.spec


def resource_status(name: str, namespace: str) -> StatusReader:
    """Reads the custom resource's ``status`` (Kubernetes)."""

    async def read() -> Mapping[str, Any] | None:
        return (await _get_resource(name, namespace)).get("status")

    return read


def database_status(db: repo.Executor, name: str) -> StatusReader:
    """Reads the ``status`` column of the agent's row in the shared ``agents`` table (local floor)."""

    async def read() -> Mapping[str, Any] | None:
        row = await repo.get_agent(db, name)
        return None if row is None else row.status

    return read


def size_multiplier(status: Mapping[str, Any] | None) -> Decimal:
    """``status.sizeMultiplier`` as a Decimal in [0, 1]; 1 when the Floor Boss has not set one;
    0 while a floor circuit breaker pauses trading (no new entries; open positions run to settlement)."""
    if any(
        c.get("type") == "Paused" and c.get("status") == "True" and c.get("reason") == "CircuitBreakerOpen"
        for c in (status or {}).get("conditions") or []
        if isinstance(c, dict)
    ):
        return Decimal(0)
    raw = (status or {}).get("sizeMultiplier")
    if raw is None:
        return Decimal(1)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"status.sizeMultiplier {raw!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise ValueError(f"status.sizeMultiplier {raw!r} is not between 0 and 1")
    return value
