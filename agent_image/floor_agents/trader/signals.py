"""What the trader tells the rest of the floor on the bus (its heartbeat is
:class:`tradingfloor.bus.heartbeats.Heartbeat`)."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from tradingfloor.persistence.db import dumps

BUS_CHANNEL = "trading_floor"


async def publish(client: aioredis.Redis, sender: str, kind: str, payload: dict[str, Any]) -> None:
    """A ``trading_floor`` bus message: JSON {type, sender, payload, ts}."""
    await client.publish(
        BUS_CHANNEL, dumps({"type": kind, "sender": sender, "payload": payload, "ts": time.time()})
    )
