"""A sliding-window rate limiter shared by every process, atomic in one Lua script.

``allow(key)`` admits at most ``limit`` events per ``window`` seconds for ``key`` (for example
``clob:orders`` or ``gamma:<agent>``). Each admitted event is a member of a sorted set scored by
the Redis server's own clock (so the processes' clocks do not matter); events older than the
window are dropped before counting. A refused call is not recorded and tells how long to wait.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

PREFIX = "tf:ratelimit:"

_SLIDING_WINDOW = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2])
local member = ARGV[3]
local cost = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_us)
local used = redis.call('ZCARD', key)
if used + cost <= limit then
    for i = 1, cost do
        redis.call('ZADD', key, now, member .. ':' .. i)
    end
    redis.call('PEXPIRE', key, math.ceil(window_us / 1000) + 1000)
    return {1, limit - used - cost, 0}
end
local retry_us = window_us
if cost <= limit then
    -- the (used + cost - limit)-th oldest event must leave the window first
    local oldest = redis.call('ZRANGE', key, used + cost - limit - 1, used + cost - limit - 1, 'WITHSCORES')
    if oldest[2] then
        retry_us = tonumber(oldest[2]) + window_us - now
    end
end
return {0, limit - used, retry_us}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: float  # seconds until a call of the same cost could be admitted (0 when allowed)


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"rate limit needs limit >= 1 and window > 0, got {limit} per {window}s")
        self.redis = redis
        self.limit = limit
        self.window = window
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def allow(self, key: str, cost: int = 1) -> Decision:
        if cost < 1:
            raise ValueError(f"cost must be >= 1, got {cost}")
        allowed, remaining, retry_us = await self._script(
            keys=[PREFIX + key], args=[self.limit, int(self.window * 1_000_000), uuid.uuid4().hex, cost]
        )
        return Decision(bool(int(allowed)), int(remaining), max(0.0, int(retry_us) / 1_000_000))

    async def acquire(self, key: str, cost: int = 1, *, timeout: float | None = None) -> None:
        """Wait until admitted; raises TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            decision = await self.allow(key, cost)
            if decision.allowed:
                return
            if cost > self.limit:
                raise ValueError(f"cost {cost} exceeds the limit {self.limit}: it can never be admitted")
            wait = max(decision.retry_after, 0.001)
            if deadline is not None and loop.time() + wait > deadline:
                raise TimeoutError(
                    f"rate limit {self.limit}/{self.window}s on {key!r}: not admitted within {timeout}s"
                )
            await asyncio.sleep(wait)
