"""The collector's batched publishing against the real simulator and real Redis: subscribers see
exactly the event sequence the per-event publishing gave them, and the caches end the same."""

from __future__ import annotations

import asyncio
import contextlib
import random
from types import SimpleNamespace

import redis.asyncio as aioredis

from tradingfloor.market.clob import ClobRest
from tradingfloor.market.collector import Collector, CollectorUrls, subscribe_market_events
from tradingfloor.market.events import (
    BookSnapshot,
    MarketEvent,
    NewMarket,
    PriceChange,
    RoundListed,
    SpotTick,
)
from tradingfloor.market.gamma import GammaClient, discover_rounds
from tradingfloor.market.spot import RtdsSpotStream
from tradingfloor.market.ws import MarketStream

from .conftest import wait_for


async def _record_sim_stream(sim, http) -> tuple[MarketStream, list[MarketEvent]]:
    """About 600 events of the simulator's market and spot feeds, as the collector's queue gets them."""
    gamma, clob = GammaClient(sim.url, http), ClobRest(sim.url, http)
    now = await clob.server_time_ms()
    rounds = await discover_rounds(gamma, "BTC", "15m", now, count=2, retries=5, retry_delay_s=0.05)
    tokens = [t for r in rounds if r.start_ms <= now for t in (r.up_token_id, r.down_token_id)]
    events: list[MarketEvent] = [NewMarket(r, now) for r in rounds]  # as discovery queues them
    stream = MarketStream(sim.market_ws_url, tokens, clob=clob, stale_after=5.0)
    spot = RtdsSpotStream(sim.spot_ws_url, ("BTC",), stale_after=5.0)

    async def pump(source) -> None:
        async for ev in source:
            events.append(ev)

    tasks = [asyncio.create_task(pump(stream)), asyncio.create_task(pump(spot))]
    try:
        assert await wait_for(lambda: len(events) >= 600, 30.0), len(events)
    finally:
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await stream.close()
        await spot.close()
    return stream, events[:600]  # enough for every batch size; the rest only slows the test


async def _published(collector: Collector, redis_url: str, batches: list[list[MarketEvent]]) -> list:
    seen: list = []
    total = sum(len(b) for b in batches)

    async def agent() -> None:
        async for ev in subscribe_market_events(redis_url, "BTC", "15m"):
            seen.append(ev)

    task = asyncio.create_task(agent())
    redis = aioredis.from_url(redis_url)
    try:
        for _ in range(500):  # subscribed before the first publish
            if (await redis.pubsub_numsub("tf:md:BTC:15m"))[0][1]:
                break
            await asyncio.sleep(0.02)
        for batch in batches:
            await collector._publish(batch, redis)
        assert await wait_for(lambda: len(seen) >= total, 10.0), (len(seen), total)
        names = [k if isinstance(k, bytes) else k.encode() for k in await redis.keys("tf:md:BTC:15m*")]
        keys = sorted(k for k in names if not k.endswith(b":rounds_found"))
        cache = {
            k: await redis.get(k) if await redis.type(k) == b"string" else await redis.hgetall(k)
            for k in keys
        }
        await redis.flushdb()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await redis.aclose()
    return [seen, cache]


async def _no_unsubscribe(_tokens: list[str]) -> None:
    return None


def _first_difference(got: list, want: list) -> tuple | None:
    """Where two long sequences part (pytest's own diff of thousands of events takes minutes)."""
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return i, a, b
    return None if len(got) == len(want) else (min(len(got), len(want)), "length", len(got), len(want))


async def test_batched_publish_equals_per_event_publish(sim, http, redis_url):
    # bounded, so a stall names the await it stalled on instead of a bare pytest timeout
    await asyncio.wait_for(_batched_equals_per_event(sim, http, redis_url), 90)


async def _batched_equals_per_event(sim, http, redis_url) -> None:
    stream, events = await _record_sim_stream(sim, http)
    assert {type(e) for e in events} >= {NewMarket, BookSnapshot, PriceChange, SpotTick}

    def collector() -> Collector:
        c = Collector("BTC", "15m", CollectorUrls("", "", ""), redis_url)
        # the recorded stream's books at their final state; the stream itself is closed, and
        # unsubscribing a resolved round from it (not this test's concern) would reconnect it
        c.stream = SimpleNamespace(book=stream.book, unsubscribe=_no_unsubscribe)  # type: ignore[assignment]
        return c

    one_by_one = collector()
    expected = await _published(one_by_one, redis_url, [[e] for e in events])
    rng, batches, i = random.Random(7), [], 0
    while i < len(events):  # batches of every size up to the collector's bound
        n = rng.choice([1, 2, 7, 50, 500])
        batches.append(events[i : i + n])
        i += n
    batched = collector()
    got = await _published(batched, redis_url, batches)
    # the same sequence, nothing dropped, added or reordered (a venue's listing is not published:
    # it comes back completed as a NewMarket)
    published = [e for e in events if not isinstance(e, RoundListed)]
    difference = _first_difference(got[0], published)
    assert difference is None, difference
    difference = _first_difference(expected[0], published)
    assert difference is None, difference
    same_cache = got[1] == expected[1]  # the same markets, books and spot in the caches
    assert same_cache, sorted(got[1])
    cached = sorted(got[1])
    assert any(k.endswith(b":spot") for k in cached) and sum(b":book:" in k for k in cached) >= 2
    counts = (batched.published, one_by_one.published, len(published))
    assert counts[0] == counts[1] == counts[2], counts
    # the archive gets them in the same order
    difference = _first_difference(batched._buffer, published) or _first_difference(
        one_by_one._buffer, published
    )
    assert difference is None, difference


async def test_drain_takes_at_most_one_batch_oldest_first():
    collector = Collector("BTC", "15m", CollectorUrls("", "", ""), "redis://unused", batch_size=3)
    queue: asyncio.Queue = asyncio.Queue()
    for n in range(5):
        queue.put_nowait(n)
    assert collector._drain(queue) == [0, 1, 2]
    assert collector._drain(queue) == [3, 4]
    assert collector._drain(queue) == []
