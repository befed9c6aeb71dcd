"""Following a series' rounds by two independent paths: the venue's ``new_market`` and a periodic
Gamma discovery. Either path alone can miss a round (a dropped frame, a slow Gamma listing); the
other catches it. ``found`` counts the rounds each path found, so a path that stops working shows.

The venue's ``new_market`` lacks the minimum order size, the end time and the price to beat
(codec: ``RoundListed``); a round becomes tradable only when Gamma completes it into a
``MarketInfo``. Pure bookkeeping plus the Gamma calls; callers decide what to do with a new round
(the collector publishes and subscribes it, the recorder writes a listing and subscribes it).
"""

from __future__ import annotations

import asyncio

import aiohttp

from tradingfloor.market.codec import FrameError
from tradingfloor.market.events import MarketInfo, RoundListed
from tradingfloor.market.gamma import GammaClient, MarketNotReady, discover_rounds
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import MARKET_ROUNDS_FOUND

log = get_logger("tradingfloor.market.rounds")
PATHS = ("new_market", "discovery")
_GAMMA_TROUBLE = (FrameError, aiohttp.ClientError, OSError, TimeoutError, ValueError)


class RoundTracker:
    def __init__(
        self,
        gamma: GammaClient,
        asset: str,
        interval: str,
        *,
        rounds_ahead: int = 2,
        retries: int = 12,
        retry_delay_s: float = 2.0,
    ) -> None:
        self.gamma, self.asset, self.interval = gamma, asset, interval
        self.rounds_ahead = rounds_ahead
        self.retries, self.retry_delay_s = retries, retry_delay_s
        self.known: dict[str, MarketInfo] = {}  # market id -> info, every round adopted
        self.found: dict[str, set[str]] = {p: set() for p in PATHS}  # path -> market ids it found
        self.followed: set[str] = set()  # market ids whose tokens are subscribed

    def counts(self) -> dict[str, int]:
        """Rounds found by each path (a round both paths found counts for both)."""
        return {p: len(ids) for p, ids in self.found.items()}

    def heard(self, listed: RoundListed) -> None:
        """The feed announced a round already known (found first by discovery)."""
        if listed.market_id in self.known:
            self.adopt(self.known[listed.market_id], "new_market")

    def ours(self, listed: RoundListed) -> bool:
        return listed.asset == self.asset and listed.interval == self.interval

    def adopt(self, info: MarketInfo, path: str) -> bool:
        """Record that ``path`` found ``info``; True the first time the round is seen at all."""
        if info.market_id not in self.found[path]:
            self.found[path].add(info.market_id)
            MARKET_ROUNDS_FOUND.labels(f"{self.asset}:{self.interval}", path).inc()
        if info.market_id in self.known:
            return False
        self.known[info.market_id] = info
        return True

    def follow(self, market_id: str) -> MarketInfo | None:
        """The round to subscribe now (its ``new_market`` arrived: the venue has its book), or
        None when it is unknown or already followed."""
        info = self.known.get(market_id)
        if info is None or market_id in self.followed:
            return None
        self.followed.add(market_id)
        return info

    def due(self, now_ms: int) -> list[MarketInfo]:
        """Known rounds that have opened but are not followed yet (found by discovery ahead of
        their start, when the venue may have no book for them)."""
        return [
            info
            for info in list(self.known.values())
            if info.start_ms <= now_ms and self.follow(info.market_id) is not None
        ]

    async def complete(self, listed: RoundListed) -> MarketInfo | None:
        """The full round behind a ``new_market``, from Gamma; None when Gamma never lists it
        in time (discovery will still find it later)."""
        return await self._fetch(listed.slug, listed.market_id)

    def unpriced(self, now_ms: int) -> list[MarketInfo]:
        """Open rounds still without a price to beat (found before they started)."""
        return [i for i in self.known.values() if i.start_ms <= now_ms < i.end_ms and i.price_to_beat is None]

    async def refresh(self, info: MarketInfo, retries: int | None = None) -> MarketInfo | None:
        """A newer ``info`` once the round has opened: the price to beat is known only from the
        start, so a round found ahead of it is read again. None when nothing changed."""
        if info.price_to_beat is not None:
            return None
        newer = await self._fetch(info.slug, info.market_id, retries)
        if newer is None or newer == info:
            return None
        self.known[info.market_id] = newer
        return newer

    async def _fetch(self, slug: str, market_id: str, retries: int | None = None) -> MarketInfo | None:
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            try:
                info = await self.gamma.fetch_round(slug)
            except MarketNotReady:
                info = None
            except _GAMMA_TROUBLE as exc:
                log.warning("round_completion_failed", slug=slug, error=f"{type(exc).__name__}: {exc}"[:200])
                info = None
            if info is not None:
                if info.market_id != market_id:
                    log.warning("round_id_mismatch", slug=slug, feed=market_id, gamma=info.market_id)
                    return None
                return info
            if attempt < retries:
                await asyncio.sleep(self.retry_delay_s)
        log.warning("round_not_completed", slug=slug, attempts=retries + 1)
        return None

    async def discover(self, now_ms: int) -> list[MarketInfo]:
        """Rounds Gamma lists from the current one on; each is counted as found by discovery,
        and those not known before are returned."""
        try:
            rounds = await discover_rounds(
                self.gamma, self.asset, self.interval, now_ms, count=self.rounds_ahead, retries=0
            )
        except _GAMMA_TROUBLE as exc:
            log.warning("round_discovery_failed", error=f"{type(exc).__name__}: {exc}"[:200])
            return []
        return [info for info in rounds if self.adopt(info, "discovery")]
