"""Market events for the agent: the collector's Redis channel ``tf:md:<asset>:<interval>`` (JSON
events from ``tradingfloor.market.codec``), each paired with its arrival time for latency metrics.
A malformed message is counted and skipped, never fatal."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tradingfloor.market.codec import FrameError, event_from_json
from tradingfloor.market.events import MarketEvent
from tradingfloor.observability.metrics import ERRORS


def channel(asset: str, interval: str) -> str:
    return f"tf:md:{asset}:{interval}"


async def redis_events(
    client: aioredis.Redis,
    asset: str,
    interval: str,
    agent: str,
    poll_timeout_s: float = 1.0,
    on_subscribed: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[tuple[MarketEvent, int] | None]:
    """Yields (event, arrival perf_counter_ns), or None after ``poll_timeout_s`` of silence (so the
    caller can run its timers). ``on_subscribed`` runs once the subscription is in place and before
    the first event is read (catching up from the cache there misses nothing: what is published
    meanwhile waits in the subscription). A lost Redis is not the end of the feed: while it is away
    the caller gets None every ``poll_timeout_s`` (its timers and positions carry on), and once it is
    back the subscription is made again and ``on_subscribed`` catches up on what was missed."""
    while True:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel(asset, interval))
            if on_subscribed is not None:
                await on_subscribed()
            while True:
                msg = await pubsub.get_message(timeout=poll_timeout_s)
                if msg is None:
                    yield None
                    continue
                arrived = time.perf_counter_ns()
                try:
                    yield event_from_json(msg["data"]), arrived
                except FrameError:
                    ERRORS.labels(agent, "malformed_event").inc()
        except (RedisError, OSError):
            ERRORS.labels(agent, "redis").inc()
            await asyncio.sleep(poll_timeout_s)
            yield None  # the caller's timers run while Redis is away
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
