"""A minimal trend rule evaluated on the model's own event stream (used by the model tests)."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from tradingfloor.market.book import OrderBook
from tradingfloor.market.events import (
    BookSnapshot,
    MarketResolved,
    NewMarket,
    PriceChange,
    SpotTick,
    TickSizeChange,
)
from tradingfloor.sim.model import SimConfig, simulate


def rule_pnl(
    config: SimConfig,
    duration_ms: int,
    *,
    follow: bool,
    threshold: float = 0.005,
    lookback_ms: int = 300_000,
    max_price: Decimal = Decimal("0.70"),
) -> tuple[float, int]:
    """Average P&L per share after taker fees of: buy Up after spot rose ``threshold`` within
    ``lookback_ms`` (Down after it fell) — or the opposite when ``follow`` is False — once per
    round, at the best ask, only at or below ``max_price`` and more than a minute before the end."""
    books: dict[str, OrderBook] = {}
    live = {}
    spot: deque = deque()
    positions: dict[str, tuple[str, Decimal]] = {}
    pnl, trades = 0.0, 0
    for ev in simulate(config, duration_ms):
        if isinstance(ev, NewMarket):
            live[ev.info.market_id] = ev.info
        elif isinstance(ev, BookSnapshot):
            books.setdefault(ev.token_id, OrderBook()).apply_snapshot(ev)
        elif isinstance(ev, PriceChange):
            books[ev.token_id].apply_change(ev)
        elif isinstance(ev, TickSizeChange):
            books[ev.token_id].clear()
        elif isinstance(ev, MarketResolved):
            live.pop(ev.market_id, None)
            if ev.market_id in positions:
                token, cost = positions.pop(ev.market_id)
                pnl += (1.0 if token == ev.winning_token_id else 0.0) - float(cost)
                trades += 1
        elif isinstance(ev, SpotTick):
            spot.append((ev.ts_ms, float(ev.price)))
            while spot and spot[0][0] < ev.ts_ms - lookback_ms:
                spot.popleft()
            if ev.ts_ms - spot[0][0] < lookback_ms - 1_000:
                continue
            ret = spot[-1][1] / spot[0][1] - 1.0
            if abs(ret) < threshold:
                continue
            for mid, info in list(live.items()):
                if mid in positions or ev.ts_ms > info.end_ms - 60_000 or ev.ts_ms < info.start_ms:
                    continue
                up = (ret > 0) == follow
                token = info.up_token_id if up else info.down_token_id
                book = books.get(token)
                ask = book.best_ask() if book is not None else None
                if ask is None or ask > max_price:
                    continue
                fee = info.fee_rate * (ask * (1 - ask)) ** info.fee_exponent
                positions[mid] = (token, ask + fee)
    return (pnl / trades if trades else 0.0), trades
