"""Floor-wide circuit breakers: any open breaker pauses all trading until it closes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tradingfloor.decisions.performance import number
from tradingfloor.decisions.policy import FloorPolicy
from tradingfloor.models.trader_agent import TraderAgentSpec, TraderAgentStatus

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


def counts_toward_floor(spec: TraderAgentSpec) -> bool:
    """Active and Paused traders hold capital and today's P&L; a Retired one is off the floor."""
    return spec.lifecycle != "Retired"


def floor_signals(
    traders: Iterable[tuple[TraderAgentSpec, TraderAgentStatus | None]],
    database_reachable: bool | None,
    api_requests: int = 0,
    api_errors: int = 0,
) -> FloorSignals:
    """The floor's signals from validated traders: one definition for both runtimes (capital from
    ``spec.risk.capital`` with the model's default, daily P&L from ``status.performance``)."""
    pnl, capital = floor_pnl(
        (float(spec.risk.capital), number(status.performance.dailyPnl) if status is not None else None)
        for spec, status in traders
        if counts_toward_floor(spec)
    )
    return FloorSignals(
        daily_pnl=pnl,
        capital=capital,
        api_requests=api_requests,
        api_errors=api_errors,
        database_reachable=database_reachable,
    )


@dataclass
class ProbeStreak:
    """Consecutive failed probes: one failure is a blip, ``failures_to_open`` in a row is an outage."""

    failures_to_open: int
    failures: int = 0

    def record(self, ok: bool | None) -> bool | None:
        """Feed one probe result (None: not probed); returns the reachability the breaker sees."""
        if ok is None:
            return None
        self.failures = 0 if ok else self.failures + 1
        return self.failures < self.failures_to_open


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
