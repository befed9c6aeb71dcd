"""Catching up from the collector's Redis cache (``tradingfloor.market.collector``):

* ``tf:md:<asset>:<interval>:markets``  — hash market id → latest ``new_market`` event JSON
* ``tf:md:<asset>:<interval>:resolved`` — hash market id → ``market_resolved`` event JSON
* ``tf:md:<asset>:<interval>:book:<token>`` — the token's latest ``book`` snapshot
* ``tf:md:<asset>:<interval>:spot`` — the latest ``spot`` tick

A trader that (re)starts mid-round, or sees an event for a market it does not know, replays what
the cache says through its normal step: resolutions of markets it holds first (rounds that ended
while it was down settle — once, since a resolved market leaves the engine in the same commit),
then the rounds still open, their latest books, and the latest spot price. :func:`catch_up_events`
is the pure part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import redis.asyncio as aioredis

from floor_agents.trader.feed import channel
from tradingfloor.market.codec import FrameError, event_from_json
from tradingfloor.market.events import BookSnapshot, MarketEvent, MarketResolved, NewMarket, SpotTick
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import ERRORS

_E = TypeVar("_E", bound=MarketEvent)  # the event kind a cache entry must hold

log = get_logger("floor_agents.trader.cache")


@dataclass
class CacheSnapshot:
    markets: dict[str, NewMarket] = field(default_factory=dict)
    resolved: dict[str, MarketResolved] = field(default_factory=dict)
    books: dict[str, BookSnapshot] = field(default_factory=dict)  # by token id
    spot: SpotTick | None = None


def catch_up_events(known: Iterable[str], asset: str, snap: CacheSnapshot) -> list[MarketEvent]:
    """Events that bring an engine knowing ``known`` market ids up to the cached state."""
    known = set(known)
    out: list[MarketEvent] = []
    for mid in sorted(known & set(snap.resolved)):
        out.append(snap.resolved[mid])
    live = [m for mid, m in snap.markets.items() if mid not in snap.resolved and m.info.asset == asset]
    live.sort(key=lambda m: m.info.start_ms)
    out += [m for m in live if m.info.market_id not in known]
    for m in live:
        for token in (m.info.up_token_id, m.info.down_token_id):
            book = snap.books.get(token)
            if book is not None:
                out.append(book)
    if snap.spot is not None and snap.spot.asset == asset:
        out.append(snap.spot)
    return out


class MarketCache:
    def __init__(self, client: aioredis.Redis, asset: str, interval: str, agent: str) -> None:
        self.client = client
        self.asset = asset
        self.agent = agent
        self.prefix = channel(asset, interval)

    def _parse(self, raw: bytes | str | None, kind: type[_E]) -> _E | None:
        if raw is None:
            return None
        try:
            event = event_from_json(raw)
        except FrameError as exc:
            ERRORS.labels(self.agent, "malformed_cache_entry").inc()
            log.warning("trader.cache_entry_malformed", agent=self.agent, error=str(exc)[:200])
            return None
        return event if isinstance(event, kind) else None

    async def _books(self, markets: Iterable[NewMarket]) -> dict[str, BookSnapshot]:
        tokens = [t for m in markets for t in (m.info.up_token_id, m.info.down_token_id)]
        if not tokens:
            return {}
        raws = await self.client.mget([f"{self.prefix}:book:{t}" for t in tokens])
        books: dict[str, BookSnapshot] = {}
        for token, raw in zip(tokens, raws, strict=False):
            book = self._parse(raw, BookSnapshot)
            if book is not None:
                books[token] = book
        return books

    async def snapshot(self) -> CacheSnapshot:
        """Everything cached for the series."""
        snap = CacheSnapshot()
        for mid, raw in (await self.client.hgetall(f"{self.prefix}:markets")).items():
            listing = self._parse(raw, NewMarket)
            if listing is not None:
                snap.markets[_text(mid)] = listing
        for mid, raw in (await self.client.hgetall(f"{self.prefix}:resolved")).items():
            resolution = self._parse(raw, MarketResolved)
            if resolution is not None:
                snap.resolved[_text(mid)] = resolution
        live = [m for mid, m in snap.markets.items() if mid not in snap.resolved]
        snap.books = await self._books(live)
        snap.spot = self._parse(await self.client.get(f"{self.prefix}:spot"), SpotTick)
        return snap

    async def market(self, market_id: str, announced: NewMarket | None = None) -> CacheSnapshot:
        """What the cache knows about one market (``announced``: its listing, already in hand)."""
        snap = CacheSnapshot()
        resolved = self._parse(await self.client.hget(f"{self.prefix}:resolved", market_id), MarketResolved)
        if resolved is not None:
            snap.resolved[market_id] = resolved
            return snap
        listing = announced or self._parse(
            await self.client.hget(f"{self.prefix}:markets", market_id), NewMarket
        )
        if listing is not None:
            snap.markets[market_id] = listing
            snap.books = await self._books([listing])
        return snap


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
