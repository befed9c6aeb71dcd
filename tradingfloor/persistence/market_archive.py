"""The market-data archive: collector batches written to PostgreSQL's ``market_data`` table.

It implements the collector's ``MarketDataSink`` from this side, so the market package needs
nothing from persistence.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from tradingfloor.market.codec import event_market, event_to_dict, event_token
from tradingfloor.market.events import (
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MarketEvent,
    PriceChange,
    SpotTick,
)
from tradingfloor.persistence.db import connect
from tradingfloor.persistence.repositories import MarketDataRow, insert_market_data_batch


def archive_row(ev: MarketEvent) -> MarketDataRow:
    """The ``market_data`` row for one event (spot ticks are filed under ``spot:<asset>``)."""
    ts = datetime.fromtimestamp(ev.ts_ms / 1000, tz=UTC)
    bid = ask = last = None
    if isinstance(ev, (PriceChange, BestBidAsk)):
        bid, ask = ev.best_bid, ev.best_ask
    elif isinstance(ev, BookSnapshot):
        bid = max((p for p, _ in ev.bids), default=None)
        ask = min((p for p, _ in ev.asks), default=None)
    elif isinstance(ev, (LastTrade, SpotTick)):
        last = ev.price
    payload = event_to_dict(ev)
    market = event_market(ev) or (f"spot:{ev.asset}" if isinstance(ev, SpotTick) else "")
    return MarketDataRow(
        market_id=market,
        token_id=event_token(ev),
        ts=ts,
        kind=payload["type"],
        best_bid=bid,
        best_ask=ask,
        last_price=last,
        payload=payload,
    )


class PostgresSink:
    """Batches go in with one COPY each through the persistence layer's writer."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._conn: asyncpg.Connection | None = None

    async def write(self, events: list[MarketEvent]) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self.url)
        await insert_market_data_batch(self._conn, [archive_row(e) for e in events])

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
