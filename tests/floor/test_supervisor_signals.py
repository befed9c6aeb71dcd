"""The local supervisor's floor-wide signals from Redis: the venue API error rate through
``tradingfloor.bus.api_health`` opens the ``ApiErrorRate`` breaker."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from floor_boss.local.processes import AgentProcesses
from floor_boss.local.store import LocalStore
from floor_boss.local.supervisor import LocalSupervisor
from tradingfloor.bus import api_health
from tradingfloor.bus.api_health import ApiHealth
from tradingfloor.persistence.db import create_pool
from tradingfloor.persistence.migrate import migrate


@pytest.fixture
async def supervisor(db_url, redis_url, tmp_path):
    await migrate(db_url)
    pool = await create_pool(db_url)
    redis = aioredis.from_url(redis_url)
    yield LocalSupervisor(LocalStore(pool), AgentProcesses(tmp_path, {}), redis, tmp_path / "manifests")
    await redis.aclose()
    await pool.close()


async def test_api_error_rate_opens_the_breaker(supervisor):
    await supervisor.reconcile()
    assert supervisor.breakers == ()
    await api_health.record(supervisor.redis, 20, 1)
    await supervisor.reconcile()
    assert await supervisor.api_health() == ApiHealth(20, 1) and supervisor.breakers == ()
    await api_health.record(supervisor.redis, 10, 9)  # the venue starts failing
    await supervisor.reconcile()
    assert supervisor.breakers == ("ApiErrorRate",)


async def test_heartbeats_are_read_through_the_bus(supervisor):
    from floor_boss.local.status import heartbeat_ages
    from tradingfloor.bus.heartbeats import Heartbeat, heartbeat_key

    info = await Heartbeat(supervisor.redis, "alive", ttl=5, interval=1).beat()
    await supervisor.redis.set(heartbeat_key("garbled"), "{not json")
    beats = await supervisor.heartbeats(["alive", "garbled", "silent"])
    assert list(beats) == ["alive"] and abs(beats["alive"].timestamp() - info.ts) < 1e-5  # float round trip
    ages = await heartbeat_ages(supervisor.redis, ["alive", "garbled", "silent"])
    assert list(ages) == ["alive"] and 0 <= ages["alive"] < 5


def _dead_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_loop_survives_postgresql_and_redis_going_away(tmp_path):
    """Nothing listens on either port: each pass holds instead of raising, and the database probe's
    consecutive failures open DatabaseUnreachable on the third pass (not on the first blip)."""
    import asyncpg

    from floor_boss.local.supervisor import HOLD_SECONDS

    pool = await asyncpg.create_pool(
        f"postgresql://floor@127.0.0.1:{_dead_port()}/floor", min_size=0, max_size=1
    )
    redis = aioredis.from_url(f"redis://127.0.0.1:{_dead_port()}/0")
    supervisor = LocalSupervisor(
        LocalStore(pool), AgentProcesses(tmp_path, {}), redis, tmp_path / "manifests"
    )
    try:
        for _ in range(2):
            assert await supervisor.reconcile() == HOLD_SECONDS
            assert supervisor.breakers == ()
        assert await supervisor.reconcile() == HOLD_SECONDS
        assert supervisor.breakers == ("DatabaseUnreachable",)
    finally:
        await redis.aclose()
        await pool.close()


async def test_unreadable_heartbeats_skip_the_rule_instead_of_failing_the_pass(db_url, tmp_path):
    await migrate(db_url)
    pool = await create_pool(db_url)
    redis = aioredis.from_url(f"redis://127.0.0.1:{_dead_port()}/0")
    supervisor = LocalSupervisor(
        LocalStore(pool), AgentProcesses(tmp_path, {}), redis, tmp_path / "manifests"
    )
    try:
        await supervisor.reconcile()
        assert supervisor.breakers == ()  # the database answers; Redis being away opens nothing by itself
        assert await supervisor.store.reachable() is True
    finally:
        await redis.aclose()
        await pool.close()
