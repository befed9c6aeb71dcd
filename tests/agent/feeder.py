"""Test feed: the deterministic market model published to Redis as the collector does
(``tf:md:<asset>:<interval>``, JSON events), at ``speed`` × real time. Like a collector serving late
subscribers, it re-announces the live markets and the latest resolutions every few simulated
seconds, so an agent restarted mid-round picks the round up again."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from tradingfloor.market.codec import event_to_json
from tradingfloor.market.events import MarketResolved, NewMarket
from tradingfloor.sim.model import MarketSimulator, SimConfig

REANNOUNCE_MS = 5_000


async def feed(
    redis_url: str, config: SimConfig, speed: float, stop: asyncio.Event, channel: str, tick_s: float = 0.02
) -> int:
    """Publish until ``stop`` is set; returns how many events went out."""
    sim = MarketSimulator(config)
    client = aioredis.from_url(redis_url)
    known: dict[str, NewMarket] = {}
    resolved: list[MarketResolved] = []
    sent = 0
    wall0, sim0 = time.monotonic(), config.start_ms
    next_announce = sim0
    try:
        while not stop.is_set():
            now = sim0 + int((time.monotonic() - wall0) * 1000 * speed)
            events = sim.advance_to(now)
            for e in events:
                if isinstance(e, NewMarket):
                    known[e.info.market_id] = e
                elif isinstance(e, MarketResolved):
                    known.pop(e.market_id, None)
                    resolved = ([*resolved, e])[-3:]
            if now >= next_announce:
                events += [*(NewMarket(m.info, now) for m in known.values()), *resolved]
                next_announce = now + REANNOUNCE_MS
            if events:
                pipe = client.pipeline(transaction=False)
                for e in events:
                    pipe.publish(channel, event_to_json(e))
                await pipe.execute()
                sent += len(events)
            await asyncio.sleep(tick_s)
    finally:
        await client.aclose()
    return sent
