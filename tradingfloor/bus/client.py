"""The Redis client used by the bus: created from a URL, pinged with retry, errors without passwords."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.redact import redact_url

log = get_logger("tradingfloor.bus")


class RedisUnavailable(ConnectionError):
    def __init__(self, url: str, attempts: int, cause: BaseException | None) -> None:
        self.url = redact_url(url)
        super().__init__(
            f"cannot reach Redis at {self.url} after {attempts} attempt(s): {type(cause).__name__}: {cause}"
        )


async def connect(
    url: str,
    *,
    attempts: int = 10,
    base_delay: float = 0.2,
    max_delay: float = 5.0,
    socket_timeout: float = 5.0,
) -> aioredis.Redis:
    """A Redis client (responses decoded as UTF-8) after a successful PING."""
    client = aioredis.from_url(
        url,
        decode_responses=True,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
    )
    last: BaseException | None = None
    for attempt in range(1, attempts + 1):
        try:
            await client.ping()
            return client
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            last = exc
            if attempt < attempts:
                log.warning("redis.connect_retry", url=redact_url(url), attempt=attempt, error=str(exc))
                await asyncio.sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))
    await client.aclose()
    raise RedisUnavailable(url, attempts, last) from last
