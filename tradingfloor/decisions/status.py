"""Condition helpers (metav1.Condition semantics) and the phase derived from conditions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from tradingfloor.models.common import Condition

READY = "Ready"
PAUSED = "Paused"
RETIRED = "Retired"
BACKOFF = "RestartBackoff"
EXHAUSTED = "RestartBudgetExhausted"
DEGRADED = "Degraded"
# Performance signals: their lastTransitionTime says how long a threshold has been crossed.
WIN_RATE_LOW = "WinRateLow"
WIN_RATE_HIGH = "WinRateHigh"
SHARPE_LOW = "SharpeLow"


def find(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def is_true(conditions: Sequence[Condition], type_: str) -> bool:
    found = find(conditions, type_)
    return found is not None and found.status == "True"


def true_since(conditions: Sequence[Condition], type_: str) -> datetime | None:
    """When the condition last became True, or None while it is not True."""
    found = find(conditions, type_)
    return found.lastTransitionTime if found is not None and found.status == "True" else None


def set_condition(
    conditions: list[Condition],
    type_: str,
    status: bool | Literal["True", "False", "Unknown"],
    reason: str,
    message: str,
    now: datetime,
    generation: int | None,
) -> list[Condition]:
    """Upsert a condition by type; lastTransitionTime changes only when the status value changes."""
    value = status if isinstance(status, str) else ("True" if status else "False")
    old = find(conditions, type_)
    since = old.lastTransitionTime if old is not None and old.status == value else now
    new = Condition(
        type=type_,
        status=value,
        reason=reason,
        message=message[:32768],
        lastTransitionTime=since,
        observedGeneration=generation,
    )
    if old is None:
        return [*conditions, new]
    return [new if c.type == type_ else c for c in conditions]


def derive_phase(conditions: Sequence[Condition]) -> str:
    """One word for ``kubectl get``: the most significant true condition wins."""
    for type_, phase in (
        (RETIRED, "Retired"),
        (PAUSED, "Paused"),
        (EXHAUSTED, "Failed"),
        (BACKOFF, "BackOff"),
        (READY, "Running"),
    ):
        if is_true(conditions, type_):
            return phase
    return "Pending"
