"""Agent heartbeats from Redis, read through the shared ``tradingfloor.bus.heartbeats`` module
(key ``tf:heartbeat:<agent>``; a malformed beat counts as no sign of life)."""

from __future__ import annotations

from datetime import UTC, datetime

from tradingfloor.bus.heartbeats import read_heartbeat


class Heartbeats:
    def __init__(self, redis_url: str) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.from_url(redis_url, socket_timeout=3)

    async def last_beat(self, name: str) -> datetime | None:
        info = await read_heartbeat(self.client, name)
        return None if info is None else datetime.fromtimestamp(info.ts, UTC)

    async def close(self) -> None:
        await self.client.aclose()
