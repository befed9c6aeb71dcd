"""Restart backoff and the hourly restart budget (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

BUDGET_WINDOW = timedelta(hours=1)


def restart_delay(consecutive_failures: int, base: float, cap: float) -> float:
    """Seconds to wait before restart number ``consecutive_failures`` (1 → base, 2 → 2·base, … ≤ cap)."""
    if consecutive_failures < 1:
        return 0.0
    # The exponent is bounded so a huge failure count cannot overflow before the cap applies.
    return float(min(cap, base * 2 ** min(consecutive_failures - 1, 62)))


def recent_restarts(times: Iterable[datetime], now: datetime) -> list[datetime]:
    """The restart times still inside the budget window, oldest first."""
    return sorted(t for t in times if now - t < BUDGET_WINDOW)


def restart_allowed(times: Iterable[datetime], now: datetime, max_per_hour: int) -> bool:
    return len(recent_restarts(times, now)) < max_per_hour
