"""Read the floor's state once, for ``floor status``."""

from __future__ import annotations

from pathlib import Path

from floor_boss.local.dashboard import AgentRow, floor_totals, rows_from_agents
from floor_boss.local.floor import _row_dict, heartbeat_ages
from tradingfloor.persistence import repositories as repo
from tradingfloor.services.local import running_floor_services


async def read_status(database_url: str, state_dir: Path) -> tuple[list[AgentRow], list[dict], dict]:
    from tradingfloor.persistence.db import connect

    conn = await connect(database_url)
    try:
        agents = [_row_dict(a) for a in await repo.list_agents(conn)]
        events = [_row_dict(e) for e in await repo.recent_events(conn, limit=10)]
    finally:
        await conn.close()
    ages: dict[str, float] = {}
    running = running_floor_services(state_dir)
    if running and running.get("redis_url"):
        from redis import asyncio as aioredis

        client = aioredis.Redis.from_url(running["redis_url"])
        try:
            ages = await heartbeat_ages(client, [a["name"] for a in agents])
        finally:
            await client.aclose()
    rows = rows_from_agents(agents, ages)
    return rows, events, floor_totals(rows)
