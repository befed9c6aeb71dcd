"""Collector against the simulator, real Redis fan-out and real PostgreSQL archive."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from tradingfloor.bus import api_health
from tradingfloor.bus.api_health import ApiCounter, ApiHealth
from tradingfloor.market.codec import event_from_json
from tradingfloor.market.collector import (
    Collector,
    CollectorUrls,
    api_trace,
    subscribe_market_events,
)
from tradingfloor.market.events import BookSnapshot, PriceChange, SpotTick
from tradingfloor.market.feed import FeedStats
from tradingfloor.persistence.market_archive import PostgresSink
from tradingfloor.persistence.migrate import migrate

from .conftest import wait_for


async def test_collector_fans_out_to_agents_and_archives(sim, redis_url, db_url):
    await migrate(db_url)
    seen: list[list] = [[], []]
    got = seen[0]

    async def agent(into: list):
        async for ev in subscribe_market_events(redis_url, "BTC", "15m"):
            into.append(ev)

    agents = [asyncio.create_task(agent(seen[0])), asyncio.create_task(agent(seen[1]))]
    await asyncio.sleep(0.2)  # both subscribed before the first publish
    urls = CollectorUrls(sim.url, sim.url, sim.market_ws_url, sim.spot_ws_url)
    sink = PostgresSink(db_url)
    collector = Collector(
        "BTC", "15m", urls, redis_url, sink, batch_size=200, flush_interval=0.2, stale_after=5.0
    )
    stop = asyncio.Event()
    run = asyncio.create_task(collector.run(stop))
    try:
        assert await wait_for(
            lambda: (
                sum(isinstance(e, PriceChange) for e in got) >= 100
                and any(isinstance(e, SpotTick) for e in got)
            ),
            15.0,
        ), collector.published
        stop.set()
        await asyncio.wait_for(run, 10)
    finally:
        stop.set()
        for t in agents:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await sink.close()
    # both agents got the one subscription's events, in the same order
    n = min(len(seen[0]), len(seen[1]))
    assert n >= 100 and seen[0][:n] == seen[1][:n]
    assert sum(isinstance(e, BookSnapshot) for e in got) >= 2
    redis = aioredis.from_url(redis_url)
    try:
        markets = await redis.hgetall("tf:md:BTC:15m:markets")
        assert markets
        infos = [event_from_json(v).info for v in markets.values()]
        cached = [c for i in infos if (c := await redis.get(f"tf:md:BTC:15m:book:{i.up_token_id}"))]
        assert cached and event_from_json(cached[0]).bids
        assert event_from_json(await redis.get("tf:md:BTC:15m:spot")).asset == "BTC"
        health = await api_health.read(redis)  # REST calls and WebSocket connects, none failed
        assert health.requests >= 4 and health.errors == 0
    finally:
        await redis.aclose()
    conn = await asyncpg.connect(db_url)
    try:
        n = await conn.fetchval("SELECT count(*) FROM market_data")
        kinds = {r["kind"] for r in await conn.fetch("SELECT DISTINCT kind FROM market_data")}
        assert n == collector.archived and n >= 100 and {"book", "price_change", "spot"} <= kinds
        assert collector.archive_failures == 0
    finally:
        await conn.close()


async def test_http_requests_count_with_failures_as_errors(sim, unused_tcp_port):
    counter = ApiCounter("test")
    async with aiohttp.ClientSession(trace_configs=[api_trace(counter)]) as http:
        async with http.get(f"{sim.url}/time") as r:
            await r.read()
        async with http.get(f"{sim.url}/no-such-endpoint") as r:  # a 404 is an answer, not an API failure
            assert r.status == 404
        with contextlib.suppress(aiohttp.ClientError):
            await http.get(f"http://127.0.0.1:{unused_tcp_port}/time")  # nothing listens: a failure
    assert counter.pending == ApiHealth(3, 1)


def test_websocket_attempts_count_with_reconnects_and_failed_connects_as_errors():
    collector = Collector("BTC", "15m", CollectorUrls("", "", ""), "redis://unused")
    stats = FeedStats(connects=1)
    collector.count_feed("market", stats)
    assert collector.api.pending == ApiHealth(1, 0)
    stats.connects, stats.reconnects, stats.connect_failures = 3, 2, 4  # two drops, four failed attempts
    collector.count_feed("market", stats)
    collector.count_feed("market", stats)  # nothing new
    assert collector.api.pending == ApiHealth(1 + 2 + 4, 2 + 4)
