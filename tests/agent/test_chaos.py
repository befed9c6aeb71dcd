"""SIGKILL the trader at random moments while it trades on the simulated market; after every kill the
database ledger must equal the agent's checkpointed ledger exactly (no trade lost or duplicated).
TF_CHAOS_KILLS sets the number of kills (default 5)."""

from __future__ import annotations

import asyncio
import os
import random

import asyncpg
import pytest
import redis.asyncio as aioredis

from floor_agents.trader.feed import channel
from tests.agent.conftest import wait_for
from tests.agent.feeder import feed
from tests.agent.ledger_check import check_ledger
from tradingfloor.bus.heartbeats import heartbeat_key
from tradingfloor.sim.model import SimConfig

KILLS = int(os.environ.get("TF_CHAOS_KILLS", "5"))
SPEED = 300.0  # simulated seconds per wall second: a 15-minute round (one entry, one settlement) every 3 s


async def _fill_count(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('fills') IS NOT NULL"):
            return 0
        return await conn.fetchval("SELECT count(*) FROM fills")
    finally:
        await conn.close()


async def _heartbeat(redis_url: str) -> bool:
    client = aioredis.from_url(redis_url)
    try:
        return bool(await client.get(heartbeat_key("chaos-trader")))
    finally:
        await client.aclose()


async def _clear_heartbeat(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await client.delete(heartbeat_key("chaos-trader"))
    finally:
        await client.aclose()


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_sigkill_at_random_moments_never_loses_or_duplicates_a_trade(agent, db_url, redis_url):
    rng = random.Random(int(os.environ.get("TF_CHAOS_SEED", "7")))
    stop = asyncio.Event()
    feeder = asyncio.create_task(
        feed(
            redis_url,
            SimConfig(seed=3, assets=("BTC",), pattern="momentum"),
            SPEED,
            stop,
            channel("BTC", "15m"),
        )
    )
    try:
        agent.start()
        await wait_for(lambda: _fill_count(db_url), timeout=60)
        history = []
        for _ in range(KILLS):
            await wait_for(lambda: _heartbeat(redis_url), timeout=30)  # up and trading again
            await asyncio.sleep(rng.uniform(0.0, 2.0))
            agent.kill9()
            await _clear_heartbeat(redis_url)
            history.append(await check_ledger(db_url, "chaos-trader"))
            agent.start()
        await wait_for(lambda: _heartbeat(redis_url), timeout=30)
        await asyncio.sleep(2)
        assert agent.terminate() == 0, agent.log_text()[-3000:]
        final = await check_ledger(db_url, "chaos-trader")
    finally:
        stop.set()
        await asyncio.wait_for(feeder, 10)
    # the ledger only grows across crashes, and the agent kept trading
    for before, after in zip(history, [*history[1:], final], strict=False):
        assert after["fills"] >= before["fills"] and after["trades"] >= before["trades"]
    assert final["fills"] > history[0]["fills"] or final["trades"] > 0, (history, final)
    assert "trader.started" in agent.log_text()
    print("chaos history:", history, "final:", final)
