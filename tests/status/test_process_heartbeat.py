"""Auditor and monitor processes beat through the shared ``tradingfloor.bus.heartbeats`` module, so
the Floor Boss reads their beats like a trader's."""

from __future__ import annotations

from types import SimpleNamespace

import redis.asyncio as aioredis

from tradingfloor.bus.heartbeats import heartbeat_key, read_heartbeat
from tradingfloor.status.process import AgentProcess


async def test_agent_process_heartbeat_is_the_bus_heartbeat(redis_url):
    proc = AgentProcess("Auditor", None, None, "default", 0)
    proc.resource_model = SimpleNamespace(metadata={"name": "auditor-1"})
    proc.redis = aioredis.from_url(redis_url)
    try:
        await proc.heartbeat(ttl_seconds=90)
        await proc.heartbeat(ttl_seconds=90)
        info = await read_heartbeat(proc.redis, "auditor-1")
        assert info is not None and info.seq == 2 and 0 <= info.age() < 90
        assert 85_000 < await proc.redis.pttl(heartbeat_key("auditor-1")) <= 90_000
    finally:
        await proc.redis.aclose()
