"""The trader's low-frequency performance summary (pure): ``status.performance`` as strings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradingfloor.analytics.stats import summarize
from tradingfloor.trading.ledger import ClosedTrade


def _fmt(value: float, places: int = 4) -> str:
    return f"{value:.{places}f}" if value == value and abs(value) != float("inf") else "0"


def consecutive_losses(closed: list[ClosedTrade]) -> int:
    streak = 0
    for trade in reversed(closed):
        if trade.net_pnl >= 0:
            break
        streak += 1
    return streak


def performance(
    closed: list[ClosedTrade],
    starting_capital: Decimal,
    equity: Decimal,
    exposure: Decimal,
    fees: Decimal,
    day_start_equity: Decimal,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Trade statistics from the ledger's closed trades; the equity curve is the capital after each one."""
    pnls = [float(t.net_pnl) for t in closed]
    curve = [float(starting_capital)]
    for p in pnls:
        curve.append(curve[-1] + p)
    s = summarize(pnls, curve)
    peak = max(curve)
    drawdown = (peak - float(equity)) / peak if peak > 0 else 0.0
    return {
        "reportedAt": (now or datetime.now(UTC)).isoformat(),
        "trades": s.trades,
        "wins": s.wins,
        "losses": s.losses,
        "winRate": _fmt(s.win_rate),
        "winRateLow": _fmt(s.wilson_low),
        "pnl": str(equity - starting_capital),
        "dailyPnl": str(equity - day_start_equity),
        "equity": str(equity),
        "exposure": str(exposure),
        "sharpe": _fmt(s.sharpe),
        "sortino": _fmt(s.sortino),
        "maxDrawdown": _fmt(s.max_drawdown),
        "drawdown": _fmt(max(0.0, drawdown)),
        "profitFactor": _fmt(s.profit_factor),
        "psr": _fmt(s.psr),
        "consecutiveLosses": consecutive_losses(closed),
        "fees": str(fees),
    }
