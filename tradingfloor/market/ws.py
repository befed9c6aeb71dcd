"""``MarketStream``: the CLOB market channel as normalized events with books kept in sync.

Subscribes with ``{"type":"market","assets_ids":[…],"custom_feature_enabled":true}``; after every
(re)connect each token's book is unknown until a fresh ``book`` snapshot arrives (the initial
dump, or CLOB REST when the dump lacks it). Level changes for a token without a snapshot are
held back rather than applied to a stale book. Each ``price_change`` entry carries the venue's
best bid/ask; they are compared with our book once the whole frame is applied (a trade that
sweeps levels arrives as one frame whose intermediate states differ from the venue's final best
prices: that is not a desync). A disagreement after the frame is a desync and triggers a REST
resync. A crossed snapshot (best bid ≥ best ask) is counted, withheld and resynced.
A ``tick_size_change`` invalidates the book until the next snapshot. Malformed frames are
counted and logged with their reason; they never stop the stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

from tradingfloor.market.book import OrderBook
from tradingfloor.market.clob import ClobRest
from tradingfloor.market.codec import FrameError, decode_frame
from tradingfloor.market.events import BookSnapshot, MarketEvent, PriceChange, TickSizeChange
from tradingfloor.market.feed import CONNECTED, FeedConnection
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import MARKET_MALFORMED

log = get_logger("tradingfloor.market.ws")
_ZERO, _ONE = Decimal(0), Decimal(1)
RawSink = Callable[[str | bytes, int], None]


class MarketStream:
    def __init__(
        self,
        url: str,
        token_ids: list[str],
        *,
        clob: ClobRest | None = None,
        ping_interval: float = 10.0,
        stale_after: float = 30.0,
        snapshot_wait: float = 2.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        custom_features: bool = True,
        raw_sink: RawSink | None = None,
    ) -> None:
        self.tokens: list[str] = list(dict.fromkeys(token_ids))
        self.clob = clob
        self.snapshot_wait = snapshot_wait
        self.custom_features = custom_features
        self.raw_sink = raw_sink
        self.books: dict[str, OrderBook] = {}
        self.awaiting: dict[str, float] = {}  # token -> monotonic time it lost its book
        self._venue_best: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        self.desyncs = 0
        self.resyncs = 0
        self.held_back = 0
        self.crossed_snapshots = 0
        self.feed = FeedConnection(
            url,
            self._on_connect,
            name="market",
            ping_interval=ping_interval,
            stale_after=stale_after,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )

    @property
    def stats(self):
        return self.feed.stats

    async def _on_connect(self, ws) -> None:
        await ws.send(
            json.dumps(
                {
                    "type": "market",
                    "assets_ids": self.tokens,
                    "initial_dump": True,
                    "custom_feature_enabled": self.custom_features,
                }
            )
        )

    async def subscribe(self, token_ids: list[str]) -> None:
        new = [t for t in token_ids if t not in self.tokens]
        if not new:
            return
        self.tokens.extend(new)
        now = time.monotonic()
        for t in new:
            self.awaiting[t] = now
        await self.feed.send(
            json.dumps(
                {
                    "operation": "subscribe",
                    "assets_ids": new,
                    "initial_dump": True,
                    "custom_feature_enabled": self.custom_features,
                }
            )
        )

    async def unsubscribe(self, token_ids: list[str]) -> None:
        gone = set(token_ids)
        self.tokens = [t for t in self.tokens if t not in gone]
        for t in gone:
            self.books.pop(t, None)
            self.awaiting.pop(t, None)
        await self.feed.send(json.dumps({"operation": "unsubscribe", "assets_ids": list(gone)}))

    async def close(self) -> None:
        await self.feed.close()

    def book(self, token_id: str) -> OrderBook | None:
        """The token's book, or None while it waits for a snapshot."""
        return None if token_id in self.awaiting else self.books.get(token_id)

    async def __aiter__(self) -> AsyncIterator[MarketEvent]:
        async for item in self.feed.frames():
            if item is CONNECTED:
                now = time.monotonic()
                self.awaiting = {t: now for t in self.tokens}
                continue
            raw, recv_ms = item
            if self.raw_sink is not None:
                self.raw_sink(raw, recv_ms)
            events, errors = decode_frame(raw)
            self._venue_best.clear()
            for err in errors:
                self.stats.count_malformed(err.reason, err.kind)
                MARKET_MALFORMED.labels("market", err.kind).inc()
                log.warning(
                    "md_malformed_frame",
                    reason=err.reason,
                    sample=str(err.raw if err.raw is not None else raw)[:200],
                )
            for ev in events:
                if self._apply(ev):
                    yield ev
            if self._venue_best:
                self._check_against_venue()
            for snap in await self._resync_overdue():
                yield snap

    def _apply(self, ev: MarketEvent, from_rest: bool = False) -> bool:
        """Keep books in step; False for events that must not reach consumers."""
        if isinstance(ev, PriceChange):
            book = self.books.get(ev.token_id)
            if book is None or ev.token_id in self.awaiting:
                self.held_back += 1
                return False
            book.apply_change(ev)
            if ev.best_bid is not None or ev.best_ask is not None:
                self._venue_best[ev.token_id] = (ev.best_bid, ev.best_ask)  # the frame's last word
            return True
        if isinstance(ev, BookSnapshot):
            if ev.token_id not in self.tokens:
                return False
            best_bid = max((p for p, size in ev.bids if size), default=None)
            best_ask = min((p for p, size in ev.asks if size), default=None)
            if best_bid is not None and best_ask is not None and best_bid >= best_ask:
                self.crossed_snapshots += 1
                log.warning(
                    "md_crossed_snapshot", token=ev.token_id[:16], bid=str(best_bid), ask=str(best_ask)
                )
                if not from_rest:  # a REST answer crossed too is used as is: no resync loop
                    self.awaiting[ev.token_id] = 0.0  # overdue at once: resync from REST
                    return False
            book = self.books.get(ev.token_id)
            if book is None:
                book = self.books[ev.token_id] = OrderBook(ev.token_id, ev.market_id)
            book.apply_snapshot(ev)
            self.awaiting.pop(ev.token_id, None)
            return True
        if isinstance(ev, TickSizeChange):
            book = self.books.get(ev.token_id)
            if book is not None:
                book.clear()
                book.tick_size = ev.new_tick_size
            self.awaiting[ev.token_id] = time.monotonic()  # old-grid levels are invalid until a snapshot
            return True
        return True

    def _check_against_venue(self) -> None:
        """Our best prices against the venue's after a whole frame; a mismatch is a desync."""
        for token, (bid, ask) in self._venue_best.items():
            book = self.books.get(token)
            if book is None or token in self.awaiting:
                continue
            want_bid = None if bid == _ZERO else bid
            want_ask = None if ask == _ONE else ask
            if (bid is not None and book.best_bid() != want_bid) or (
                ask is not None and book.best_ask() != want_ask
            ):
                self.desyncs += 1
                log.warning(
                    "md_book_desync",
                    token=token[:16],
                    ours=(str(book.best_bid()), str(book.best_ask())),
                    venue=(str(want_bid), str(want_ask)),
                )
                self.awaiting[token] = 0.0  # overdue at once: resync from REST

    async def _resync_overdue(self) -> list[BookSnapshot]:
        if not self.awaiting or self.clob is None:
            return []
        now = time.monotonic()
        due = [t for t, since in self.awaiting.items() if now - since >= self.snapshot_wait]
        out = []
        for token in due:
            try:
                snap = await self.clob.get_book(token)
            except (TimeoutError, FrameError, OSError, Exception) as exc:  # REST trouble: try again later
                log.warning("md_resync_failed", token=token[:16], error=f"{type(exc).__name__}: {exc}"[:200])
                self.awaiting[token] = now
                continue
            self.resyncs += 1
            if self._apply(snap, from_rest=True):
                out.append(snap)
        return out
