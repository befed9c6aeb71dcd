from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tradingfloor.bus.client import connect
from tradingfloor.bus.exposure import ExposureLedger
from tradingfloor.bus.lock import LockNotAcquired, RedisLock
from tradingfloor.bus.ratelimit import RateLimiter


async def test_rate_limit_sliding_window(redis):
    rl = RateLimiter(redis, limit=5, window=0.5)
    decisions = [await rl.allow("orders") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    assert 0 < decisions[-1].retry_after <= 0.5
    assert (await rl.allow("other-key")).allowed  # keys are independent
    await asyncio.sleep(decisions[-1].retry_after + 0.02)
    assert (await rl.allow("orders")).allowed
    assert not (await rl.allow("orders", cost=5)).allowed


async def test_rate_limit_is_atomic_across_clients(redis_url):
    clients = [await connect(redis_url) for _ in range(4)]
    try:
        limiters = [RateLimiter(c, limit=10, window=30) for c in clients]
        results = await asyncio.gather(*(limiters[i % 4].allow("shared") for i in range(60)))
        assert sum(d.allowed for d in results) == 10
    finally:
        for c in clients:
            await c.aclose()


async def test_rate_limit_acquire_waits(redis):
    rl = RateLimiter(redis, limit=2, window=0.3)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(4):
        await rl.acquire("k")
    assert loop.time() - start >= 0.25
    with pytest.raises(TimeoutError):
        await rl.acquire("k", timeout=0.01)


async def test_lock_mutual_exclusion_and_safe_release(redis):
    a = RedisLock(redis, "chain", ttl=5)
    b = RedisLock(redis, "chain", ttl=5, timeout=0.2)
    assert await a.try_acquire()
    assert not await b.try_acquire()
    with pytest.raises(LockNotAcquired):
        await b.acquire()
    assert not await b.release()  # not the holder: nothing deleted
    assert await redis.get("tf:lock:chain") == a.token
    assert await a.extend(10) and 9000 < await redis.pttl("tf:lock:chain") <= 10000
    assert await a.release()
    assert await b.try_acquire()
    await b.release()


async def test_expired_lock_is_not_released_by_its_old_holder(redis):
    a = RedisLock(redis, "job", ttl=0.2)
    await a.acquire()
    await asyncio.sleep(0.3)
    b = RedisLock(redis, "job", ttl=5)
    await b.acquire()
    assert not await a.extend()
    assert a.lost.is_set()
    assert not await a.release()
    assert await redis.get("tf:lock:job") == b.token
    await b.release()


async def test_lock_context_manager_extends_and_serializes(redis):
    inside = 0
    max_inside = 0
    order: list[int] = []

    async def worker(i: int) -> None:
        nonlocal inside, max_inside
        async with RedisLock(redis, "single-writer", ttl=0.3, timeout=10) as lock:
            inside += 1
            max_inside = max(max_inside, inside)
            await asyncio.sleep(0.45 if i == 0 else 0.02)  # worker 0 outlives the TTL: auto-extended
            lock.check()
            order.append(i)
            inside -= 1

    await asyncio.gather(*(worker(i) for i in range(5)))
    assert max_inside == 1 and sorted(order) == list(range(5))
    assert await redis.get("tf:lock:single-writer") is None


async def test_exposure_reserve_release_reset(redis):
    ex = ExposureLedger(redis)
    cap = Decimal("100")
    assert await ex.reserve("a", Decimal("60.10"), cap)
    assert await ex.reserve("b", Decimal("39.9"), cap)
    assert not await ex.reserve("b", Decimal("0.000001"), cap)  # total would exceed the cap
    assert await ex.total() == Decimal(100)
    assert await ex.release("a", Decimal("0.1")) == Decimal("0.1")
    assert await ex.of("a") == Decimal(60)
    assert await ex.release("b", Decimal(1000)) == Decimal("39.9")  # never below zero
    assert await ex.shares() == {"a": Decimal(60)}
    # a restarted agent replaces its old share with what it really holds; others untouched
    await ex.reserve("c", Decimal("5"), cap)
    await ex.reset("a", Decimal("12.345678"))
    assert await ex.shares() == {"a": Decimal("12.345678"), "c": Decimal(5)}
    await ex.reset("a")
    assert await ex.shares() == {"c": Decimal(5)}
    # decimal amounts stay exact
    for _ in range(3):
        assert await ex.reserve("d", Decimal("0.1"), cap)
    assert await ex.of("d") == Decimal("0.3")
    with pytest.raises(ValueError):
        await ex.reserve("d", Decimal(-1), cap)


async def test_exposure_cap_holds_under_concurrency(redis_url):
    clients = [await connect(redis_url) for _ in range(4)]
    try:
        ledgers = [ExposureLedger(c) for c in clients]
        results = await asyncio.gather(
            *(ledgers[i % 4].reserve(f"agent-{i % 7}", Decimal("10"), Decimal("255")) for i in range(100))
        )
        assert sum(results) == 25
        assert await ledgers[0].total() == Decimal(250)
    finally:
        for c in clients:
            await c.aclose()
