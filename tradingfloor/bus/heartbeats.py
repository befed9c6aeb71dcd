"""Agent heartbeats: ``tf:heartbeat:<agent>`` holds JSON ``{ts, pid, seq}`` and expires after a TTL.

``ts`` is the sender's wall clock in epoch seconds (float), ``seq`` counts beats since the sender
started (a restarted agent starts again at 1), ``pid`` is its process id. A key that has expired
means the agent missed its heartbeats for longer than the TTL.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.bus.heartbeats")

PREFIX = "tf:heartbeat:"


def heartbeat_key(agent: str) -> str:
    return PREFIX + agent


@dataclass(frozen=True, slots=True)
class HeartbeatInfo:
    agent: str
    ts: float
    pid: int
    seq: int

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.ts


def _parse(agent: str, raw: Any) -> HeartbeatInfo | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return HeartbeatInfo(agent, float(data["ts"]), int(data["pid"]), int(data["seq"]))
    except (ValueError, KeyError, TypeError):
        log.warning("heartbeat.malformed", agent=agent, raw=str(raw)[:200])
        return None


class Heartbeat:
    """Beats for one agent; ``run()`` beats every ``interval`` seconds until cancelled."""

    def __init__(
        self,
        redis: aioredis.Redis,
        agent: str,
        *,
        ttl: float = 90.0,
        interval: float = 30.0,
        pid: int | None = None,
    ) -> None:
        if interval >= ttl:
            raise ValueError(f"heartbeat interval ({interval}s) must be shorter than its TTL ({ttl}s)")
        self.redis = redis
        self.agent = agent
        self.ttl = ttl
        self.interval = interval
        self.pid = os.getpid() if pid is None else pid
        self.seq = 0

    async def beat(self) -> HeartbeatInfo:
        self.seq += 1
        info = HeartbeatInfo(self.agent, time.time(), self.pid, self.seq)
        await self.redis.set(
            heartbeat_key(self.agent),
            json.dumps({"ts": info.ts, "pid": info.pid, "seq": info.seq}),
            px=max(1, int(self.ttl * 1000)),
        )
        return info

    async def run(self) -> None:
        """Beat forever; a Redis error is logged and the next beat tried on schedule."""
        while True:
            try:
                await self.beat()
            except (RedisError, OSError) as exc:
                log.warning("heartbeat.failed", agent=self.agent, error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Remove the key (a clean shutdown, so nobody mistakes it for a missed heartbeat)."""
        await self.redis.delete(heartbeat_key(self.agent))


async def read_heartbeat(redis: aioredis.Redis, agent: str) -> HeartbeatInfo | None:
    return _parse(agent, await redis.get(heartbeat_key(agent)))


async def read_heartbeats(redis: aioredis.Redis, agents: list[str]) -> dict[str, HeartbeatInfo]:
    """The live heartbeats of ``agents`` (one MGET), by agent name; missing or malformed are left out."""
    if not agents:
        return {}
    values = await redis.mget([heartbeat_key(a) for a in agents])
    return {a: info for a, raw in zip(agents, values, strict=False) if (info := _parse(a, raw)) is not None}


async def all_heartbeats(redis: aioredis.Redis) -> dict[str, HeartbeatInfo]:
    """Every live heartbeat, by agent name."""
    keys = [k async for k in redis.scan_iter(match=PREFIX + "*", count=500)]
    if not keys:
        return {}
    values = await redis.mget(keys)
    out = {}
    for key, raw in zip(keys, values, strict=False):
        key = key.decode() if isinstance(key, bytes) else key
        agent = key[len(PREFIX) :]
        info = _parse(agent, raw.decode() if isinstance(raw, bytes) else raw)
        if info is not None:
            out[agent] = info
    return out
