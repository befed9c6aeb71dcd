"""The market-data archive: collector batches written to PostgreSQL's ``market_data`` table.

It implements the collector's ``MarketDataSink`` from this side, so the market package needs
nothing from persistence.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from tradingfloor.market.codec import event_market, event_to_dict, event_to_json, event_token
from tradingfloor.market.events import (
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MarketEvent,
    PriceChange,
    SpotTick,
)
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import MARKET_DEAD_LETTERED
from tradingfloor.persistence.db import connect
from tradingfloor.persistence.repositories import MarketDataRow, insert_market_data_batch

log = get_logger("tradingfloor.persistence.market_archive")
# content the database refuses (as opposed to a connection it cannot keep, which is raised)
_REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError)


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
    """Batches go in with one COPY each through the persistence layer's writer. A batch the
    database refuses for its content is split: good rows are archived, each bad row goes to
    ``market_data_dead_letter`` with the reason, so one bad event never blocks the archive.
    Connection trouble is raised instead: the collector keeps the batch and retries (nothing is
    dead-lettered for an outage)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._conn: asyncpg.Connection | None = None
        self.dead_lettered = 0

    async def write(self, events: list[MarketEvent]) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self.url)
        rows: list[MarketDataRow] = []
        bad: list[tuple[MarketEvent | MarketDataRow, BaseException]] = []
        for ev in events:
            try:
                rows.append(archive_row(ev))
            except (ValueError, OverflowError, OSError, TypeError) as exc:  # e.g. a time out of range
                bad.append((ev, exc))
        try:
            await insert_market_data_batch(self._conn, rows)
        except _REFUSED:
            for row in rows:  # find the rows the database refuses, one by one
                try:
                    await insert_market_data_batch(self._conn, [row])
                except _REFUSED as refused:
                    bad.append((row, refused))
        for item, reason in bad:
            await self._dead_letter(item, reason)

    async def _dead_letter(self, item: MarketEvent | MarketDataRow, exc: BaseException) -> None:
        if isinstance(item, MarketDataRow):  # a row the database refused
            kind, body = item.kind, repr(item).encode("utf-8", "backslashreplace")
        else:
            kind, body = type(item).__name__, event_to_json(item).encode()
        error = f"{type(exc).__name__}: {exc}"[:500].replace("\x00", "\\0")
        if self._conn is None:  # called from write(), which has connected
            raise RuntimeError("the archive's connection is not open") from exc
        await self._conn.execute(
            "INSERT INTO market_data_dead_letter (kind, error, event) VALUES ($1, $2, $3)", kind, error, body
        )
        self.dead_lettered += 1
        MARKET_DEAD_LETTERED.labels(kind).inc()
        log.warning("md_dead_lettered", kind=kind, error=error[:200])

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
