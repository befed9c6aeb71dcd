"""A Redis lock for single-writer work: ``SET key token NX PX ttl``; release and extend only by
the holder (compare-and-delete / compare-and-pexpire in Lua), so a lock that expired and was
taken by someone else is never released or extended by the old holder.

    async with RedisLock(redis, "audit-chain", ttl=10) as lock:   # waits up to ``timeout``
        ...  # the lock is extended in the background every ttl/3 while the block runs

If the lock is lost anyway (Redis restarted, the process stalled past the TTL), ``lock.lost`` is
set and ``lock.check()`` raises :class:`LockLost`; code doing single-writer work should check it
before each irreversible step.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.bus.lock")

PREFIX = "tf:lock:"

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class LockNotAcquired(TimeoutError):
    pass


class LockLost(RuntimeError):
    pass


class RedisLock:
    def __init__(
        self,
        redis: aioredis.Redis,
        name: str,
        *,
        ttl: float = 10.0,
        timeout: float | None = 10.0,
        retry_interval: float = 0.05,
        auto_extend: bool = True,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"lock ttl must be positive, got {ttl}")
        self.redis = redis
        self.name = name
        self.key = PREFIX + name
        self.ttl = ttl
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.auto_extend = auto_extend
        self.token = uuid.uuid4().hex
        self.held = False
        self.lost = asyncio.Event()
        self._release = redis.register_script(_RELEASE)
        self._extend = redis.register_script(_EXTEND)
        self._extender: asyncio.Task | None = None

    @property
    def _ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    async def try_acquire(self) -> bool:
        if self.held:
            raise RuntimeError(f"lock {self.name!r} is already held by this object")
        if await self.redis.set(self.key, self.token, nx=True, px=self._ttl_ms):
            self.held = True
            self.lost.clear()
            return True
        return False

    async def acquire(self, timeout: float | None = None) -> None:
        """Wait until acquired; ``timeout`` (default: the constructor's; None waits forever)."""
        timeout = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not await self.try_acquire():
            if deadline is not None and loop.time() >= deadline:
                raise LockNotAcquired(f"lock {self.name!r} not acquired within {timeout}s")
            await asyncio.sleep(self.retry_interval)

    async def extend(self, ttl: float | None = None) -> bool:
        """Reset the TTL if this object still holds the lock; False (and ``lost`` set) if not."""
        ms = self._ttl_ms if ttl is None else max(1, int(ttl * 1000))
        ok = bool(await self._extend(keys=[self.key], args=[self.token, ms]))
        if not ok and self.held:
            self.held = False
            self.lost.set()
            log.warning("lock.lost", lock=self.name)
        return ok

    async def release(self) -> bool:
        """Delete the key if this object holds it; False when it had already expired or moved on."""
        await self._stop_extender()
        was_held, self.held = self.held, False
        ok = bool(await self._release(keys=[self.key], args=[self.token]))
        if was_held and not ok:
            log.warning("lock.expired_before_release", lock=self.name)
        return ok

    def check(self) -> None:
        if not self.held or self.lost.is_set():
            raise LockLost(f"lock {self.name!r} is no longer held")

    async def _extend_forever(self) -> None:
        while self.held:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await self.extend():
                    return
            except (RedisError, OSError) as exc:
                log.warning("lock.extend_failed", lock=self.name, error=f"{type(exc).__name__}: {exc}")

    async def _stop_extender(self) -> None:
        if self._extender is not None:
            task, self._extender = self._extender, None
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def __aenter__(self) -> RedisLock:
        await self.acquire()
        if self.auto_extend:
            self._extender = asyncio.get_running_loop().create_task(
                self._extend_forever(), name=f"lock-{self.name}"
            )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.release()
