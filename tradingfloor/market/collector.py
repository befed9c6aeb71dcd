"""One collector per series (asset + interval): one venue subscription fanned out to any number
of agents through Redis, and handed in batches to a :class:`MarketDataSink` (the PostgreSQL archive
is :class:`tradingfloor.persistence.market_archive.PostgresSink`).

Redis (see docs/recording-format.md for the event JSON):

* channel ``tf:md:<asset>:<interval>`` — every normalized event as ``event_to_json``;
* ``tf:md:<asset>:<interval>:markets`` — hash market_id → latest ``new_market`` event JSON;
* ``tf:md:<asset>:<interval>:book:<token_id>`` — the token's latest book as a ``book`` event JSON;
* ``tf:md:<asset>:<interval>:spot`` — the latest ``spot`` event JSON.

Venue API health (:mod:`tradingfloor.bus.api_health`, for the floor's ``ApiErrorRate`` breaker):
every HTTP request of the collector's session counts (an exception, a 5xx or a 429 as an error; any
other 4xx is the venue's answer), and so does every WebSocket connection attempt (a failed attempt
or a reconnect after a dropped connection as an error). Counts are flushed with each archive flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from tradingfloor.bus.api_health import ApiCounter
from tradingfloor.market.clob import ClobRest
from tradingfloor.market.codec import event_from_json, event_to_json
from tradingfloor.market.events import (
    BookSnapshot,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    RoundListed,
    SpotTick,
)
from tradingfloor.market.feed import FeedStats
from tradingfloor.market.gamma import GammaClient, discover_rounds
from tradingfloor.market.rounds import RoundTracker
from tradingfloor.market.spot import RtdsSpotStream
from tradingfloor.market.ws import MarketStream
from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.market.collector")


def channel(asset: str, interval: str) -> str:
    return f"tf:md:{asset}:{interval}"


def api_trace(counter: ApiCounter) -> aiohttp.TraceConfig:
    """Counts every request of an aiohttp session into ``counter``."""
    trace = aiohttp.TraceConfig()

    async def on_end(_session, _ctx, params) -> None:
        status = params.response.status
        counter.count(1, int(status >= 500 or status == 429))

    async def on_exception(_session, _ctx, _params) -> None:
        counter.count(1, 1)

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace


class MarketDataSink(Protocol):
    async def write(self, events: list[MarketEvent]) -> None: ...
    async def close(self) -> None: ...


@dataclass
class CollectorUrls:
    gamma_url: str
    clob_url: str
    market_ws_url: str
    spot_ws_url: str | None = None


class Collector:
    def __init__(
        self,
        asset: str,
        interval: str,
        urls: CollectorUrls,
        redis_url: str,
        sink: MarketDataSink | None = None,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        rounds_ahead: int = 2,
        stale_after: float = 30.0,
        backoff_base: float = 0.5,
        discover_every: float = 30.0,
    ) -> None:
        self.asset, self.interval, self.urls = asset, interval, urls
        self.redis_url = redis_url
        self.sink = sink
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.rounds_ahead = rounds_ahead
        self.stale_after = stale_after
        self.backoff_base = backoff_base
        self.discover_every = discover_every
        self.rounds: RoundTracker | None = None
        self.channel = channel(asset, interval)
        self.published = 0
        self.archived = 0
        self.archive_failures = 0
        self._buffer: list[MarketEvent] = []
        self._completions: set[asyncio.Task] = set()
        self._last_flush = time.monotonic()
        self.stream: MarketStream | None = None
        self.spot: RtdsSpotStream | None = None  # read by the collector's metrics exporter
        self.api = ApiCounter(f"collector:{asset}:{interval}")
        self._feeds_counted: dict[str, tuple[int, int, int]] = {}  # feed -> (connects, failures, reconnects)

    async def run(self, stop: asyncio.Event) -> None:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(self.redis_url)
        async with aiohttp.ClientSession(trace_configs=[api_trace(self.api)]) as http:
            clob = ClobRest(self.urls.clob_url, http)
            gamma = GammaClient(self.urls.gamma_url, http, clob_url=self.urls.clob_url)
            now = await clob.server_time_ms()
            rounds = await discover_rounds(
                gamma,
                self.asset,
                self.interval,
                now,
                count=self.rounds_ahead,
                retries=12,
                retry_delay_s=min(5.0, self.flush_interval * 5),
            )
            self.rounds = RoundTracker(
                gamma,
                self.asset,
                self.interval,
                rounds_ahead=self.rounds_ahead,
                retry_delay_s=min(2.0, self.flush_interval * 2),
            )
            for r in rounds:
                self.rounds.adopt(r, "discovery")
                await redis.hset(f"{self.channel}:markets", r.market_id, event_to_json(NewMarket(r, now)))
            # follow rounds already open; a later round is subscribed when its new_market arrives
            # or, failing that, when discovery sees it has started (before it opens the venue may
            # have no book for it, and asking for one only yields 404s)
            tokens = [t for r in self.rounds.due(now) for t in (r.up_token_id, r.down_token_id)]
            self.stream = MarketStream(
                self.urls.market_ws_url,
                tokens,
                clob=clob,
                stale_after=self.stale_after,
                backoff_base=self.backoff_base,
            )
            queue: asyncio.Queue[MarketEvent] = asyncio.Queue(100_000)
            tasks = [
                asyncio.create_task(self._pump(self.stream, queue)),
                asyncio.create_task(self._discover_periodically(clob, queue)),
            ]
            spot = None
            if self.urls.spot_ws_url:
                spot = RtdsSpotStream(
                    self.urls.spot_ws_url,
                    (self.asset,),
                    stale_after=self.stale_after,
                    backoff_base=self.backoff_base,
                )
                tasks.append(asyncio.create_task(self._pump(spot, queue)))
                self.spot = spot
            stopper = asyncio.create_task(stop.wait())
            try:
                while not stop.is_set():
                    batch = self._drain(queue)
                    if not batch:  # nothing queued: wait for the next event, or a flush is due
                        getter = asyncio.create_task(queue.get())
                        done, _ = await asyncio.wait(
                            {getter, stopper},
                            timeout=self.flush_interval,
                            return_when=asyncio.FIRST_COMPLETED,
                        )
                        if getter in done:
                            batch = [getter.result(), *self._drain(queue, self.batch_size - 1)]
                        else:
                            getter.cancel()
                    if batch:
                        await self._publish(batch, redis, queue)
                    if (
                        len(self._buffer) >= self.batch_size
                        or time.monotonic() - self._last_flush >= self.flush_interval
                    ):
                        await self._flush()
                        await self._flush_api(redis, spot)
            finally:
                stopper.cancel()
                tasks.extend(self._completions)
                for t in tasks:
                    t.cancel()
                await self.stream.close()
                if spot is not None:
                    await spot.close()
                for t in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
                await self._flush()
                await self._flush_api(redis, spot)
                await redis.aclose()

    async def _pump(self, source, queue: asyncio.Queue) -> None:
        async for ev in source:
            await queue.put(ev)

    async def _discover_periodically(self, clob: ClobRest, queue: asyncio.Queue) -> None:
        """The second path to new rounds: whatever Gamma lists that ``new_market`` did not bring."""
        assert self.rounds is not None
        while True:
            await asyncio.sleep(self.discover_every)
            try:
                now = await clob.server_time_ms()
            except Exception as exc:  # the venue's clock is unreachable: try again next time
                log.warning("discovery_clock_failed", error=f"{type(exc).__name__}: {exc}"[:200])
                continue
            for info in await self.rounds.discover(now):
                log.info("round_found", path="discovery", slug=info.slug)
                await queue.put(NewMarket(info, now))
            for info in self.rounds.due(now):
                await self._open(info, now, queue)
            for info in self.rounds.unpriced(now):  # opened since it was found: read it again
                newer = await self.rounds.refresh(info, retries=0)
                if newer is not None:
                    await queue.put(NewMarket(newer, now))

    async def _complete_listing(self, listed: RoundListed, queue: asyncio.Queue) -> None:
        assert self.rounds is not None
        info = await self.rounds.complete(listed)
        if info is not None and self.rounds.adopt(info, "new_market"):
            log.info("round_found", path="new_market", slug=info.slug)
            await queue.put(NewMarket(info, listed.ts_ms))
            await self._subscribe(self.rounds.follow(info.market_id))

    async def _open(self, info: MarketInfo | None, ts_ms: int, queue: asyncio.Queue) -> None:
        """Follow a round that has opened: its book now exists, and so does its price to beat."""
        if info is None or self.rounds is None:
            return
        await self._subscribe(info)
        newer = await self.rounds.refresh(info, retries=3)
        if newer is not None:
            await queue.put(NewMarket(newer, ts_ms))

    async def _subscribe(self, info: MarketInfo | None) -> None:
        if info is not None and self.stream is not None:
            await self.stream.subscribe([info.up_token_id, info.down_token_id])

    def _drain(self, queue: asyncio.Queue[MarketEvent], limit: int | None = None) -> list[MarketEvent]:
        """Whatever is queued now, oldest first, at most ``limit`` (default: one batch)."""
        out: list[MarketEvent] = []
        for _ in range(self.batch_size if limit is None else limit):
            try:
                out.append(queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return out

    async def _publish(self, events: list[MarketEvent], redis, queue: asyncio.Queue | None = None) -> None:
        """Publish ``events`` in order in one pipeline (one round trip, not one per event), and
        write each touched token's book and the spot once, at their latest state: per event, at
        the demo's 90x, the round trips and book serializations left traders minutes of market
        time behind. Subscribers see exactly the sequence they saw event by event."""
        pipe = redis.pipeline(transaction=False)
        touched: dict[str, None] = {}  # token ids whose book changed, in first-touched order
        spot: str | None = None
        resolved: list[str] = []
        for ev in events:
            if isinstance(ev, RoundListed):
                self._listed(ev, queue)
                continue
            text = event_to_json(ev)
            if isinstance(ev, NewMarket):
                if ev.info.asset != self.asset or ev.info.interval != self.interval:
                    continue  # another series' listing
                pipe.hset(f"{self.channel}:markets", ev.info.market_id, text)
                if self.rounds is not None and ev.info.market_id not in self.rounds.known:
                    # straight from the feed in the complete shape of older simulators (rounds found
                    # by either path were adopted, and are subscribed, where they were found)
                    self.rounds.adopt(ev.info, "new_market")
                    await self._subscribe(self.rounds.follow(ev.info.market_id))
            pipe.publish(self.channel, text)
            if isinstance(ev, (BookSnapshot, PriceChange)):
                touched[ev.token_id] = None
            elif isinstance(ev, SpotTick):
                spot = text
            elif isinstance(ev, MarketResolved):
                pipe.hset(f"{self.channel}:resolved", ev.market_id, text)
                resolved.append(ev.market_id)
            self.published += 1
            self._buffer.append(ev)
        for token_id in touched:
            book = self.stream.book(token_id) if self.stream else None
            if book is not None:
                snap = BookSnapshot(
                    book.market_id,
                    book.token_id,
                    tuple(book.bids()),
                    tuple(book.asks()),
                    book.ts_ms,
                    tick_size=book.tick_size,
                )
                pipe.set(f"{self.channel}:book:{token_id}", event_to_json(snap), ex=3600)
        if spot is not None:
            pipe.set(f"{self.channel}:spot", spot, ex=3600)
        if len(pipe):
            await pipe.execute()
        for market_id in resolved:
            # a resolved round's book is gone at the venue: stop following it (no endless resyncs)
            info = await redis.hget(f"{self.channel}:markets", market_id)
            listing = event_from_json(info) if info is not None else None
            if isinstance(listing, NewMarket) and self.stream is not None:
                await self.stream.unsubscribe([listing.info.up_token_id, listing.info.down_token_id])

    def _listed(self, ev: RoundListed, queue: asyncio.Queue | None) -> None:
        """The venue's new_market: complete it from Gamma off the hot path, then it comes back
        through the queue as a NewMarket."""
        if self.rounds is None or not self.rounds.ours(ev) or queue is None:
            return
        if ev.market_id in self.rounds.known:
            self.rounds.heard(ev)
            opening = self._open(self.rounds.follow(ev.market_id), ev.ts_ms, queue)
            self._completions.add(t := asyncio.create_task(opening))
        else:
            self._completions.add(t := asyncio.create_task(self._complete_listing(ev, queue)))
        t.add_done_callback(self._completions.discard)

    def count_feed(self, name: str, stats: FeedStats) -> None:
        """Count the WebSocket connection attempts ``stats`` made since the last count."""
        connects, failures, reconnects = self._feeds_counted.get(name, (0, 0, 0))
        new_failures = stats.connect_failures - failures
        self.api.count(stats.connects - connects + new_failures, new_failures + stats.reconnects - reconnects)
        self._feeds_counted[name] = (stats.connects, stats.connect_failures, stats.reconnects)

    async def _flush_api(self, redis, spot: RtdsSpotStream | None) -> None:
        if self.stream is not None:
            self.count_feed("market", self.stream.stats)
        if spot is not None:
            self.count_feed("spot", spot.stats)
        await self.api.flush(redis)
        if self.rounds is not None:  # for `floor status` and tests: which path found how many rounds
            await redis.hset(f"{self.channel}:rounds_found", mapping=self.rounds.counts())

    async def _flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer or self.sink is None:
            self._buffer.clear()
            return
        batch, self._buffer = self._buffer, []
        try:
            await self.sink.write(batch)
            self.archived += len(batch)
        except Exception as exc:  # keep the batch for the next attempt: archive loss is not acceptable
            self.archive_failures += 1
            log.warning("md_archive_failed", error=f"{type(exc).__name__}: {exc}"[:200], kept=len(batch))
            # a fault in the data, not the connection, is dead-lettered by the sink; what lands
            # here is retried with the next flush
            self._buffer = batch + self._buffer


async def subscribe_market_events(redis_url: str, asset: str, interval: str) -> AsyncIterator[MarketEvent]:
    """What an agent reads: the collector's normalized events for one series, as they come."""
    import redis.asyncio as aioredis

    redis = aioredis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(asset, interval))
    try:
        async for msg in pubsub.listen():
            if msg.get("type") != "message":
                continue
            yield event_from_json(msg["data"])
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
        await redis.aclose()
