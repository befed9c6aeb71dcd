"""The trader takes the Floor Boss's ``status.sizeMultiplier`` from its row in the shared ``agents``
table: on start, on every status read, kept through checkpoints and through an unreadable status."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from floor_agents.trader.agent import TraderRuntime
from floor_agents.trader.manifest import database_status, size_multiplier
from floor_agents.trader.store import TraderStore
from tests.agent.test_runtime import SPEC
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import connect
from tradingfloor.persistence.migrate import migrate
from tradingfloor.settings import Settings
from tradingfloor.structs import dump


def test_size_multiplier_from_a_status():
    assert size_multiplier(None) == size_multiplier({}) == size_multiplier({"sizeMultiplier": None}) == 1
    assert size_multiplier({"sizeMultiplier": "0.125"}) == D("0.125")
    paused = {
        "type": "Paused",
        "status": "True",
        "reason": "CircuitBreakerOpen",
        "lastTransitionTime": "2026-11-22T12:00:00Z",
    }
    # a floor circuit breaker pauses entries: no new position is sized while it is open
    assert size_multiplier({"sizeMultiplier": "0.5", "conditions": [paused]}) == 0
    assert size_multiplier({"sizeMultiplier": "0.5", "conditions": [{**paused, "status": "False"}]}) == D(
        "0.5"
    )
    with pytest.raises(ValueError, match="sizeMultiplier 'lots' is not a number"):
        size_multiplier({"sizeMultiplier": "lots"})
    with pytest.raises(ValueError, match="not between 0 and 1"):
        size_multiplier({"sizeMultiplier": "2"})


async def _runtime(db_url: str, tmp_path: Path, status: bool = False) -> TraderRuntime:
    store = TraderStore(db_url, tmp_path, "sized")
    reader = database_status(store.db, "sized") if status and store.db is not None else None
    return await TraderRuntime.start("sized", SPEC, Settings(state_dir=tmp_path), store, status=reader)


async def test_trader_takes_its_size_multiplier_from_the_agents_row(db_url, tmp_path):
    await migrate(db_url)
    conn = await connect(db_url)
    try:
        await repo.upsert_agent(
            conn,
            "sized",
            "TraderAgent",
            dump(SPEC),
            status={"stage": "Testing", "sizeMultiplier": "0.25"},
        )
        runtime = await _runtime(db_url, tmp_path, status=True)
        assert runtime.engine.size_multiplier == D("0.25")  # before the first event

        await repo.patch_agent_status(conn, "sized", {"sizeMultiplier": "0.125"})  # reduced for a weak Sharpe
        await runtime.refresh_size()
        assert runtime.engine.size_multiplier == D("0.125")

        await repo.patch_agent_status(
            conn, "sized", {"sizeMultiplier": "-1"}
        )  # not a usable value: keep ours
        await runtime.refresh_size()
        assert runtime.engine.size_multiplier == D("0.125")
        await runtime.stop()  # the change is checkpointed
    finally:
        await conn.close()

    again = await _runtime(db_url, tmp_path)  # no status to read: resumes with the checkpointed multiplier
    assert again.engine.size_multiplier == D("0.125")
    await again.stop()


async def test_an_open_floor_breaker_sizes_new_entries_at_zero_until_it_closes(db_url, redis_url, tmp_path):
    """The local floor publishes its open breakers in Redis (its traders' status is in the database
    the DatabaseUnreachable breaker is about); the trader sizes at zero while one is open."""
    import redis.asyncio as aioredis

    from tradingfloor.bus import floor_pause

    await migrate(db_url)
    conn = await connect(db_url)
    redis = aioredis.from_url(redis_url)
    try:
        await repo.upsert_agent(conn, "sized", "TraderAgent", dump(SPEC), status={"sizeMultiplier": "0.5"})
        store = TraderStore(db_url, tmp_path, "sized")
        assert store.db is not None
        runtime = await TraderRuntime.start(
            "sized",
            SPEC,
            Settings(state_dir=tmp_path),
            store,
            redis=redis,
            status=database_status(store.db, "sized"),
        )
        await runtime.refresh_floor_breakers()
        assert runtime.engine.size_multiplier == D("0.5")  # nothing open

        await floor_pause.publish(redis, ["DatabaseUnreachable"])
        assert await redis.ttl(floor_pause.KEY) > 0  # a floor that died leaves no pause behind
        await runtime.refresh_floor_breakers()
        assert runtime.floor_breakers == ("DatabaseUnreachable",) and runtime.engine.size_multiplier == 0
        await repo.patch_agent_status(conn, "sized", {"sizeMultiplier": "0.25"})
        await runtime.refresh_size()  # the status still counts, but the breaker keeps entries at zero
        assert runtime.engine.size_multiplier == 0

        await floor_pause.publish(redis, [])
        assert await redis.exists(floor_pause.KEY) == 0
        await runtime.refresh_floor_breakers()
        assert runtime.floor_breakers == () and runtime.engine.size_multiplier == D("0.25")
        await runtime.stop()
    finally:
        await redis.aclose()
        await conn.close()
