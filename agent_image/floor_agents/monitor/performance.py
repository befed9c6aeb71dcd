"""The monitor's view of performance: each agent's figures, the floor's, and alerts (pure).

Every figure is defined once, in :mod:`tradingfloor.analytics.performance` (equity curve from the
agent's own capital, drawdown, daily Sharpe annualized with √365, the loss streak); this module
names them per agent and turns them into alerts and the Monitor's ``status.floor``. The trader is
the one writer of each TraderAgent's ``status.performance``; the monitor stores its figures as
performance rows and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradingfloor.analytics.performance import Figures, TradeResult, figures, money, ratio

ZERO = Decimal(0)
BPS = Decimal(10000)


@dataclass(frozen=True, slots=True)
class TradePnl:
    agent: str
    pnl: Decimal  # net of fees and redemption costs
    fees: Decimal
    closed_at: datetime
    break_even: Decimal | None = None  # all-in entry cost per share, when known


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    drawdown_bps: int = 1500
    daily_loss_bps: int = 1000
    consecutive_losses: int = 4
    heartbeat_stale_seconds: int = 90

    @classmethod
    def from_spec(cls, alerts) -> AlertThresholds:
        """From a Monitor ``spec.alerts``."""
        return cls(
            alerts.drawdownBps, alerts.dailyLossBps, alerts.consecutiveLosses, alerts.heartbeatStaleSeconds
        )


@dataclass(frozen=True, slots=True)
class Alert:
    agent: str
    alert: str  # drawdown | daily_loss | consecutive_losses | heartbeat_stale
    message: str


@dataclass(frozen=True, slots=True)
class AgentMetrics:
    """One agent's figures (tradingfloor.analytics.performance) under its name, for alerts,
    performance rows and reports. The trader alone writes ``status.performance``."""

    agent: str
    figures: Figures

    def __getattr__(self, name: str) -> Any:  # m.pnl, m.sharpe … read through to the figures
        if name == "figures":
            raise AttributeError(name)
        return getattr(self.figures, name)

    @property
    def consecutive_losses(self) -> int:
        return self.figures.loss_streak


def agent_metrics(
    agent: str, capital: Decimal, trades: Sequence[TradePnl], now: datetime, exposure: Decimal = ZERO
) -> AgentMetrics:
    """``trades`` are the agent's closed trades; ``capital`` its spec.risk.capital. The loss streak
    runs over all of them (the monitor does not see resumes; the trader's status does)."""
    results = [TradeResult(t.pnl, t.closed_at, t.fees, t.break_even) for t in trades]
    return AgentMetrics(agent, figures(capital, results, now, exposure=exposure))


def alerts_for(m: AgentMetrics, thresholds: AlertThresholds, heartbeat_age: float | None) -> list[Alert]:
    """Alerts on the agent's *current* state (a past drawdown that has recovered does not alert).
    ``heartbeat_age`` is None when the agent never heartbeat (nothing to call stale)."""
    out = []
    if m.drawdown * 10000 >= thresholds.drawdown_bps:
        out.append(
            Alert(
                m.agent,
                "drawdown",
                f"drawdown {m.drawdown:.2%} reached the {thresholds.drawdown_bps} bps alert",
            )
        )
    daily_limit = m.capital * thresholds.daily_loss_bps / BPS
    if -m.daily_pnl >= daily_limit:
        out.append(
            Alert(
                m.agent,
                "daily_loss",
                f"today's P&L {m.daily_pnl} reached the daily loss alert -{daily_limit}",
            )
        )
    if m.consecutive_losses >= thresholds.consecutive_losses:
        out.append(
            Alert(
                m.agent,
                "consecutive_losses",
                f"{m.consecutive_losses} losses in a row (alert at {thresholds.consecutive_losses})",
            )
        )
    if heartbeat_age is not None and heartbeat_age > thresholds.heartbeat_stale_seconds:
        out.append(
            Alert(
                m.agent,
                "heartbeat_stale",
                f"last heartbeat {heartbeat_age:.0f} s ago (alert after {thresholds.heartbeat_stale_seconds} s)",
            )
        )
    return out


def floor_metrics(
    capital_by_agent: dict[str, Decimal], trades: Sequence[TradePnl], now: datetime
) -> AgentMetrics:
    """The floor as one account: all agents' capital and trades together."""
    return agent_metrics("floor", sum(capital_by_agent.values(), ZERO), trades, now)


def floor_status(floor: AgentMetrics, agents: int, alerts: int, now: datetime) -> dict[str, object]:
    """The ``status.floor`` shape of a Monitor."""
    return {
        "reportedAt": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "agents": agents,
        "trades": floor.trades,
        "pnl": money(floor.pnl),
        "winRate": ratio(floor.win_rate),
        "sharpe": ratio(floor.sharpe),
        "maxDrawdown": ratio(floor.max_drawdown),
        "alerts": alerts,
    }
