"""Floor-wide API health: per-minute buckets summed over a rolling window, counters that never lose
a count when Redis fails."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from tradingfloor.bus import api_health
from tradingfloor.bus.api_health import ApiCounter, ApiHealth, bucket_key

T0 = 1_700_000_000.0  # a minute boundary minus 20 s: 1699999980 is minute 28333333


async def test_window_sums_the_last_minutes_and_buckets_expire(redis):
    await api_health.record(redis, 10, 1, now=T0 - 600)  # ten minutes ago: outside a 5-minute window
    await api_health.record(redis, 7, 2, now=T0 - 240)
    await api_health.record(redis, 3, 0, now=T0 - 60)
    await api_health.record(redis, 5, 5, now=T0)
    assert await api_health.read(redis, now=T0) == ApiHealth(15, 7)
    assert await api_health.read(redis, 1, now=T0) == ApiHealth(5, 5)
    assert await api_health.read(redis, 15, now=T0) == ApiHealth(25, 8)
    ttl = await redis.ttl(bucket_key(int(T0 // 60)))
    assert 0 < ttl <= api_health.KEEP_MINUTES * 60 + 60
    assert (await api_health.read(redis, now=T0)).error_rate == pytest.approx(7 / 15)


async def test_malformed_buckets_count_as_nothing_and_bad_arguments_are_named(redis):
    await redis.hset(bucket_key(int(T0 // 60)), mapping={"requests": "many", "errors": "3"})
    assert await api_health.read(redis, now=T0) == ApiHealth(0, 0)
    with pytest.raises(ValueError, match="errors <= requests"):
        await api_health.record(redis, 1, 2)
    with pytest.raises(ValueError, match="window must be 1..60 minutes"):
        await api_health.read(redis, 0)


async def test_counter_flushes_from_any_thread_and_keeps_counts_when_redis_fails(redis, redis_url):
    import asyncio

    counter = ApiCounter("test")
    await asyncio.gather(*(asyncio.to_thread(counter.count, 1, int(i % 4 == 0)) for i in range(40)))
    assert counter.pending == ApiHealth(40, 10)
    with pytest.raises(ValueError, match="errors <= requests"):
        counter.count(1, 2)

    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    assert not await counter.flush(dead, now=T0)
    await dead.aclose()
    assert counter.pending == ApiHealth(40, 10)  # nothing lost

    assert await counter.flush(redis, now=T0)
    assert counter.pending == ApiHealth(0, 0)
    assert await api_health.read(redis, now=T0) == ApiHealth(40, 10)
