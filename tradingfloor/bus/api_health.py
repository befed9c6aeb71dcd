"""Venue API health, floor-wide: how many calls the floor made to Polymarket and how many failed,
over a rolling window, for the Floor Boss's ``ApiErrorRate`` circuit breaker.

Every caller (the market-data collectors' REST calls and WebSocket reconnects, the live brokers'
order calls) adds its counts to the current minute's hash ``tf:floor:api:<unix minute>``
``{requests, errors}``, which expires after :data:`KEEP_MINUTES`. :func:`read` sums the last
``minutes`` buckets (the current one included). Buckets are keyed by each writer's wall clock;
the floor's clocks agree to well within a minute.

Counting must never slow or break the caller: :class:`ApiCounter` tallies in memory (thread-safe,
so the live broker's worker thread can count) and its owner flushes it to Redis on a timer; a
flush that fails keeps its counts for the next one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.bus.api_health")

PREFIX = "tf:floor:api:"
KEEP_MINUTES = 60  # a bucket lives this long: the longest window read() can sum
DEFAULT_WINDOW_MINUTES = 5


def bucket_key(minute: int) -> str:
    return f"{PREFIX}{minute}"


def _minute(now: float | None) -> int:
    return int((time.time() if now is None else now) // 60)


@dataclass(frozen=True, slots=True)
class ApiHealth:
    requests: int = 0
    errors: int = 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


async def record(redis: aioredis.Redis, requests: int, errors: int = 0, *, now: float | None = None) -> None:
    """Add ``requests`` calls, ``errors`` of them failed, to the current minute's bucket."""
    if requests < 0 or errors < 0 or errors > requests:
        raise ValueError(
            f"API counts must satisfy 0 <= errors <= requests, got {errors} errors of {requests}"
        )
    if not requests:
        return
    key = bucket_key(_minute(now))
    pipe = redis.pipeline(transaction=True)
    pipe.hincrby(key, "requests", requests)
    if errors:
        pipe.hincrby(key, "errors", errors)
    pipe.expire(key, KEEP_MINUTES * 60 + 60)
    await pipe.execute()


def _int(value: str | bytes | int | None) -> int:
    if value is None:
        return 0
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


async def read(
    redis: aioredis.Redis, minutes: int = DEFAULT_WINDOW_MINUTES, *, now: float | None = None
) -> ApiHealth:
    """Calls and failures over the last ``minutes`` minutes (the current, partial one included).
    A malformed field counts as zero."""
    if not 1 <= minutes <= KEEP_MINUTES:
        raise ValueError(f"API health window must be 1..{KEEP_MINUTES} minutes, got {minutes}")
    last = _minute(now)
    pipe = redis.pipeline(transaction=False)
    for minute in range(last - minutes + 1, last + 1):
        pipe.hmget(bucket_key(minute), "requests", "errors")
    requests = errors = 0
    for req, err in await pipe.execute():
        requests += _int(req)
        errors += _int(err)
    return ApiHealth(requests, min(errors, requests))


class ApiCounter:
    """In-memory tallies of one process's venue calls, flushed to the floor's buckets."""

    def __init__(self, source: str) -> None:
        self.source = source  # for logs: "collector:BTC:15m", "broker:<agent>"
        self._lock = threading.Lock()
        self._requests = 0
        self._errors = 0

    def count(self, requests: int = 1, errors: int = 0) -> None:
        """``requests`` calls made, ``errors`` of them failed."""
        if requests < 0 or errors < 0 or errors > requests:
            raise ValueError(
                f"API counts must satisfy 0 <= errors <= requests, got {errors} errors of {requests}"
            )
        with self._lock:
            self._requests += requests
            self._errors += errors

    @property
    def pending(self) -> ApiHealth:
        with self._lock:
            return ApiHealth(self._requests, self._errors)

    def _take(self) -> tuple[int, int]:
        with self._lock:
            taken = self._requests, self._errors
            self._requests = self._errors = 0
            return taken

    def _give_back(self, requests: int, errors: int) -> None:
        with self._lock:
            self._requests += requests
            self._errors += errors

    async def flush(self, redis: aioredis.Redis, *, now: float | None = None) -> bool:
        """Write what was counted since the last flush; False (counts kept) when Redis failed."""
        requests, errors = self._take()
        if not requests:
            return True
        try:
            await record(redis, requests, errors, now=now)
        except Exception as exc:
            self._give_back(requests, errors)
            log.warning("api_health.flush_failed", source=self.source, error=f"{type(exc).__name__}: {exc}")
            return False
        return True
