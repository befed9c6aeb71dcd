"""Floor-wide circuit breakers: any open breaker pauses all trading until it closes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tradingfloor.decisions.policy import FloorPolicy

DAILY_LOSS = "DailyLoss"
API_ERROR_RATE = "ApiErrorRate"
DATABASE_UNREACHABLE = "DatabaseUnreachable"
BREAKERS = (DAILY_LOSS, API_ERROR_RATE, DATABASE_UNREACHABLE)


@dataclass(frozen=True)
class FloorSignals:
    daily_pnl: float = 0.0
    capital: float = 0.0
    api_requests: int = 0
    api_errors: int = 0
    database_reachable: bool | None = None  # None: not checked


def floor_pnl(agents: Iterable[tuple[float, float | None]]) -> tuple[float, float]:
    """(total daily P&L, total capital) from (capital, daily P&L or None) per trading agent."""
    capital = pnl = 0.0
    for agent_capital, daily in agents:
        capital += agent_capital
        pnl += daily or 0.0
    return pnl, capital


def open_breakers(signals: FloorSignals, policy: FloorPolicy) -> tuple[str, ...]:
    opened = []
    if signals.capital > 0 and -signals.daily_pnl >= policy.floor_daily_loss * signals.capital:
        opened.append(DAILY_LOSS)
    if (
        signals.api_requests >= policy.api_min_requests
        and signals.api_errors >= policy.api_error_rate * signals.api_requests
    ):
        opened.append(API_ERROR_RATE)
    if signals.database_reachable is False:
        opened.append(DATABASE_UNREACHABLE)
    return tuple(opened)
