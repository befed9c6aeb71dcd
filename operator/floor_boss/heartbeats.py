"""Agent heartbeats from Redis: key ``tf:heartbeat:<agent>`` holding {"ts", "pid", "seq"}."""

from __future__ import annotations

import json
from datetime import UTC, datetime

KEY = "tf:heartbeat:{name}"


def parse_heartbeat(raw: bytes | str | None) -> datetime | None:
    """The heartbeat time, or None when absent or malformed (a malformed beat is no sign of life)."""
    if raw is None:
        return None
    try:
        ts = float(json.loads(raw)["ts"])
    except (ValueError, KeyError, TypeError):
        return None
    return datetime.fromtimestamp(ts, UTC)


class Heartbeats:
    def __init__(self, redis_url: str) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.from_url(redis_url, socket_timeout=3)

    async def last_beat(self, name: str) -> datetime | None:
        return parse_heartbeat(await self.client.get(KEY.format(name=name)))

    async def close(self) -> None:
        await self.client.aclose()
