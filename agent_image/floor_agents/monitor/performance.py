"""Pure performance computation for the monitor: closed trades in, status summaries and alerts out.

Conventions (see docs/audit-and-monitor.md):

* equity = capital + cumulative net P&L of closed trades, one point per trade (plus the start);
  drawdown and max drawdown are measured on that curve, so intraday falls count;
* Sharpe, Sortino and PSR use *daily* returns of the equity at each UTC day's end, annualized with
  √365 (the floor trades every day) — the analytics module's convention;
* win rate counts a trade with net P&L > 0 as a win, < 0 as a loss; winRateLow is the Wilson 95 %
  lower bound.

Status numbers are strings (Kubernetes status avoids floats): money exact from Decimal, ratios
with 4 decimals, ``"inf"`` for an unbounded ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradingfloor.analytics.stats import max_drawdown, summarize

ZERO = Decimal(0)
BPS = Decimal(10000)


@dataclass(frozen=True, slots=True)
class TradePnl:
    agent: str
    pnl: Decimal  # net of fees and redemption costs
    fees: Decimal
    closed_at: datetime


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
    """One agent's numbers, kept numeric for alerts and reports; ``status()`` renders them."""

    agent: str
    capital: Decimal
    trades: int
    wins: int
    losses: int
    win_rate: float
    win_rate_low: float
    pnl: Decimal
    daily_pnl: Decimal
    equity: Decimal
    exposure: Decimal
    fees: Decimal
    sharpe: float
    sortino: float
    psr: float
    profit_factor: float
    max_drawdown: float
    drawdown: float
    consecutive_losses: int
    curve: tuple[tuple[datetime, Decimal], ...]  # (time, equity), starting point first

    def status(self, now: datetime) -> dict[str, object]:
        """The ``status.performance`` shape of a TraderAgent."""
        return {
            "reportedAt": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "trades": self.trades,
            "wins": self.wins,
            "losses": self.losses,
            "winRate": ratio(self.win_rate),
            "winRateLow": ratio(self.win_rate_low),
            "pnl": money(self.pnl),
            "dailyPnl": money(self.daily_pnl),
            "equity": money(self.equity),
            "exposure": money(self.exposure),
            "sharpe": ratio(self.sharpe),
            "sortino": ratio(self.sortino),
            "maxDrawdown": ratio(self.max_drawdown),
            "drawdown": ratio(self.drawdown),
            "profitFactor": ratio(self.profit_factor),
            "psr": ratio(self.psr),
            "consecutiveLosses": self.consecutive_losses,
            "fees": money(self.fees),
        }


def ratio(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4f}"


def money(x: Decimal) -> str:
    return format(x, "f")


def _day_start(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def daily_equity(capital: Decimal, trades: Sequence[TradePnl], now: datetime) -> list[float]:
    """Equity at the start of the first trade's day, then at each UTC day's end up to today."""
    if not trades:
        return [float(capital)]
    day = _day_start(trades[0].closed_at)
    values, equity, i = [float(capital)], capital, 0
    while day <= now:
        day += timedelta(days=1)
        while i < len(trades) and trades[i].closed_at < day:
            equity += trades[i].pnl
            i += 1
        values.append(float(equity))
    return values


def trailing_losses(trades: Sequence[TradePnl]) -> int:
    count = 0
    for t in reversed(trades):
        if t.pnl < 0:
            count += 1
        elif t.pnl > 0:
            break
    return count


def agent_metrics(
    agent: str, capital: Decimal, trades: Sequence[TradePnl], now: datetime, exposure: Decimal = ZERO
) -> AgentMetrics:
    """``trades`` are the agent's closed trades in closing order."""
    trades = sorted(trades, key=lambda t: t.closed_at)
    equity, curve = capital, [(trades[0].closed_at if trades else now, capital)]
    for t in trades:
        equity += t.pnl
        curve.append((t.closed_at, equity))
    values = [float(v) for _, v in curve]
    summary = summarize(
        [float(t.pnl) for t in trades], daily_equity(capital, trades, now), periods_per_year=365
    )
    peak = max(values)
    today = _day_start(now)
    return AgentMetrics(
        agent=agent,
        capital=capital,
        trades=summary.trades,
        wins=summary.wins,
        losses=summary.losses,
        win_rate=summary.win_rate,
        win_rate_low=summary.wilson_low,
        pnl=sum((t.pnl for t in trades), ZERO),
        daily_pnl=sum((t.pnl for t in trades if t.closed_at >= today), ZERO),
        equity=equity,
        exposure=exposure,
        fees=sum((t.fees for t in trades), ZERO),
        sharpe=summary.sharpe,
        sortino=summary.sortino,
        psr=summary.psr,
        profit_factor=summary.profit_factor,
        max_drawdown=max_drawdown(values),
        drawdown=(peak - values[-1]) / peak if peak > 0 else 0.0,
        consecutive_losses=trailing_losses(trades),
        curve=tuple(curve),
    )


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
