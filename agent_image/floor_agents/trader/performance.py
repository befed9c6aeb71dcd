"""The trader's low-frequency performance summary (pure): ``status.performance`` as strings.

The trader is the only writer of ``status.performance``; every figure is computed by
:mod:`tradingfloor.analytics.performance` from its ledger and its own capital (spec.risk.capital).
The loss streak is the risk manager's, which knows when the Floor Boss last resumed the agent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradingfloor.analytics.performance import TradeResult, figures
from tradingfloor.trading.ledger import ClosedTrade


def trade_result(t: ClosedTrade) -> TradeResult:
    return TradeResult(t.net_pnl, datetime.fromtimestamp(t.closed_ms / 1000, UTC), t.costs, t.break_even)


def performance(
    closed: list[ClosedTrade],
    starting_capital: Decimal,
    equity: Decimal,
    exposure: Decimal,
    day_start_equity: Decimal,
    loss_streak: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``status.performance`` from the ledger's closed trades and the account's marked equity."""
    now = now or datetime.now(UTC)
    return figures(
        starting_capital,
        [trade_result(t) for t in closed],
        now,
        equity=equity,
        exposure=exposure,
        day_start_equity=day_start_equity,
        streak=loss_streak,
    ).status(now)
