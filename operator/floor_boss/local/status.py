"""Read the floor's state — agents with their heartbeat ages, recent events — for the live dashboard,
the exit summary and ``floor status``."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from floor_boss.local.dashboard import AgentRow, floor_totals, rows_from_agents
from tradingfloor.bus.heartbeats import read_heartbeats
from tradingfloor.persistence import repositories as repo
from tradingfloor.services.local import running_floor_services


async def heartbeat_ages(redis: Any, names: list[str]) -> dict[str, float]:
    """Seconds since each agent's last heartbeat, for live beats only."""
    now = time.time()
    return {name: max(0.0, info.age(now)) for name, info in (await read_heartbeats(redis, names)).items()}


async def agent_rows(ex: Any, redis: Any | None) -> list[AgentRow]:
    """One dashboard row per stored agent; heartbeat ages only when Redis is at hand."""
    agents = [dataclasses.asdict(a) for a in await repo.list_agents(ex)]
    ages = await heartbeat_ages(redis, [a["name"] for a in agents]) if redis is not None else {}
    return rows_from_agents(agents, ages)


async def recent_events(ex: Any, limit: int) -> list[dict]:
    return [dataclasses.asdict(e) for e in await repo.recent_events(ex, limit=limit)]


async def read_status(database_url: str, state_dir: Path) -> tuple[list[AgentRow], list[dict], dict]:
    from redis import asyncio as aioredis

    from tradingfloor.persistence.db import connect

    running = running_floor_services(state_dir)
    redis = aioredis.Redis.from_url(running["redis_url"]) if running and running.get("redis_url") else None
    conn = await connect(database_url)
    try:
        rows = await agent_rows(conn, redis)
        events = await recent_events(conn, limit=10)
    finally:
        await conn.close()
        if redis is not None:
            await redis.aclose()
    return rows, events, floor_totals(rows)
