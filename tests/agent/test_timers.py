"""The trader's timers, apart from its trading logic: they checkpoint a changed state (once), beat
in Redis, and stop once the runtime stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.store import TraderStore
from floor_agents.trader.timers import Timers, TraderTimers
from tests.agent.test_runtime import SPEC
from tradingfloor.bus.heartbeats import read_heartbeat
from tradingfloor.market.events import SpotTick
from tradingfloor.settings import Settings
from tradingfloor.sim.model import MarketSimulator, SimConfig


async def test_timers_checkpoint_a_changed_state_and_beat_until_the_runtime_stops(
    redis_url: str, tmp_path: Path
) -> None:
    client = aioredis.from_url(redis_url)
    store = TraderStore(None, tmp_path, "tm")  # journal only: every commit is a journal line
    runtime = await TraderRuntime.start("tm", SPEC, Settings(state_dir=tmp_path), store, redis=client)
    config = SimConfig(seed=1, assets=("BTC",))
    # the round's listing and its books, no spot price yet: the state changes, nothing trades
    quiet = [
        e for e in MarketSimulator(config).advance_to(config.start_ms + 5_000) if not isinstance(e, SpotTick)
    ]
    for event in quiet[:3]:
        await runtime.on_event(event, 0)
    seq, journaled = runtime.seq, store.pending
    assert (seq, journaled) == (0, 0), "quiet steps are not committed one by one"
    periods = Timers(checkpoint_s=0.05, heartbeat_s=0.05, report_s=3600, status_s=3600)
    timers = asyncio.create_task(TraderTimers(runtime, periods, client).run())
    try:
        async with asyncio.timeout(30):
            while runtime.seq == seq or await read_heartbeat(client, "tm") is None:
                await asyncio.sleep(0.05)
        assert runtime.seq == seq + 1, "one checkpoint for the changed state, none while nothing changes"
        assert store.pending == journaled + 1
        await asyncio.sleep(0.3)  # several checkpoint periods with no new event
        assert runtime.seq == seq + 1
        await runtime.stop()
        async with asyncio.timeout(5):
            await timers  # the timers end with the runtime
    finally:
        timers.cancel()
        await client.aclose()
