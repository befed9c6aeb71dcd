"""What the trader tells the rest of the floor through Redis: its heartbeat key and bus messages."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import redis.asyncio as aioredis

from tradingfloor.persistence.db import dumps

BUS_CHANNEL = "trading_floor"


def heartbeat_key(agent: str) -> str:
    return f"tf:heartbeat:{agent}"


async def beat(client: aioredis.Redis, agent: str, seq: int, interval_s: float) -> None:
    """``tf:heartbeat:<agent>`` = {ts, pid, seq}; it expires after three missed beats."""
    value = json.dumps({"ts": time.time(), "pid": os.getpid(), "seq": seq})
    await client.set(heartbeat_key(agent), value, ex=max(1, int(3 * interval_s)))


async def publish(client: aioredis.Redis, sender: str, kind: str, payload: dict[str, Any]) -> None:
    """A ``trading_floor`` bus message: JSON {type, sender, payload, ts}."""
    await client.publish(BUS_CHANNEL, dumps({"type": kind, "sender": sender, "payload": payload, "ts": time.time()}))
