"""A strategy's output: the one value type strategies hand to the trading pipeline.

It lives with the strategies (not with orders) so strategies import nothing from ``trading``; the
pipeline above them turns an intent into a sized, risk-checked order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradingfloor.market.events import Outcome, Side


@dataclass(frozen=True, slots=True)
class Intent:
    """What a strategy wants: buy (or sell) one outcome of a market, with its own win estimate."""

    market_id: str
    outcome: Outcome
    side: Side
    p_win: Decimal  # the strategy's estimated probability that ``outcome`` wins
    max_price: Decimal  # never pay more (BUY) / accept less (SELL) per share
    ts_ms: int
    reason: str
